import { Entity, Index, PrimaryKey, Property } from '@mikro-orm/core';

/** Which credential the controller presents to the manager: the oneof case of `Client.auth`. */
export type ClientAuthKind = 'api_key' | 'oidc';

/**
 * A manager registered with the controller (table `controller.client`). `id` is the {client}
 * segment of `clients/{client}`. Holds no secret: the API key and the OIDC client secret are
 * in the vault (vault_secret), sealed.
 */
@Entity({ tableName: 'client' })
@Index({ name: 'client_display_name_id_index', properties: ['displayName', 'id'] })
export class Client {
  @PrimaryKey({ type: 'text' })
  id!: string;

  @Property({ type: 'text' })
  displayName!: string;

  /** `host:port` as given. */
  @Property({ type: 'text' })
  endpoint!: string;

  @Property({ type: 'boolean' })
  tlsEnabled = false;

  @Property({ type: 'text' })
  tlsCaBundlePem = '';

  @Property({ type: 'text' })
  tlsServerName = '';

  @Property({ type: 'text' })
  authKind!: ClientAuthKind;

  /** Last 4 characters of the API key; empty for OIDC clients. */
  @Property({ type: 'text' })
  apiKeyHint = '';

  @Property({ type: 'text' })
  oidcIssuerUrl = '';

  @Property({ type: 'text' })
  oidcRealm = '';

  @Property({ type: 'text' })
  oidcClientId = '';

  @Property({ type: 'text' })
  oidcScope = '';

  @Property({ type: 'text' })
  oidcAudience = '';

  /** The id the manager reported at the last successful contact. */
  @Property({ type: 'text' })
  managerId = '';

  /** Numeric `agenstra.controller.v1.ClientState`. */
  @Property({ type: 'smallint' })
  state = 0;

  @Property({ type: 'text' })
  stateMessage = '';

  /** Subject of the user who created the client; they and admins may change it. */
  @Property({ type: 'text' })
  creator!: string;

  @Property({ type: 'datetime', nullable: true })
  lastContactTime: Date | null = null;

  @Property({ type: 'text' })
  provisionedServer = '';

  @Property({ type: 'datetime' })
  createTime!: Date;

  @Property({ type: 'datetime' })
  updateTime!: Date;
}
