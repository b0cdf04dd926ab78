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
const MANAGER_SERVICES = [
  'agenstra.manager.v1.AgentService',
  'agenstra.manager.v1.ChatService',
  'agenstra.manager.v1.FileService',
  'agenstra.manager.v1.VcsService',
];

describe('manager start-up', () => {
  const database = throwawayDatabase('agenstra_manager_test');
  const env = { DATABASE_URL: database.url, MANAGER_GRPC_PORT: '0', GRPC_HOST: '127.0.0.1' };
  after(() => database.drop());

  it('refuses to start on a bad environment variable, naming it and the bad value', () => {
    const result = spawnSync(process.execPath, [MAIN], {
      env: { ...process.env, ...env, MANAGER_GRPC_PORT: 'notaport', SHUTDOWN_GRACE_MS: 'soon' },
      encoding: 'utf8',
    });
    expect(result.status).to.not.equal(0);
    expect(result.stderr).to.contain('MANAGER_GRPC_PORT="notaport"');
    expect(result.stderr).to.contain('expected a TCP port number');
    expect(result.stderr).to.contain('SHUTDOWN_GRACE_MS="soon"');
  });

  describe('once listening', () => {
    let manager: RunningService;
    before(async () => {
      manager = await startService(MAIN, env);
    });
    after(async () => {
      await stopService(manager);
    });

    it('answers health checks with SERVING for the server and each of its services', async () => {
      const address = `127.0.0.1:${manager.port}`;
      expect(await checkHealth(address)).to.equal('SERVING');
      for (const service of MANAGER_SERVICES) {
        expect(await checkHealth(address, service), service).to.equal('SERVING');
      }
    });

    it('lists every agenstra.manager.v1 service and health through reflection', async () => {
      const services = await listServices(`127.0.0.1:${manager.port}`);
      expect(services).to.include.members([...MANAGER_SERVICES, 'grpc.health.v1.Health']);
      expect(services.filter((name) => name.startsWith('agenstra.controller.'))).to.deep.equal([]);
    });

    it('generates its manager id once and reuses it after a restart', async () => {
      const first = logEntry(manager, 'manager identity');
      expect(first?.source).to.be.oneOf(['generated', 'database']);
      expect(await stopService(manager)).to.equal(0);

      manager = await startService(MAIN, env);
      const second = logEntry(manager, 'manager identity');
      expect(second).to.include({ source: 'database', managerId: first?.managerId });
    });
  });

  it('uses MANAGER_ID when it is set', async () => {
    const manager = await startService(MAIN, { ...env, MANAGER_ID: 'manager-from-env' });
    expect(logEntry(manager, 'manager identity')).to.include({
      managerId: 'manager-from-env',
      source: 'environment',
    });
    expect(await stopService(manager)).to.equal(0);
  });

  it('starts without a Docker Engine and warns that agents cannot run', async () => {
    const manager = await startService(MAIN, {
      ...env,
      DOCKER_HOST: 'unix:///nonexistent/docker.sock',
    });
    const warning = logEntry(
      manager,
      'no Docker Engine answers: agents cannot run until one is available',
    );
    expect(warning).to.include({ level: 'warn', docker: 'unix:///nonexistent/docker.sock' });
    expect(logEntry(manager, 'listening')).to.include({ dockerAvailable: false });
    expect(await stopService(manager)).to.equal(0);
  });
});
