import path from 'node:path';
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { expect } from 'chai';
import { startService, type RunningService } from '../testing/testing.js';
import { SlowClient } from '../testing/slow-service.js';

const fixture = path.join(__dirname, '..', 'testing', 'drain-fixture.js');

type Client = InstanceType<typeof SlowClient>;

function wait(client: Client): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(
      '/agenstra.test.Slow/Wait',
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.from('x'),
      (error: ServiceError | null, response?: Buffer) =>
        error ? reject(error) : resolve(response as Buffer),
    ),
  );
}

function logged(service: RunningService, message: string): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (service.output().includes(`"msg":"${message}"`)) return resolve();
      service.child.stdout?.once('data', () => setImmediate(check));
    };
    check();
  });
}

describe('graceful shutdown of a gRPC server', () => {
  let service: RunningService | undefined;

  afterEach(() => {
    if (service && service.child.exitCode === null) service.child.kill('SIGKILL');
  });

  it('lets an in-flight call finish after SIGTERM, refuses new calls, and exits 0', async () => {
    service = await startService(fixture, { SHUTDOWN_GRACE_MS: '60000' });
    const client = new SlowClient(`127.0.0.1:${service.port}`, credentials.createInsecure());
    const inFlight = wait(client);
    await logged(service, 'call started');

    service.child.kill('SIGTERM');
    await logged(service, 'draining gRPC calls');

    const lateClient = new SlowClient(`127.0.0.1:${service.port}`, credentials.createInsecure());
    const refused = await wait(lateClient).then(
      () => undefined,
      (error: ServiceError) => error,
    );
    expect(refused?.code).to.equal(status.UNAVAILABLE);

    service.child.kill('SIGUSR2');
    expect((await inFlight).toString()).to.equal('done');
    expect(await service.exited).to.equal(0);
    expect(service.output()).to.contain('"msg":"closed gRPC server"');
    client.close();
    lateClient.close();
  });

  it('cancels calls still running when the grace period ends, and exits 1', async () => {
    service = await startService(fixture, { SHUTDOWN_GRACE_MS: '200' });
    const client = new SlowClient(`127.0.0.1:${service.port}`, credentials.createInsecure());
    const inFlight = wait(client).then(
      () => undefined,
      (error: ServiceError) => error,
    );
    await logged(service, 'call started');

    service.child.kill('SIGTERM');

    const error = await inFlight;
    expect(error?.code).to.be.oneOf([status.CANCELLED, status.UNAVAILABLE, status.INTERNAL]);
    expect(await service.exited).to.equal(1);
    expect(service.output()).to.contain('grace period over');
    client.close();
  });
});
