import { loadOrCreateInstanceId } from '@agenstra/shared';
import type { EntityManager } from '@mikro-orm/postgresql';
import { ManagerIdentity } from './manager-identity.entity.js';

export interface ResolvedManagerId {
  managerId: string;
  source: 'environment' | 'database' | 'generated';
}

/** MANAGER_ID when set; otherwise the id stored at first start (generated then). */
export async function resolveManagerId(
  configured: string | undefined,
  em: EntityManager,
): Promise<ResolvedManagerId> {
  if (configured) return { managerId: configured, source: 'environment' };
  const { id, created } = await loadOrCreateInstanceId(em, ManagerIdentity);
  return { managerId: id, source: created ? 'generated' : 'database' };
}
