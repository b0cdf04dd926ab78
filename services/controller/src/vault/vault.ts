import { SecretBox } from '@agenstra/shared';
import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { VaultSecret } from './vault-secret.entity.js';

/** Names of a client's secrets in the vault. */
export const CLIENT_API_KEY = 'api_key';
export const CLIENT_OIDC_SECRET = 'oidc_client_secret';
/** The password the manager returned when the agent was created; the user never sees it. */
export const agentPasswordSecret = (agentId: string) => `agent_password/${agentId}`;

/** Rows re-sealed per transaction during a rotation, so a big vault never holds one long lock. */
const ROTATION_BATCH = 200;

/**
 * The credentials vault: a client's secrets sealed with SecretBox (AES-256-GCM, key id beside
 * each value). The one place that seals, opens and re-seals them. Each value is bound to its
 * row (`clients/{client}/{name}` is the authenticated context), so a value copied to another
 * client or slot does not open.
 */
export class Vault {
  constructor(private readonly box: SecretBox) {}

  get currentKeyId(): string {
    return this.box.currentKeyId;
  }

  /** Stores or replaces a secret; flushed with the caller's unit of work. */
  async put(em: EntityManager, clientId: string, name: string, plaintext: string): Promise<void> {
    const sealed = this.box.seal(plaintext, contextOf(clientId, name));
    const existing = await em.findOne(VaultSecret, { clientId, name });
    const values = { keyId: this.box.currentKeyId, sealed, updateTime: new Date() };
    if (existing) em.assign(existing, values);
    else em.persist(em.create(VaultSecret, { clientId, name, ...values }));
  }

  /** The plaintext of a secret, or undefined when the client has none of that name. */
  async reveal(em: EntityManager, clientId: string, name: string): Promise<string | undefined> {
    const secret = await em.findOne(VaultSecret, { clientId, name });
    return secret ? this.box.openString(secret.sealed, contextOf(clientId, name)) : undefined;
  }

  async remove(em: EntityManager, clientId: string, name: string): Promise<void> {
    await em.nativeDelete(VaultSecret, { clientId, name });
  }

  /**
   * Re-seals every secret not yet under the current key. Needs the old keys configured after
   * the new one (CONTROLLER_SECRET_KEYS=`new:…,old:…`); afterwards the old keys can be removed.
   * Safe to re-run and to interrupt: each batch commits on its own.
   */
  async rotate(em: EntityManager): Promise<{ resealed: number }> {
    let resealed = 0;
    for (;;) {
      const batch = await em.transactional(async (tx) => {
        const stale = await tx.find(
          VaultSecret,
          { keyId: { $ne: this.box.currentKeyId } },
          {
            limit: ROTATION_BATCH,
            orderBy: { clientId: 'asc', name: 'asc' },
            lockMode: LockMode.PESSIMISTIC_WRITE,
          },
        );
        for (const secret of stale) {
          const context = contextOf(secret.clientId, secret.name);
          tx.assign(secret, {
            sealed: this.box.seal(this.box.open(secret.sealed, context), context),
            keyId: this.box.currentKeyId,
            updateTime: new Date(),
          });
        }
        return stale.length;
      });
      resealed += batch;
      if (batch < ROTATION_BATCH) return { resealed };
    }
  }
}

function contextOf(clientId: string, name: string): string {
  return `clients/${clientId}/${name}`;
}
