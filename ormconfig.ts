import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadDatabaseConfig } from './src/config/configuration';
import { dataSourceOptions } from './src/database/data-source-options';

/** The DataSource the TypeORM CLI uses (`npm run migration:*`); the app builds the same one. */
export default new DataSource({
  ...dataSourceOptions(loadDatabaseConfig(process.env)),
  migrationsRun: false,
});
