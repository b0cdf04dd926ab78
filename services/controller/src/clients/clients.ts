import { randomBytes, randomUUID } from 'node:crypto';
import { controllerV1 } from '@agenstra/proto';
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
} from '@agenstra/shared';
import type { EntityManager } from '@mikro-orm/postgresql';
import { isAdmin, type Principal } from '../auth/principal.js';
import { decodePageToken, encodePageToken, type Page } from '../pagination.js';
import { CLIENT_API_KEY, CLIENT_OIDC_SECRET, type Vault } from '../vault/vault.js';
import { ClientGrant } from './client-grant.entity.js';
import { Client } from './client.entity.js';
import { checkEndpointPolicy, parseEndpoint } from './endpoint.js';
import { contactManager } from './manager-contact.js';
import type { ClientCredentialsTokens, OidcClientCredentials } from './manager-credentials.js';

export interface TlsSettings {
  enabled: boolean;
  caBundlePem: string;
  serverName: string;
}

export type AuthSettings =
  { kind: 'api_key'; apiKey: string } | ({ kind: 'oidc' } & OidcClientCredentials);

/** What a caller sets on a client; everything else is the controller's. */
export interface ClientSettings {
  displayName: string;
  endpoint: string;
  tls: TlsSettings;
  auth: AuthSettings;
}

export interface ClientsOptions {
  vault: Vault;
  tokens: ClientCredentialsTokens;
  allowPlaintextManagers: boolean;
  managerContactTimeoutMs: number;
}

const API_KEY_BYTES = 32;
const MAX_GRANTS = 1000;

/**
 * The clients capability: who may see and change which client, registering a manager only
 * after reaching it, and keeping its secrets in the vault. Another user's client is NOT_FOUND.
 */
export class Clients {
  constructor(private readonly options: ClientsOptions) {}

  async create(
    em: EntityManager,
    caller: Principal,
    settings: ClientSettings,
    requestedId: string,
  ): Promise<{ client: Client; generatedApiKey?: string }> {
    const id = requestedId || randomUUID();
    if (await em.findOne(Client, { id })) {
      throw new AlreadyExistsError(`client clients/${id} already exists`);
    }
    let generatedApiKey: string | undefined;
    let auth = settings.auth;
    if (auth.kind === 'api_key' && !auth.apiKey) {
      generatedApiKey = randomBytes(API_KEY_BYTES).toString('base64url');
      auth = { kind: 'api_key', apiKey: generatedApiKey };
    }
    if (auth.kind === 'oidc' && !auth.clientSecret) {
      throw new InvalidArgumentError('client.oidc.client_secret is required');
    }
    const resolved = { ...settings, auth };
    const manager = await this.reachManager(resolved);
    const now = new Date();
    const client = await inTransaction(em, async () => {
      const created = em.create(Client, {
        id,
        ...columnsOf(resolved),
        managerId: manager.managerId,
        state: controllerV1.ClientState.CLIENT_STATE_READY,
        stateMessage: '',
        creator: caller.subject,
        lastContactTime: now,
        provisionedServer: '',
        createTime: now,
        updateTime: now,
      });
      // The vault's rows reference the client: it must be inserted first.
      await em.flush();
      await this.storeSecrets(em, id, auth);
      return created;
    });
    return { client, generatedApiKey };
  }

  /** A client the caller may see; otherwise NOT_FOUND, whether it exists or not. */
  async get(em: EntityManager, caller: Principal, id: string): Promise<Client> {
    const client = await em.findOne(Client, { id });
    if (!client || !(await this.maySee(em, caller, client))) {
      throw new NotFoundError(`client clients/${id} not found`);
    }
    return client;
  }

  /** The clients the caller may see, by display name then id. */
  async list(
    em: EntityManager,
    caller: Principal,
    page: Page,
  ): Promise<{ clients: Client[]; nextPageToken: string }> {
    const after = decodePageToken<{ d: string; i: string }>(page.pageToken);
    const visible = isAdmin(caller)
      ? {}
      : {
          $or: [
            { creator: caller.subject },
            { id: { $in: await this.grantedClientIds(em, caller.subject) } },
          ],
        };
    const position = after
      ? {
          $or: [{ displayName: { $gt: after.d } }, { displayName: after.d, id: { $gt: after.i } }],
        }
      : {};
    const rows = await em.find(
      Client,
      { $and: [visible, position] },
      { orderBy: { displayName: 'asc', id: 'asc' }, limit: page.pageSize + 1 },
    );
    const clients = rows.slice(0, page.pageSize);
    const last = clients[clients.length - 1];
    return {
      clients,
      nextPageToken:
        rows.length > page.pageSize && last
          ? encodePageToken({ d: last.displayName, i: last.id })
          : '',
    };
  }

