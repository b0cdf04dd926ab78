import {
  Metadata,
  status,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceError,
} from '@grpc/grpc-js';
import type { Logger } from 'pino';

/**
 * Errors a capability throws to say what went wrong in domain terms. Handlers never pick status
 * codes themselves: `toServiceError` maps these, and hides everything else behind INTERNAL.
 */
export abstract class DomainError extends Error {
  abstract readonly code: status;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class InvalidArgumentError extends DomainError {
  readonly code = status.INVALID_ARGUMENT;
}
export class NotFoundError extends DomainError {
  readonly code = status.NOT_FOUND;
}
export class AlreadyExistsError extends DomainError {
  readonly code = status.ALREADY_EXISTS;
}
export class PermissionDeniedError extends DomainError {
  readonly code = status.PERMISSION_DENIED;
}
export class UnauthenticatedError extends DomainError {
  readonly code = status.UNAUTHENTICATED;
}
export class FailedPreconditionError extends DomainError {
  readonly code = status.FAILED_PRECONDITION;
}
export class ResourceExhaustedError extends DomainError {
  readonly code = status.RESOURCE_EXHAUSTED;
}
export class AbortedError extends DomainError {
  readonly code = status.ABORTED;
}
export class UnavailableError extends DomainError {
  readonly code = status.UNAVAILABLE;
}
export class UnimplementedError extends DomainError {
  readonly code = status.UNIMPLEMENTED;
}
export class DeadlineExceededError extends DomainError {
  readonly code = status.DEADLINE_EXCEEDED;
}

const INTERNAL_MESSAGE = 'internal error';

function isServiceError(error: unknown): error is ServiceError {
  return (
    error instanceof Error &&
    typeof (error as Partial<ServiceError>).code === 'number' &&
    (error as Partial<ServiceError>).metadata instanceof Metadata
  );
}

/**
 * Maps a thrown value to the status sent to the caller. Domain errors keep their message;
 * errors already carrying a gRPC status (e.g. from a downstream call) pass through; anything
 * else becomes INTERNAL with a generic message and is logged, so internals never leak.
 */
export function toServiceError(error: unknown, logger?: Logger): Partial<ServiceError> {
  if (error instanceof DomainError) {
    return { code: error.code, details: error.message, metadata: new Metadata() };
  }
  if (isServiceError(error)) {
    return { code: error.code, details: error.details, metadata: new Metadata() };
  }
  logger?.error({ err: error }, 'unexpected error in gRPC handler');
  return { code: status.INTERNAL, details: INTERNAL_MESSAGE, metadata: new Metadata() };
}

/** Adapts `async (request, call) => response` to grpc-js, mapping thrown errors to status codes. */
export function unary<Req, Res>(
  handler: (request: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res>,
  logger?: Logger,
) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    handler(call.request, call).then(
      (response) => callback(null, response),
      (error: unknown) => callback(toServiceError(error, logger)),
    );
  };
}

/**
 * Adapts `(request, call) => AsyncIterable<Res>` to a grpc-js server-streaming handler. Iteration
 * stops when the caller cancels; a thrown error ends the stream with the mapped status.
 */
export function serverStream<Req, Res>(
  handler: (request: Req, call: ServerWritableStream<Req, Res>) => AsyncIterable<Res>,
  logger?: Logger,
) {
  return (call: ServerWritableStream<Req, Res>): void => {
    const run = async () => {
      for await (const message of handler(call.request, call)) {
        if (call.cancelled) return;
        if (!call.write(message)) await new Promise((resolve) => call.once('drain', resolve));
      }
      call.end();
    };
    run().catch((error: unknown) => {
      // grpc-js turns an 'error' event on a server stream into the call's final status.
      if (!call.cancelled) call.emit('error', toServiceError(error, logger));
    });
  };
}
