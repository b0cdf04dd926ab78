import type { ServerUnaryCall, ServerWritableStream } from '@grpc/grpc-js';
import { serverStream, unary } from '@agenstra/shared';
import type { Logger } from 'pino';
import type { Authenticator } from './authenticator.js';
import type { Principal } from './principal.js';

/**
 * The one gate every controller RPC passes: each handler is wrapped here, authenticates the
 * caller before it runs and receives the caller as its third argument. Health checking and
 * reflection are registered by the shared server and stay open.
 */
export class AuthenticatedHandlers {
  constructor(
    private readonly authenticator: Authenticator,
    private readonly logger: Logger,
  ) {}

  unary<Req, Res>(
    handler: (request: Req, caller: Principal, call: ServerUnaryCall<Req, Res>) => Promise<Res>,
  ) {
    return unary<Req, Res>(async (request, call) => {
      const caller = await this.authenticator.authenticate(call.metadata);
      return handler(request, caller, call);
    }, this.logger);
  }

  serverStream<Req, Res>(
    handler: (
      request: Req,
      caller: Principal,
      call: ServerWritableStream<Req, Res>,
    ) => AsyncIterable<Res>,
  ) {
    const authenticator = this.authenticator;
    return serverStream<Req, Res>(async function* (request, call) {
      const caller = await authenticator.authenticate(call.metadata);
      yield* handler(request, caller, call);
    }, this.logger);
  }
}
