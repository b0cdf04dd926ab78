import { randomUUID } from 'node:crypto';
import { UniqueConstraintViolationException, type EntityClass } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';

/** An entity whose table holds at most one row: the identity generated at first start. */
export interface InstanceIdentity {
  id: string;
  createdAt: Date;
}

/**
 * Returns the stored instance id, generating and storing one on first start. Two instances
 * starting at once on an empty table agree on one id: the table allows a single row.
 */
export async function loadOrCreateInstanceId<T extends InstanceIdentity>(
  em: EntityManager,
  entity: EntityClass<T>,
): Promise<{ id: string; created: boolean }> {
  const existing = await storedIdentity(em, entity);
  if (existing) return { id: existing.id, created: false };
  const id = randomUUID();
  try {
    await em.insert(entity, { id, createdAt: new Date() } as T);
    return { id, created: true };
  } catch (error) {
    if (!(error instanceof UniqueConstraintViolationException)) throw error;
    const winner = await storedIdentity(em.fork(), entity);
    if (!winner) throw error;
    return { id: winner.id, created: false };
  }
}

async function storedIdentity<T extends InstanceIdentity>(
  em: EntityManager,
  entity: EntityClass<T>,
): Promise<T | undefined> {
  const [first] = await em.find(entity, {}, { limit: 1 });
  return first;
}