  /**
   * Applies `change` to the fields named in `paths` (proto field names). When the connection or
   * the credential changes, the manager must answer with the new settings before anything is
   * stored.
   */
  async update(
    em: EntityManager,
    caller: Principal,
    id: string,
    change: Partial<ClientSettings>,
    paths: ReadonlySet<string>,
  ): Promise<Client> {
    const client = await this.getManageable(em, caller, id);
    const current = await this.settingsOf(em, client);
    const next: ClientSettings = { ...current };
    if (paths.has('display_name')) next.displayName = change.displayName!;
    if (paths.has('endpoint')) next.endpoint = change.endpoint!;
    if (paths.has('tls')) next.tls = change.tls!;
    if (paths.has('api_key') || paths.has('oidc')) {
      const auth = change.auth!;
      if (auth.kind === 'api_key' && !auth.apiKey) {
        throw new InvalidArgumentError(
          'client.api_key.api_key is required on update; RegenerateClientApiKey generates one',
        );
      }
      if (auth.kind === 'oidc' && !auth.clientSecret) {
        if (current.auth.kind !== 'oidc') {
          throw new InvalidArgumentError(
            'client.oidc.client_secret is required when switching a client to OIDC auth',
          );
        }
        next.auth = { ...auth, clientSecret: current.auth.clientSecret };
      } else {
        next.auth = auth;
      }
    }
    const reconnect = ['endpoint', 'tls', 'api_key', 'oidc'].some((path) => paths.has(path));
    const now = new Date();
    if (reconnect) {
      const manager = await this.reachManager(next);
      em.assign(client, {
        managerId: manager.managerId,
        state: controllerV1.ClientState.CLIENT_STATE_READY,
        stateMessage: '',
        lastContactTime: now,
      });
    }
    await inTransaction(em, async () => {
      em.assign(client, { ...columnsOf(next), updateTime: now });
      if (paths.has('api_key') || paths.has('oidc')) await this.storeSecrets(em, id, next.auth);
    });
    return client;
  }

  async delete(em: EntityManager, caller: Principal, id: string): Promise<void> {
    await this.getManageable(em, caller, id);
    // Grants and vault secrets go with it (foreign keys on delete cascade).
    await em.nativeDelete(Client, { id });
  }

  async regenerateApiKey(
    em: EntityManager,
    caller: Principal,
    id: string,
  ): Promise<{ client: Client; apiKey: string }> {
    const client = await this.getManageable(em, caller, id);
    if (client.authKind !== 'api_key') {
      throw new FailedPreconditionError(
        `client clients/${id} uses OIDC auth; only API-key clients have a key to regenerate`,
      );
    }
    const apiKey = randomBytes(API_KEY_BYTES).toString('base64url');
    await inTransaction(em, async () => {
      em.assign(client, { apiKeyHint: apiKey.slice(-4), updateTime: new Date() });
      await this.options.vault.put(em, id, CLIENT_API_KEY, apiKey);
    });
    return { client, apiKey };
  }

  async listGrants(em: EntityManager, caller: Principal, id: string): Promise<ClientGrant[]> {
    await this.get(em, caller, id);
    return em.find(ClientGrant, { clientId: id }, { orderBy: { subject: 'asc' } });
  }

  async setGrants(
    em: EntityManager,
    caller: Principal,
    id: string,
    subjects: string[],
  ): Promise<ClientGrant[]> {
    await this.getManageable(em, caller, id);
    if (subjects.length > MAX_GRANTS) {
      throw new InvalidArgumentError(`at most ${MAX_GRANTS} grants per client`);
    }
    if (new Set(subjects).size !== subjects.length) {
      throw new InvalidArgumentError('grants name a subject twice');
    }
    if (subjects.some((subject) => subject.length < 1 || subject.length > 255)) {
      throw new InvalidArgumentError('a grant subject must be 1 to 255 characters');
    }
    await em.transactional(async (tx) => {
      await tx.nativeDelete(ClientGrant, { clientId: id, subject: { $nin: subjects } });
      const existing = new Set(
        (await tx.find(ClientGrant, { clientId: id })).map((grant) => grant.subject),
      );
      const now = new Date();
      for (const subject of subjects.filter((subject) => !existing.has(subject))) {
        tx.persist(
          tx.create(ClientGrant, {
            clientId: id,
            subject,
            granter: caller.subject,
            grantTime: now,
          }),
        );
      }
    });
    return em.fork().find(ClientGrant, { clientId: id }, { orderBy: { subject: 'asc' } });
  }

