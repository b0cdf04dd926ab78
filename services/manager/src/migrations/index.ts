import type { MigrationObject } from '@mikro-orm/core';
import { Agent } from '../agents/agent.entity.js';
import { ChatMessage } from '../chat/chat-message.entity.js';
import { ChatSequence } from '../chat/chat-sequence.entity.js';
import { ChatSession } from '../chat/chat-session.entity.js';
import { ManagerIdentity } from '../identity/manager-identity.entity.js';
import { Migration20261127000000ManagerIdentity } from './Migration20261127000000ManagerIdentity.js';
import { Migration20261127010000Agents } from './Migration20261127010000Agents.js';
import { Migration20261127020000Chat } from './Migration20261127020000Chat.js';

export const MANAGER_SCHEMA = 'manager';

export const managerEntities = [ManagerIdentity, Agent, ChatMessage, ChatSequence, ChatSession];

/** Every migration, oldest first; listed explicitly so they run from the compiled dist. */
export const managerMigrations: MigrationObject[] = [
  {
    name: 'Migration20261127000000ManagerIdentity',
    class: Migration20261127000000ManagerIdentity,
  },
  { name: 'Migration20261127010000Agents', class: Migration20261127010000Agents },
  { name: 'Migration20261127020000Chat', class: Migration20261127020000Chat },
];
