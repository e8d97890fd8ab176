import { InitialSchema1795664199104 } from './1795664199104-initial-schema';

/** Every migration, oldest first. Listed explicitly so the build output never matters. */
export const MIGRATIONS = [InitialSchema1795664199104];
