import { getMetadataArgsStorage } from 'typeorm';
// Loads every feature module, and with them every entity class the app declares.
import './app.module';
import { ENTITIES } from './entities';

describe('ENTITIES', () => {
  it('should list every entity the app declares, so the CLI sees the schema the app uses', () => {
    const declared = getMetadataArgsStorage().tables.map((table) => table.target);
    expect(new Set(ENTITIES)).toEqual(new Set(declared));
  });
});
