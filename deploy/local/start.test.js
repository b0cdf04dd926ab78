'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');
const { spawn } = require('node:child_process');
const { Client } = require('pg');
const { expect } = require('chai');
const { findFreePort, probeTcp, isPortFree } = require('./net');

const START_SCRIPT = path.join(__dirname, 'start.js');
const REPO_ROOT = path.resolve(__dirname, '..', '..');
const LOCAL_PG = 'postgres://postgres@127.0.0.1:5432';
const LOCAL_NATS = 'nats://127.0.0.1:4222';

/** Runs the start command as a real process and collects what it prints. */
function runStart({ args = [], env = {}, children } = {}) {
  const command = children
    ? [
        '-e',
        `require(${JSON.stringify(START_SCRIPT)}).main({ children: ${JSON.stringify(children)} })`,
      ]
    : [START_SCRIPT, ...args];
  const child = spawn(process.execPath, command, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const run = { child, output: '' };
  const listeners = new Set();
  const collect = (chunk) => {
    run.output += chunk;
    for (const listener of listeners) listener();
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  run.exited = new Promise((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  run.waitFor = (pattern) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const match = run.output.match(pattern);
        if (match) {
          listeners.delete(check);
          resolve(match);
        }
      };
      listeners.add(check);
      check();
      run.exited.then(() => {
        if (!run.output.match(pattern)) {
          reject(new Error(`start exited before printing ${pattern}; output:\n${run.output}`));
        }
      });
    });
  run.stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    return run.exited;
  };
  return run;
}

/** Writes small stand-ins for the services that log the way the real ones do. */
function writeFakeServices(directory) {
  const log = `const log = (msg, fields = {}) => console.log(JSON.stringify({ level: 30, time: Date.now(), msg, ...fields }));`;
  const fakes = {
    'listens.js': `${log}
      log('environment', { database: process.env.DATABASE_URL, nats: process.env.NATS_URL, processId: process.pid });
      setTimeout(() => log('listening', { address: '127.0.0.1:0' }), 100);
      process.on('SIGTERM', () => { log('shutting down'); process.exit(0); });
      setInterval(() => {}, 1000);`,
    'fails-config.js': `${log}
      console.log(JSON.stringify({ level: 60, time: Date.now(), msg: 'invalid configuration', variable: 'MANAGER_GRPC_PORT' }));
      process.exit(78);`,
    'dies-on-signal-file.js': `${log}
      log('listening', { address: '127.0.0.1:0' });
      setInterval(() => { if (require('fs').existsSync(process.env.FAKE_DIE_FILE)) { log('lost the database'); process.exit(5); } }, 50);`,
  };
  for (const [name, source] of Object.entries(fakes))
    fs.writeFileSync(path.join(directory, name), source);
  return (name, file) => ({ name, entry: path.join(directory, file) });
}

