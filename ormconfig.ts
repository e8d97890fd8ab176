import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadDatabaseConfig } from './src/config/configuration';
import { dataSourceOptions } from './src/database/data-source-options';
import { ENTITIES } from './src/entities';

/** The DataSource the TypeORM CLI uses (`npm run migration:*`); the app builds the same one.
 * DATABASE_URL switches it to PostgreSQL, as it does the app. */
export default new DataSource({
  ...dataSourceOptions(loadDatabaseConfig(process.env)),
  entities: ENTITIES,
});
