// Agent create-to-running: CreateAgent through a started manager until GetAgent reports RUNNING,
// beside a raw baseline from the same run: `docker run -d` of the same image (the CLI returns once
// the container has started). N of each, interleaved (raw, manager, raw, ...) so that load from
// other processes on the machine weighs on both sides alike; prints medians. Every container is
// labelled and removed.
const { execFileSync } = require('node:child_process');
const { randomUUID } = require('node:crypto');
const { mkdtempSync, rmSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { credentials } = require('@grpc/grpc-js');
const { managerV1, eventsV1 } = require('@agenstra/proto');
const {
  startService,
  stopService,
  throwawayDatabase,
} = require('../services/shared/dist/testing/testing.js');

const N = Number(process.env.BENCH_N ?? 10);
const IMAGE = process.env.AGENT_IMAGE ?? 'agenstra/agent:latest';
const BENCH_LABEL = 'agenstra.bench=agents';
const MANAGER_MAIN = path.join(__dirname, '../services/manager/dist/main.js');

const median = (samples) => [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)];
const elapsedMs = (started) => Number(process.hrtime.bigint() - started) / 1e6;
const figureLine = (label, samples) =>
  `${label.padEnd(52)} median ${median(samples).toFixed(0).padStart(6)} ms   (n=${samples.length}, ` +
  `min ${Math.min(...samples).toFixed(0)}, max ${Math.max(...samples).toFixed(0)})`;

const unary = (client, method, request) =>
  new Promise((resolve, reject) =>
    client[method](request, (error, response) => (error ? reject(error) : resolve(response))),
  );

function rawDockerRun() {
  const started = process.hrtime.bigint();
  const id = execFileSync('docker', ['run', '-d', '--label', BENCH_LABEL, IMAGE], {
    encoding: 'utf8',
  }).trim();
  const elapsed = elapsedMs(started);
  execFileSync('docker', ['rm', '-f', id], { stdio: 'ignore' });
  return elapsed;
}

async function createUntilRunning(client, agentId) {
  const started = process.hrtime.bigint();
  const { agent } = await unary(client, 'createAgent', {
    agentId,
    agent: managerV1.Agent.fromPartial({
      displayName: 'create bench',
      type: managerV1.AgentType.AGENT_TYPE_ECHO,
    }),
  });
  let state = agent.state;
  while (state !== eventsV1.AgentState.AGENT_STATE_RUNNING) {
    if (state === eventsV1.AgentState.AGENT_STATE_FAILED) throw new Error(agent.stateReason);
    state = (await unary(client, 'getAgent', { name: agent.name })).agent.state;
  }
  const elapsed = elapsedMs(started);
  await unary(client, 'deleteAgent', { name: agent.name, keepWorkspace: false });
  return elapsed;
}

async function measure() {
  const database = throwawayDatabase('agenstra_agents_bench');
  const workspaces = mkdtempSync(path.join(os.tmpdir(), 'agenstra-agents-bench-'));
  const manager = await startService(MANAGER_MAIN, {
    DATABASE_URL: database.url,
    MANAGER_GRPC_PORT: '0',
    GRPC_HOST: '127.0.0.1',
    WORKSPACES_DIR: workspaces,
    MANAGER_STATE_DIR: workspaces,
    MANAGER_ID: `agents-bench-${randomUUID().slice(0, 8)}`,
    // startService waits for the info-level "listening" line.
    LOG_LEVEL: 'info',
  });
  const client = new managerV1.AgentServiceClient(
    `127.0.0.1:${manager.port}`,
    credentials.createInsecure(),
  );
  const raw = [];
  const through = [];
  try {
    for (let index = 0; index < N; index++) {
      raw.push(rawDockerRun());
      through.push(await createUntilRunning(client, `bench-${index}`));
    }
    return { raw, through };
  } finally {
    client.close();
    await stopService(manager);
    await database.drop();
    rmSync(workspaces, { recursive: true, force: true });
  }
}

async function main() {
  // One throw-away run first, so neither side pays for a cold image cache.
  execFileSync(
    'docker',
    [
      'rm',
      '-f',
      execFileSync('docker', ['run', '-d', '--label', BENCH_LABEL, IMAGE], {
        encoding: 'utf8',
      }).trim(),
    ],
    { stdio: 'ignore' },
  );
  const { raw, through } = await measure();
  console.log(figureLine('raw `docker run -d` (baseline)', raw));
  console.log(figureLine('CreateAgent until RUNNING (labels, limits, git init, attach)', through));
  console.log(`ratio (median): ${(median(through) / median(raw)).toFixed(2)}x`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
