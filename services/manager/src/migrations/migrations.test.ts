import { snapshotMigratedSchema, throwawayDatabase } from '@agenstra/shared/testing';
import { expect } from 'chai';
import { MANAGER_SCHEMA, managerEntities, managerMigrations } from './index.js';

describe('manager migrations', () => {
  const database = throwawayDatabase('agenstra_manager_migrations');
  after(() => database.drop());
  const options = {
    url: database.url,
    schema: MANAGER_SCHEMA,
    entities: managerEntities,
    migrations: managerMigrations,
  };

  it('apply to an empty database, and a second run changes nothing', async () => {
    const first = await snapshotMigratedSchema(options);
    expect(first.executed).to.deep.equal(managerMigrations.map((migration) => migration.name));
    expect(first.tables).to.include.members(['manager_identity', 'mikro_orm_migrations']);

    const second = await snapshotMigratedSchema(options);
    expect(second).to.deep.equal(first);
  });
});
