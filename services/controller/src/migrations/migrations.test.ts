import { snapshotMigratedSchema, throwawayDatabase } from '@agenstra/shared/testing';
import { expect } from 'chai';
import { CONTROLLER_SCHEMA, controllerEntities, controllerMigrations } from './index.js';

describe('controller migrations', () => {
  const database = throwawayDatabase('agenstra_controller_migrations');
  after(() => database.drop());
  const options = {
    url: database.url,
    schema: CONTROLLER_SCHEMA,
    entities: controllerEntities,
    migrations: controllerMigrations,
  };

  it('apply to an empty database, and a second run changes nothing', async () => {
    const first = await snapshotMigratedSchema(options);
    expect(first.executed).to.deep.equal(controllerMigrations.map((migration) => migration.name));
    expect(first.tables).to.include.members([
      'controller_instance',
      'mikro_orm_migrations',
      'client',
      'client_grant',
      'vault_secret',
      'api_token',
    ]);

    const second = await snapshotMigratedSchema(options);
    expect(second).to.deep.equal(first);
  });
});