  /** The settings of a stored client with its secrets opened, for contacting its manager. */
  async settingsOf(em: EntityManager, client: Client): Promise<ClientSettings> {
    const tls = {
      enabled: client.tlsEnabled,
      caBundlePem: client.tlsCaBundlePem,
      serverName: client.tlsServerName,
    };
    const auth: AuthSettings =
      client.authKind === 'api_key'
        ? {
            kind: 'api_key',
            apiKey: (await this.options.vault.reveal(em, client.id, CLIENT_API_KEY)) ?? '',
          }
        : {
            kind: 'oidc',
            issuerUrl: client.oidcIssuerUrl,
            realm: client.oidcRealm,
            clientId: client.oidcClientId,
            clientSecret:
              (await this.options.vault.reveal(em, client.id, CLIENT_OIDC_SECRET)) ?? '',
            scope: client.oidcScope,
            audience: client.oidcAudience,
          };
    return { displayName: client.displayName, endpoint: client.endpoint, tls, auth };
  }

  private async reachManager(settings: ClientSettings) {
    checkEndpointPolicy(parseEndpoint(settings.endpoint));
    if (!settings.tls.enabled && !this.options.allowPlaintextManagers) {
      throw new InvalidArgumentError(
        'client.tls.enabled must be true: plain-text manager connections are allowed only when ' +
          'the controller runs with CONTROLLER_ALLOW_PLAINTEXT_MANAGERS=true (development)',
      );
    }
    const bearer =
      settings.auth.kind === 'api_key'
        ? settings.auth.apiKey
        : await this.options.tokens.tokenFor(settings.auth);
    return contactManager(
      { endpoint: settings.endpoint, tls: settings.tls },
      bearer,
      this.options.managerContactTimeoutMs,
    );
  }

  private async storeSecrets(em: EntityManager, id: string, auth: AuthSettings): Promise<void> {
    const { vault } = this.options;
    if (auth.kind === 'api_key') {
      await vault.put(em, id, CLIENT_API_KEY, auth.apiKey);
      await vault.remove(em, id, CLIENT_OIDC_SECRET);
    } else {
      await vault.put(em, id, CLIENT_OIDC_SECRET, auth.clientSecret);
      await vault.remove(em, id, CLIENT_API_KEY);
    }
  }

  /** Creator and admins may change a client; a grantee who can see it gets PERMISSION_DENIED. */
  private async getManageable(em: EntityManager, caller: Principal, id: string): Promise<Client> {
    const client = await this.get(em, caller, id);
    if (!isAdmin(caller) && client.creator !== caller.subject) {
      throw new PermissionDeniedError(
        `only the creator of clients/${id} and admins may change it or its grants`,
      );
    }
    return client;
  }

  private async maySee(em: EntityManager, caller: Principal, client: Client): Promise<boolean> {
    if (isAdmin(caller) || client.creator === caller.subject) return true;
    return (await em.count(ClientGrant, { clientId: client.id, subject: caller.subject })) > 0;
  }

  private async grantedClientIds(em: EntityManager, subject: string): Promise<string[]> {
    const grants = await em.find(ClientGrant, { subject }, { fields: ['clientId'] });
    return grants.map((grant) => grant.clientId);
  }
}

/** Runs `work` on `em` in one transaction; what it changed is flushed at commit. */
async function inTransaction<T>(em: EntityManager, work: () => Promise<T>): Promise<T> {
  await em.begin();
  try {
    const result = await work();
    await em.commit();
    return result;
  } catch (error) {
    await em.rollback();
    throw error;
  }
}

/** The client's columns for its settings; secrets stay out (they go to the vault). */
function columnsOf(settings: ClientSettings) {
  const { auth } = settings;
  return {
    displayName: settings.displayName,
    endpoint: settings.endpoint,
    tlsEnabled: settings.tls.enabled,
    tlsCaBundlePem: settings.tls.caBundlePem,
    tlsServerName: settings.tls.serverName,
    authKind: auth.kind,
    apiKeyHint: auth.kind === 'api_key' ? auth.apiKey.slice(-4) : '',
    oidcIssuerUrl: auth.kind === 'oidc' ? auth.issuerUrl : '',
    oidcRealm: auth.kind === 'oidc' ? auth.realm : '',
    oidcClientId: auth.kind === 'oidc' ? auth.clientId : '',
    oidcScope: auth.kind === 'oidc' ? auth.scope : '',
    oidcAudience: auth.kind === 'oidc' ? auth.audience : '',
  };
}
