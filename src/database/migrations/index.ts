import { InitialSchema1795664199104 } from './1795664199104-initial-schema';
import { AccountDeletion1795667967007 } from './1795667967007-account-deletion';
import { RetiredRefreshChain1795669000000 } from './1795669000000-retired-refresh-chain';

/** Every migration, oldest first. Listed explicitly so the build output never matters. */
export const MIGRATIONS = [
  InitialSchema1795664199104,
  AccountDeletion1795667967007,
  RetiredRefreshChain1795669000000,
];
