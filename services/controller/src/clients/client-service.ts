import { controllerV1 } from '@agenstra/proto';
import { InvalidArgumentError, type Database } from '@agenstra/shared';
import type { AuthenticatedHandlers } from '../auth/authenticated.js';
import { pageOf } from '../pagination.js';
import type { ClientGrant } from './client-grant.entity.js';
import type { Client } from './client.entity.js';
import type { AuthSettings, Clients, ClientSettings, TlsSettings } from './clients.js';

const NAME_PATTERN = /^clients\/([a-z0-9][a-z0-9-]{0,61}[a-z0-9]|[a-z0-9]|[0-9a-f-]{36})$/;
const CLIENT_ID_PATTERN = /^([a-z0-9]|[a-z0-9][a-z0-9-]{0,61}[a-z0-9])$/;
const MUTABLE_PATHS = new Set(['display_name', 'endpoint', 'tls', 'api_key', 'oidc']);
const MAX_CA_BUNDLE_BYTES = 64 * 1024;

/** ClientService: validate, call Clients, map to the proto. Never returns a secret from a read. */
export function clientService(
  database: Database,
  clients: Clients,
  handlers: AuthenticatedHandlers,
): controllerV1.ClientServiceServer {
  return {
    createClient: handlers.unary(async (request: controllerV1.CreateClientRequest, caller) => {
      if (!request.client) throw new InvalidArgumentError('client is required');
      if (request.clientId && !CLIENT_ID_PATTERN.test(request.clientId)) {
        throw new InvalidArgumentError(
          'client_id must be 1 to 63 characters of [a-z0-9-], starting and ending with a letter or digit',
        );
      }
      const settings = settingsFromProto(request.client);
      const { client, generatedApiKey } = await clients.create(
        database.fork(),
        caller,
        settings,
        request.clientId,
      );
      return { client: toProto(client), apiKey: generatedApiKey ?? '' };
    }),

    getClient: handlers.unary(async (request: controllerV1.GetClientRequest, caller) => ({
      client: toProto(await clients.get(database.fork(), caller, idOf(request.name))),
    })),

    listClients: handlers.unary(async (request: controllerV1.ListClientsRequest, caller) => {
      const page = await clients.list(database.fork(), caller, pageOf(request));
      return { clients: page.clients.map(toProto), nextPageToken: page.nextPageToken };
    }),

    updateClient: handlers.unary(async (request: controllerV1.UpdateClientRequest, caller) => {
      if (!request.client) throw new InvalidArgumentError('client is required');
      const paths = new Set(request.updateMask ?? []);
      if (paths.size === 0) throw new InvalidArgumentError('update_mask names no field');
      const unknown = [...paths].filter((path) => !MUTABLE_PATHS.has(path));
      if (unknown.length > 0) {
        throw new InvalidArgumentError(
          `update_mask names fields that cannot be updated: ${unknown.join(', ')} ` +
            `(mutable: ${[...MUTABLE_PATHS].join(', ')})`,
        );
      }
      if (paths.has('api_key') && paths.has('oidc')) {
        throw new InvalidArgumentError('update_mask names both api_key and oidc; choose one');
      }
      const given = request.client;
      const change: Partial<ClientSettings> = {};
      if (paths.has('display_name')) change.displayName = displayNameOf(given.displayName);
      if (paths.has('endpoint')) change.endpoint = given.endpoint;
      if (paths.has('tls')) change.tls = tlsOf(given.tls);
      if (paths.has('api_key') || paths.has('oidc')) {
        const expected = paths.has('api_key') ? 'apiKey' : 'oidc';
        if (given.auth?.$case !== expected) {
          throw new InvalidArgumentError(
            `update_mask names ${paths.has('api_key') ? 'api_key' : 'oidc'} but client.auth does not set it`,
          );
        }
        change.auth = authOf(given.auth, 'update');
      }
      const client = await clients.update(database.fork(), caller, idOf(given.name), change, paths);
      return { client: toProto(client) };
    }),

    deleteClient: handlers.unary(async (request: controllerV1.DeleteClientRequest, caller) => {
      await clients.delete(database.fork(), caller, idOf(request.name));
      return {};
    }),

    regenerateClientApiKey: handlers.unary(
      async (request: controllerV1.RegenerateClientApiKeyRequest, caller) => {
        const { client, apiKey } = await clients.regenerateApiKey(
          database.fork(),
          caller,
          idOf(request.name),
        );
        return { client: toProto(client), apiKey };
      },
    ),

    listClientGrants: handlers.unary(
      async (request: controllerV1.ListClientGrantsRequest, caller) => ({
        grants: (await clients.listGrants(database.fork(), caller, idOf(request.name))).map(
          grantToProto,
        ),
      }),
    ),

    setClientGrants: handlers.unary(
      async (request: controllerV1.SetClientGrantsRequest, caller) => {
        const subjects = request.grants.map((grant) => grant.subject);
        const grants = await clients.setGrants(
          database.fork(),
          caller,
          idOf(request.name),
          subjects,
        );
        return { grants: grants.map(grantToProto) };
      },
    ),
  };
}

