import { spawnSync } from 'node:child_process';
import path from 'node:path';
import {
  checkHealth,
  listServices,
  logEntry,
  startService,
  stopService,
  throwawayDatabase,
  type RunningService,
} from '@agenstra/shared/testing';
import { expect } from 'chai';

const MAIN = path.join(__dirname, 'main.js');
const CONTROLLER_SERVICES = [
  'agenstra.controller.v1.AgentService',
  'agenstra.controller.v1.ClientService',
  'agenstra.controller.v1.FileService',
  'agenstra.controller.v1.ProvisioningService',
  'agenstra.controller.v1.SessionService',
  'agenstra.controller.v1.VcsService',
];

describe('controller start-up', () => {
  const database = throwawayDatabase('agenstra_controller_test');
  const env = { DATABASE_URL: database.url, CONTROLLER_GRPC_PORT: '0', GRPC_HOST: '127.0.0.1' };
  after(() => database.drop());

  it('refuses to start on a bad environment variable, naming it and the bad value', () => {
    const result = spawnSync(process.execPath, [MAIN], {
      env: { ...process.env, ...env, CONTROLLER_GRPC_PORT: '70000', NATS_URL: 'http://x' },
      encoding: 'utf8',
    });
    expect(result.status).to.not.equal(0);
    expect(result.stderr).to.contain('CONTROLLER_GRPC_PORT="70000"');
    expect(result.stderr).to.contain('NATS_URL="http://x"');
  });

  it('refuses to start when PostgreSQL cannot be reached, and says why', async () => {
    const result = spawnSync(process.execPath, [MAIN], {
      env: { ...process.env, ...env, DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nothing' },
      encoding: 'utf8',
    });
    expect(result.status).to.equal(1);
    expect(result.stdout).to.contain('"msg":"start-up failed"');
    expect(result.stdout).to.contain('ECONNREFUSED');
  });

  describe('once listening', () => {
    let controller: RunningService;
    before(async () => {
      controller = await startService(MAIN, env);
    });
    after(() => stopService(controller));

    it('answers health checks with SERVING for the server and each of its services', async () => {
      const address = `127.0.0.1:${controller.port}`;
      expect(await checkHealth(address)).to.equal('SERVING');
      for (const service of CONTROLLER_SERVICES) {
        expect(await checkHealth(address, service), service).to.equal('SERVING');
      }
    });

    it('lists every agenstra.controller.v1 service, and no manager service, through reflection', async () => {
      const services = await listServices(`127.0.0.1:${controller.port}`);
      expect(services).to.include.members([...CONTROLLER_SERVICES, 'grpc.health.v1.Health']);
      expect(services.filter((name) => name.startsWith('agenstra.manager.'))).to.deep.equal([]);
    });

    it('keeps its controller id across restarts and exits 0 on SIGTERM', async () => {
      const first = logEntry(controller, 'controller identity');
      expect(await stopService(controller)).to.equal(0);
      controller = await startService(MAIN, env);
      expect(logEntry(controller, 'controller identity')).to.include({
        controllerId: first?.controllerId,
        created: false,
      });
    });
  });
});
