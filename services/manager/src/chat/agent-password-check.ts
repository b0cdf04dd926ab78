import { randomUUID } from 'node:crypto';
import type { Database } from '@agenstra/shared';
import { Agent, hashAgentPassword, verifyAgentPassword } from '../agents/index.js';
import type { AgentPasswordCheck } from './chat-sessions.js';

/**
 * Checks a password against the agent's stored hash. For an unknown agent it runs the same
 * scrypt against a hash of a random password, so timing does not tell which agents exist.
 */
export function agentPasswordCheck(database: Database): AgentPasswordCheck {
  let decoy: Promise<string> | undefined;
  return async (agentId, password) => {
    const agent = await database
      .fork()
      .findOne(Agent, { id: agentId }, { fields: ['passwordHash'] });
    decoy ??= hashAgentPassword(randomUUID());
    const matches = await verifyAgentPassword(password, agent?.passwordHash ?? (await decoy));
    return matches && agent !== null;
  };
}
