import { Metadata, status } from '@grpc/grpc-js';
import { expect } from 'chai';
import {
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  toServiceError,
  unary,
} from './errors.js';

describe('mapping domain errors to gRPC status', () => {
  it('gives each domain error its status code and keeps its message', () => {
    expect(toServiceError(new InvalidArgumentError('name is empty'))).to.include({
      code: status.INVALID_ARGUMENT,
      details: 'name is empty',
    });
    expect(toServiceError(new NotFoundError('agents/a1 not found')).code).to.equal(
      status.NOT_FOUND,
    );
    expect(toServiceError(new FailedPreconditionError('agent is stopped')).code).to.equal(
      status.FAILED_PRECONDITION,
    );
    expect(toServiceError(new PermissionDeniedError('no')).code).to.equal(status.PERMISSION_DENIED);
  });

  it('hides unexpected errors behind INTERNAL without leaking their message', () => {
    const mapped = toServiceError(new Error('connection to 10.0.0.5 refused, password=x'));
    expect(mapped).to.include({ code: status.INTERNAL, details: 'internal error' });
  });

  it('passes through an error that already carries a gRPC status', () => {
    const downstream = Object.assign(new Error('14 UNAVAILABLE: manager down'), {
      code: status.UNAVAILABLE,
      details: 'manager down',
      metadata: new Metadata(),
    });
    expect(toServiceError(downstream)).to.include({
      code: status.UNAVAILABLE,
      details: 'manager down',
    });
  });

  it('lets a thin unary handler throw and answers with the mapped status', async () => {
    const handler = unary<{ name: string }, { ok: boolean }>(async (request) => {
      if (!request.name) throw new InvalidArgumentError('name is required');
      return { ok: true };
    });
    const answer = (request: { name: string }) =>
      new Promise<unknown>((resolve) =>
        handler({ request } as never, (error, response) => resolve(error ?? response)),
      );
    expect(await answer({ name: '' })).to.include({
      code: status.INVALID_ARGUMENT,
      details: 'name is required',
    });
    expect(await answer({ name: 'a' })).to.deep.equal({ ok: true });
  });
});
