import { Entity, Index, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * One secret of a client in the credentials vault (table `controller.vault_secret`, deleted with
 * the client): its API key, its OIDC client secret, later its agents' passwords. `sealed` is a
 * SecretBox value (AES-256-GCM); `keyId` repeats the key id inside it so that a rotation finds
 * the rows still sealed under an older key with an index, without opening anything.
 */
@Entity({ tableName: 'vault_secret' })
@Index({ name: 'vault_secret_key_id_index', properties: ['keyId'] })
export class VaultSecret {
  @PrimaryKey({ type: 'text' })
  clientId!: string;

  /** What the secret is, e.g. `api_key`, `oidc_client_secret`, `agents/{agent}/password`. */
  @PrimaryKey({ type: 'text' })
  name!: string;

  @Property({ type: 'text' })
  keyId!: string;

  @Property({ type: 'text' })
  sealed!: string;

  @Property({ type: 'datetime' })
  updateTime!: Date;
}