const isAlive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('npm start with stand-in services (deploy/local/start.js)', function () {
  this.timeout(60000);
  let directory;
  let fake;
  const realInfrastructure = { DATABASE_URL: `${LOCAL_PG}/test`, NATS_URL: LOCAL_NATS };
  const runs = [];
  const start = (options) => {
    const run = runStart({ ...options, env: { ...realInfrastructure, ...options.env } });
    runs.push(run);
    return run;
  };

  before(() => {
    directory = fs.mkdtempSync(path.join(os.tmpdir(), 'agenstra-start-'));
    fake = writeFakeServices(directory);
  });
  afterEach(async () => {
    await Promise.all(runs.splice(0).map((run) => run.stop()));
  });
  after(() => fs.rmSync(directory, { recursive: true, force: true }));

  it('exits non-zero and shows the last log lines of a service that exits during start-up', async () => {
    const run = start({
      children: [fake('controller', 'listens.js'), fake('manager', 'fails-config.js')],
    });
    const { code } = await run.exited;
    expect(code).to.equal(1);
    expect(run.output).to.include('manager exited with code 78; its last log lines:');
    expect(run.output).to.include('invalid configuration variable=MANAGER_GRPC_PORT');
    expect(run.output).not.to.include('Agenstra is running');
  });

  it('stops the other services and exits non-zero when a service dies after start-up', async () => {
    const dieFile = path.join(directory, 'die-now');
    const run = start({
      children: [fake('controller', 'listens.js'), fake('manager', 'dies-on-signal-file.js')],
      env: { FAKE_DIE_FILE: dieFile },
    });
    await run.waitFor(/Agenstra is running/);
    const [, controllerPid] = await run.waitFor(/\[controller\] .*environment .*processId=(\d+)/);
    fs.writeFileSync(dieFile, '');
    const { code } = await run.exited;
    expect(code).to.equal(1);
    expect(run.output).to.include('manager exited with code 5; its last log lines:');
    expect(run.output).to.include('lost the database');
    expect(run.output).to.include('[controller] ').and.to.include('shutting down');
    expect(isAlive(Number(controllerPid))).to.equal(false);
  });

  it('refuses to start when a service has not been built, naming its entry point', async () => {
    const run = start({
      children: [{ name: 'manager', entry: path.join(directory, 'missing/main.js') }],
    });
    const { code } = await run.exited;
    expect(code).to.equal(1);
    expect(run.output).to.match(
      /missing entry point: manager \(.*missing\/main\.js\)\. Build first: npm run build/,
    );
  });

  it('refuses to start when DATABASE_URL does not answer, without printing its password', async () => {
    const port = await findFreePort();
    const run = start({
      children: [fake('manager', 'listens.js')],
      env: { DATABASE_URL: `postgres://postgres:s3cret@127.0.0.1:${port}/agenstra` },
    });
    const { code } = await run.exited;
    expect(code).to.equal(1);
    expect(run.output).to.include(
      `cannot use DATABASE_URL postgres://postgres:***@127.0.0.1:${port}/agenstra`,
    );
    expect(run.output).not.to.include('s3cret');
    expect(run.output).not.to.include('[manager]');
  });

  it('says that agents cannot run when no Docker Engine answers, and starts anyway', async () => {
    const run = start({
      children: [fake('manager', 'listens.js')],
      env: { DOCKER_HOST: `unix://${path.join(directory, 'no-docker.sock')}` },
    });
    await run.waitFor(/Agenstra is running/);
    expect(run.output).to.match(
      /WARNING: no Docker Engine answers at unix:\/\/.*no-docker\.sock .*agents cannot run/,
    );
  });

  it('passes the chosen database and NATS to the services and says which it chose', async () => {
    const run = start({ children: [fake('manager', 'listens.js')] });
    await run.waitFor(/Agenstra is running/);
    expect(run.output).to.include(`database: ${LOCAL_PG}/test (from DATABASE_URL)`);
    expect(run.output).to.include(`nats: ${LOCAL_NATS} (from NATS_URL)`);
    expect(run.output)
      .to.include(`[manager] `)
      .and.to.include(`database=${LOCAL_PG}/test nats=${LOCAL_NATS}`);
  });

  it('forwards SIGTERM to every service, waits for them and exits 0', async () => {
    const run = start({
      children: [fake('controller', 'listens.js'), fake('gateway', 'listens.js')],
    });
    await run.waitFor(/Agenstra is running/);
    const pids = [...run.output.matchAll(/environment .*processId=(\d+)/g)].map((match) =>
      Number(match[1]),
    );
    expect(pids).to.have.length(2);
    run.child.kill('SIGTERM');
    const { code } = await run.exited;
    expect(code).to.equal(0);
    expect(run.output).to.include(
      'stopped: controller exited with code 0, gateway exited with code 0',
    );
    expect(pids.filter(isAlive)).to.deep.equal([]);
  });

  it('starts an embedded PostgreSQL and a nats-server with JetStream when nothing answers locally, and stops them', async function () {
    this.timeout(180000);
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'agenstra-state-'));
    // Under root PostgreSQL runs as the "postgres" user, which must reach its data directory.
    fs.chmodSync(stateDir, 0o755);
    try {
      const run = runStart({
        children: [fake('manager', 'listens.js')],
        env: {
          DATABASE_URL: '',
          NATS_URL: '',
          AGENSTRA_STATE_DIR: stateDir,
          AGENSTRA_LOCAL_PG_PORT: String(await findFreePort()),
          AGENSTRA_LOCAL_NATS_PORT: String(await findFreePort()),
        },
      });
      runs.push(run);
      await run.waitFor(/Agenstra is running/);
      const [, databaseUrl] = run.output.match(
        /database: (postgres:\/\/\S+) \(embedded PostgreSQL/,
      );
      const [, natsPort] = run.output.match(
        /nats: nats:\/\/127\.0\.0\.1:(\d+) \(nats-server started here/,
      );

      const client = new Client({ connectionString: databaseUrl });
      await client.connect();
      const { rows } = await client.query('select current_database() as name');
      await client.end();
      expect(rows[0].name).to.equal('agenstra');
      const greeting = await probeTcp('127.0.0.1', Number(natsPort));
      expect(JSON.parse(greeting.slice('INFO '.length)).jetstream).to.equal(true);

      run.child.kill('SIGINT');
      expect((await run.exited).code).to.equal(0);
      expect(await isPortFree('127.0.0.1', Number(new URL(databaseUrl).port))).to.equal(true);
      expect(await isPortFree('127.0.0.1', Number(natsPort))).to.equal(true);
    } finally {
      fs.rmSync(stateDir, { recursive: true, force: true });
    }
  });
});

