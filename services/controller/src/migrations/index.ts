import type { MigrationObject } from '@mikro-orm/core';
import { ClientGrant } from '../clients/client-grant.entity.js';
import { Client } from '../clients/client.entity.js';
import { ControllerInstance } from '../identity/controller-instance.entity.js';
import { Session, SessionAgent } from '../sessions/session.entity.js';
import { ApiToken } from '../tokens/api-token.entity.js';
import { VaultSecret } from '../vault/vault-secret.entity.js';
import { Migration20261127000000ControllerInstance } from './Migration20261127000000ControllerInstance.js';
import { Migration20261127100000Clients } from './Migration20261127100000Clients.js';
import { Migration20261127100100ApiTokens } from './Migration20261127100100ApiTokens.js';
import { Migration20261127200000Sessions } from './Migration20261127200000Sessions.js';

export const CONTROLLER_SCHEMA = 'controller';

export const controllerEntities = [
  ControllerInstance,
  Client,
  ClientGrant,
  VaultSecret,
  ApiToken,
  Session,
  SessionAgent,
];

/** Every migration, oldest first; listed explicitly so they run from the compiled dist. */
export const controllerMigrations: MigrationObject[] = [
  {
    name: 'Migration20261127000000ControllerInstance',
    class: Migration20261127000000ControllerInstance,
  },
  { name: 'Migration20261127100000Clients', class: Migration20261127100000Clients },
  { name: 'Migration20261127100100ApiTokens', class: Migration20261127100100ApiTokens },
  { name: 'Migration20261127200000Sessions', class: Migration20261127200000Sessions },
];
