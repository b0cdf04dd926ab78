import { Writable } from 'node:stream';
import { expect } from 'chai';
import { createLogger } from '../logging/logger.js';
import { Shutdown } from './shutdown.js';

const quietLogger = () =>
  createLogger({ service: 'test', destination: new Writable({ write: (_c, _e, done) => done() }) });

describe('shutdown sequence', () => {
  it('closes resources in reverse order of registration and reports exit code 0', async () => {
    const closed: string[] = [];
    const shutdown = new Shutdown({ logger: quietLogger(), deadlineMs: 10_000 });
    shutdown.register('database', async () => void closed.push('database'));
    shutdown.register('NATS', async () => void closed.push('NATS'));
    shutdown.register('gRPC server', async () => void closed.push('gRPC server'));
    expect(await shutdown.run('test')).to.equal(0);
    expect(closed).to.deep.equal(['gRPC server', 'NATS', 'database']);
  });

  it('still closes the rest when one closer fails, and reports exit code 1', async () => {
    const closed: string[] = [];
    const shutdown = new Shutdown({ logger: quietLogger(), deadlineMs: 10_000 });
    shutdown.register('database', async () => void closed.push('database'));
    shutdown.register('NATS', async () => {
      throw new Error('boom');
    });
    expect(await shutdown.run('test')).to.equal(1);
    expect(closed).to.deep.equal(['database']);
  });

  it('reports exit code 1 when a closer had to force', async () => {
    const shutdown = new Shutdown({ logger: quietLogger(), deadlineMs: 10_000 });
    shutdown.register('gRPC server', async () => ({ forced: true }));
    expect(await shutdown.run('test')).to.equal(1);
  });

  it('runs the closers only once however often it is asked', async () => {
    let runs = 0;
    const shutdown = new Shutdown({ logger: quietLogger(), deadlineMs: 10_000 });
    shutdown.register('counter', async () => void runs++);
    await Promise.all([shutdown.run('a'), shutdown.run('b')]);
    expect(runs).to.equal(1);
  });
});
