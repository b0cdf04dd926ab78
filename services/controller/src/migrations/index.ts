import type { MigrationObject } from '@mikro-orm/core';
import { ControllerInstance } from '../identity/controller-instance.entity.js';
import { Migration20261127000000ControllerInstance } from './Migration20261127000000ControllerInstance.js';

export const CONTROLLER_SCHEMA = 'controller';

export const controllerEntities = [ControllerInstance];

/** Every migration, oldest first; listed explicitly so they run from the compiled dist. */
export const controllerMigrations: MigrationObject[] = [
  {
    name: 'Migration20261127000000ControllerInstance',
    class: Migration20261127000000ControllerInstance,
  },
];
