import {
  Metadata,
  status,
  type Client as GrpcClient,
  type Deadline,
  type ServiceError,
} from '@grpc/grpc-js';
import { UnavailableError, type Database } from '@agenstra/shared';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AuthenticatedHandlers } from '../auth/authenticated.js';
import type { Principal } from '../auth/principal.js';
import type { Client } from '../clients/client.entity.js';
import type { AuthSettings, Clients } from '../clients/clients.js';
import type { ClientCredentialsTokens } from '../clients/manager-credentials.js';
import { isDisconnected, type ManagerChannels } from './manager-channels.js';

/** What the proxy needs of the incoming call (unary or streaming): its deadline and cancellation. */
export interface IncomingCall {
  readonly cancelled: boolean;
  getDeadline(): Deadline;
  once(event: 'cancelled', listener: () => void): unknown;
  off(event: 'cancelled', listener: () => void): unknown;
}

/** One method of a manager service definition (ts-proto's grpc-js `...Service` objects). */
export interface ManagerMethod<Req, Res> {
  path: string;
  requestSerialize: (value: Req) => Buffer;
  responseDeserialize: (value: Buffer) => Res;
}

/** A request rewritten for the manager, and the client whose manager receives it. */
export interface Routed<ManagerReq> {
  clientId: string;
  request: ManagerReq;
}

/** The caller's client, resolved to the channel and credential of its manager. */
export interface ManagerLink {
  client: Client;
  grpc: GrpcClient;
  auth: AuthSettings;
}

export interface ManagerProxyDeps {
  database: Database;
  clients: Clients;
  tokens: ClientCredentialsTokens;
  channels: ManagerChannels;
  handlers: AuthenticatedHandlers;
}

/**
 * Forwards calls to a client's manager: the caller must be allowed to see the client (else
 * NOT_FOUND, as in ClientService), the client's credential goes in `authorization`, the caller's
 * deadline and cancellation carry over, and the manager's status and message come back
 * unchanged. Only a manager that cannot be reached becomes UNAVAILABLE naming the client.
 */
export class ManagerProxy {
  constructor(private readonly deps: ManagerProxyDeps) {}

  /** A proxied unary method: `route` rewrites the request, `respond` the manager's answer. */
  unary<Req, ManagerReq, ManagerRes, Res>(
    method: ManagerMethod<ManagerReq, ManagerRes>,
    route: (request: Req) => Routed<ManagerReq>,
    respond: (response: ManagerRes, clientId: string) => Res,
  ) {
    return this.deps.handlers.unary<Req, Res>(async (request, caller, call) => {
      const routed = route(request);
      const link = await this.link(this.deps.database.fork(), caller, routed.clientId);
      return respond(await this.call(link, method, routed.request, call), routed.clientId);
    });
  }

  /** A proxied server-streaming method: each manager message is passed on through `respond`. */
  serverStream<Req, ManagerReq, ManagerRes, Res>(
    method: ManagerMethod<ManagerReq, ManagerRes>,
    route: (request: Req) => Routed<ManagerReq>,
    respond: (response: ManagerRes, clientId: string) => Res,
  ) {
    return this.deps.handlers.serverStream<Req, Res>((request, caller, call) =>
      this.forwardStream(method, route(request), respond, caller, call),
    );
  }

  private async *forwardStream<ManagerReq, ManagerRes, Res>(
    method: ManagerMethod<ManagerReq, ManagerRes>,
    routed: Routed<ManagerReq>,
    respond: (response: ManagerRes, clientId: string) => Res,
    caller: Principal,
    call: IncomingCall,
  ): AsyncGenerator<Res> {
    const link = await this.link(this.deps.database.fork(), caller, routed.clientId);
    for await (const message of this.stream(link, method, routed.request, call)) {
      yield respond(message, routed.clientId);
    }
  }

  /** The manager of a client the caller may see; NOT_FOUND otherwise. */
  async link(em: EntityManager, caller: Principal, clientId: string): Promise<ManagerLink> {
    const client = await this.deps.clients.get(em, caller, clientId);
    const { grpc, attachment } = await this.deps.channels.channelFor(
      {
        clientId: client.id,
        endpoint: client.endpoint,
        credentialsVersion: client.updateTime.toISOString(),
      },
      {
        endpoint: client.endpoint,
        tls: {
          enabled: client.tlsEnabled,
          caBundlePem: client.tlsCaBundlePem,
          serverName: client.tlsServerName,
        },
      },
      async () => (await this.deps.clients.settingsOf(em, client)).auth,
    );
    return { client, grpc, auth: attachment };
  }

  /** One unary call to the manager on behalf of `call`. */
  async call<ManagerReq, ManagerRes>(
    link: ManagerLink,
    method: ManagerMethod<ManagerReq, ManagerRes>,
    request: ManagerReq,
    call: IncomingCall,
  ): Promise<ManagerRes> {
    const metadata = await this.metadataFor(link);
    return new Promise<ManagerRes>((resolve, reject) => {
      const downstream = link.grpc.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        metadata,
        { deadline: call.getDeadline() },
        (error, response) =>
          error ? reject(failureOf(link, error)) : resolve(response as ManagerRes),
      );
      cancelWith(call, () => downstream.cancel());
    });
  }

  /** One server-streaming call to the manager on behalf of `call`, as an async iterable. */
  async *stream<ManagerReq, ManagerRes>(
    link: ManagerLink,
    method: ManagerMethod<ManagerReq, ManagerRes>,
    request: ManagerReq,
    call: IncomingCall,
  ): AsyncGenerator<ManagerRes> {
    const metadata = await this.metadataFor(link);
    const downstream = link.grpc.makeServerStreamRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      request,
      metadata,
      { deadline: call.getDeadline() },
    );
    const stopCancelling = cancelWith(call, () => downstream.cancel());
    try {
      for await (const message of downstream) yield message as ManagerRes;
    } catch (error) {
      throw failureOf(link, error as ServiceError);
    } finally {
      stopCancelling();
      // A consumer that stops early (or an error on our side) must not leave the manager streaming.
      downstream.cancel();
    }
  }

  private async metadataFor(link: ManagerLink): Promise<Metadata> {
    const { auth } = link;
    const bearer = auth.kind === 'api_key' ? auth.apiKey : await this.deps.tokens.tokenFor(auth);
    const metadata = new Metadata();
    metadata.set('authorization', `Bearer ${bearer}`);
    return metadata;
  }
}

/** Runs `cancel` when the caller cancels (or already has); returns a function that stops that. */
function cancelWith(call: IncomingCall, cancel: () => void): () => void {
  if (call.cancelled) cancel();
  call.once('cancelled', cancel);
  return () => call.off('cancelled', cancel);
}

/**
 * The manager's own answers pass through untouched (toServiceError keeps a ServiceError's code
 * and message). A failure of the connection itself is reported with the client's name, so the
 * user knows which manager is down.
 */
function failureOf(link: ManagerLink, error: ServiceError): Error {
  if (error.code === status.UNAVAILABLE && isDisconnected(link.grpc)) {
    return new UnavailableError(
      `the manager of clients/${link.client.id} (${link.client.displayName}) at ` +
        `${link.client.endpoint} is unavailable: ${error.details}`,
    );
  }
  return error;
}