function idOf(name: string): string {
  const id = NAME_PATTERN.exec(name)?.[1];
  if (!id) throw new InvalidArgumentError(`name ${JSON.stringify(name)} is not clients/{client}`);
  return id;
}

function displayNameOf(displayName: string): string {
  const trimmed = displayName.trim();
  if (trimmed.length < 1 || trimmed.length > 63) {
    throw new InvalidArgumentError('client.display_name must be 1 to 63 characters');
  }
  return trimmed;
}

function tlsOf(tls: controllerV1.ClientTls | undefined): TlsSettings {
  const settings = {
    enabled: tls?.enabled ?? false,
    caBundlePem: tls?.caBundlePem ?? '',
    serverName: tls?.serverName ?? '',
  };
  if (Buffer.byteLength(settings.caBundlePem) > MAX_CA_BUNDLE_BYTES) {
    throw new InvalidArgumentError('client.tls.ca_bundle_pem is larger than 64 KiB');
  }
  return settings;
}

function authOf(auth: controllerV1.Client['auth'], operation: 'create' | 'update'): AuthSettings {
  if (!auth) throw new InvalidArgumentError('client.auth is required: set api_key or oidc');
  if (auth.$case === 'apiKey') {
    const apiKey = auth.value.apiKey;
    if (apiKey && (apiKey.length < 32 || apiKey.length > 512)) {
      throw new InvalidArgumentError('client.api_key.api_key must be 32 to 512 characters');
    }
    return { kind: 'api_key', apiKey };
  }
  const oidc = auth.value;
  let issuer: URL;
  try {
    issuer = new URL(oidc.issuerUrl);
  } catch {
    throw new InvalidArgumentError('client.oidc.issuer_url must be an absolute https URL');
  }
  if (issuer.protocol !== 'https:' && issuer.protocol !== 'http:') {
    throw new InvalidArgumentError('client.oidc.issuer_url must be an https URL');
  }
  if (oidc.issuerUrl.length > 2048) {
    throw new InvalidArgumentError('client.oidc.issuer_url must be at most 2048 characters');
  }
  if (oidc.clientId.length < 1 || oidc.clientId.length > 255) {
    throw new InvalidArgumentError('client.oidc.client_id must be 1 to 255 characters');
  }
  if (operation === 'create' && !oidc.clientSecret) {
    throw new InvalidArgumentError('client.oidc.client_secret is required');
  }
  return {
    kind: 'oidc',
    issuerUrl: oidc.issuerUrl,
    realm: oidc.realm,
    clientId: oidc.clientId,
    clientSecret: oidc.clientSecret,
    scope: oidc.scope,
    audience: oidc.audience,
  };
}

function settingsFromProto(client: controllerV1.Client): ClientSettings {
  if (!client.endpoint) throw new InvalidArgumentError('client.endpoint is required');
  return {
    displayName: displayNameOf(client.displayName),
    endpoint: client.endpoint,
    tls: tlsOf(client.tls),
    auth: authOf(client.auth, 'create'),
  };
}

/** The client as callers see it: settings and state, never a secret. */
export function toProto(client: Client): controllerV1.Client {
  return {
    name: `clients/${client.id}`,
    displayName: client.displayName,
    endpoint: client.endpoint,
    tls: {
      enabled: client.tlsEnabled,
      caBundlePem: client.tlsCaBundlePem,
      serverName: client.tlsServerName,
    },
    auth:
      client.authKind === 'api_key'
        ? { $case: 'apiKey', value: { apiKey: '', apiKeyHint: client.apiKeyHint } }
        : {
            $case: 'oidc',
            value: {
              issuerUrl: client.oidcIssuerUrl,
              realm: client.oidcRealm,
              clientId: client.oidcClientId,
              clientSecret: '',
              scope: client.oidcScope,
              audience: client.oidcAudience,
            },
          },
    managerId: client.managerId,
    state: client.state,
    stateMessage: client.stateMessage,
    creator: client.creator,
    lastContactTime: client.lastContactTime?.toISOString(),
    provisionedServer: client.provisionedServer,
    createTime: client.createTime.toISOString(),
    updateTime: client.updateTime.toISOString(),
  };
}

function grantToProto(grant: ClientGrant): controllerV1.ClientGrant {
  return {
    subject: grant.subject,
    granter: grant.granter,
    grantTime: grant.grantTime.toISOString(),
  };
}