describe('npm start with the real services', function () {
  this.timeout(240000);
  const databaseName = `agenstra_start_${process.pid}`;
  const protoLoader = require('@grpc/proto-loader');
  const grpc = require('@grpc/grpc-js');
  let run;
  let ports;

  const withMaintenance = async (sql) => {
    const client = new Client({ connectionString: `${LOCAL_PG}/postgres` });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };

  before(async function () {
    const missing = [
      'services/controller/dist/main.js',
      'services/manager/dist/main.js',
      'gateway/dist/main.js',
    ].filter((entry) => !fs.existsSync(path.join(REPO_ROOT, entry)));
    if (missing.length > 0)
      throw new Error(
        `service entry points are not built: ${missing.join(', ')} (run npm run build)`,
      );
    ports = {
      controller: await findFreePort(),
      manager: await findFreePort(),
      gateway: await findFreePort(),
    };
    await withMaintenance(`DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`);
    await withMaintenance(`CREATE DATABASE ${databaseName}`);
    run = runStart({
      env: {
        DATABASE_URL: `${LOCAL_PG}/${databaseName}`,
        NATS_URL: LOCAL_NATS,
        CONTROLLER_GRPC_PORT: String(ports.controller),
        MANAGER_GRPC_PORT: String(ports.manager),
        GATEWAY_PORT: String(ports.gateway),
      },
    });
    await run.waitFor(/Agenstra is running/);
  });

  after(async () => {
    if (run) await run.stop();
    await withMaintenance(`DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`);
  });

  const loadService = (file, includeDir, serviceName) => {
    const definition = protoLoader.loadSync(file, {
      keepCase: true,
      enums: String,
      includeDirs: [includeDir],
    });
    const ServiceClient = serviceName
      .split('.')
      .reduce((node, part) => node[part], grpc.loadPackageDefinition(definition));
    return ServiceClient;
  };
  const healthClient = (port) => {
    const directory = path.dirname(require.resolve('grpc-health-check/package.json'));
    const Health = loadService(
      path.join(directory, 'proto/health/v1/health.proto'),
      directory,
      'grpc.health.v1.Health',
    );
    return new Health(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  };
  const listServices = (port) => {
    const directory = path.join(path.dirname(require.resolve('@grpc/reflection')), '..', 'proto');
    const file = path.join(directory, 'grpc/reflection/v1/reflection.proto');
    const Reflection = loadService(file, directory, 'grpc.reflection.v1.ServerReflection');
    const client = new Reflection(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    return new Promise((resolve, reject) => {
      const call = client.ServerReflectionInfo();
      call.once('data', (response) => {
        call.end();
        client.close();
        if (response.error_response) reject(new Error(response.error_response.error_message));
        else resolve(response.list_services_response.service.map((service) => service.name));
      });
      call.once('error', reject);
      call.write({ list_services: '' });
    });
  };
  const check = (port) =>
    new Promise((resolve, reject) => {
      const client = healthClient(port);
      client.Check({ service: '' }, { deadline: Date.now() + 10000 }, (error, response) => {
        client.close();
        return error ? reject(error) : resolve(response.status);
      });
    });

  it('prints where the console and both services listen', () => {
    expect(run.output).to.include(
      `Agenstra is running: console http://localhost:${ports.gateway}, controller grpc 127.0.0.1:${ports.controller}, ` +
        `manager grpc 127.0.0.1:${ports.manager} (database: ${LOCAL_PG}/${databaseName}, nats: ${LOCAL_NATS})`,
    );
    for (const name of ['controller', 'manager', 'gateway'])
      expect(run.output).to.match(new RegExp(`\\[${name}\\] .*listening`));
  });

  it('serves grpc.health.v1 SERVING on the controller and the manager', async () => {
    expect(await check(ports.controller)).to.equal('SERVING');
    expect(await check(ports.manager)).to.equal('SERVING');
  });

  it('lists the agenstra.controller.v1 and agenstra.manager.v1 services through reflection', async () => {
    expect(
      (await listServices(ports.controller)).filter((name) =>
        name.startsWith('agenstra.controller.v1.'),
      ),
    ).to.have.length.above(0);
    expect(
      (await listServices(ports.manager)).filter((name) => name.startsWith('agenstra.manager.v1.')),
    ).to.have.length.above(0);
  });

  it('serves the console page at the gateway', async () => {
    const { status, type, body } = await new Promise((resolve, reject) => {
      http
        .get(`http://127.0.0.1:${ports.gateway}/`, (response) => {
          let text = '';
          response.on('data', (chunk) => (text += chunk));
          response.on('end', () =>
            resolve({
              status: response.statusCode,
              type: response.headers['content-type'],
              body: text,
            }),
          );
        })
        .once('error', reject);
    });
    expect(status).to.equal(200);
    expect(type).to.match(/^text\/html/);
    expect(body).to.match(/<html/i);
  });

  it('stops every service on SIGTERM, exits 0 and frees the ports', async () => {
    run.child.kill('SIGTERM');
    const { code } = await run.exited;
    expect(code, run.output).to.equal(0);
    expect(run.output).to.match(
      /stopped: controller exited with code 0, manager exited with code 0, gateway exited with code 0/,
    );
    for (const port of Object.values(ports))
      expect(await isPortFree('127.0.0.1', port), `port ${port}`).to.equal(true);
  });
});
