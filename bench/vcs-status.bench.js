// VcsService.GetStatus on a repository of 1,000 files (10 modified, 5 untracked) in a real agent
// container, through the built Vcs (dist) with its Engine API exec, beside the raw baseline from
// the same run: `docker exec <container> git status` with the docker CLI. N of each after a
// warm-up; prints p50 and p99. The container and its workspace are removed afterwards.
const { randomBytes } = require('node:crypto');
const { execFile } = require('node:child_process');
const { mkdtempSync, rmSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { promisify } = require('node:util');
const { createLogger } = require('../services/shared/dist/index.js');
const { ContainerRuntime } = require('../services/manager/dist/runtime/container-runtime.js');
const { createDockerClient } = require('../services/manager/dist/runtime/docker-client.js');
const { ContainerExec } = require('../services/manager/dist/vcs/git-exec.js');
const { ContainerSessions } = require('../services/manager/dist/vcs/container-sessions.js');
const { Vcs } = require('../services/manager/dist/vcs/vcs.js');

const execFileAsync = promisify(execFile);
const N = Number(process.env.BENCH_N ?? 50);
const FILES = 1000;

const elapsedMs = (started) => Number(process.hrtime.bigint() - started) / 1e6;
const percentile = (samples, p) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};

async function measure(action) {
  await action();
  const samples = [];
  for (let index = 0; index < N; index++) {
    const started = process.hrtime.bigint();
    await action();
    samples.push(elapsedMs(started));
  }
  return samples;
}

async function main() {
  const logger = createLogger({ service: 'vcs-bench', level: 'silent' });
  const docker = createDockerClient(process.env.DOCKER_HOST);
  const workspaces = mkdtempSync(path.join(os.tmpdir(), 'agenstra-vcs-bench-'));
  const runtime = new ContainerRuntime({
    docker,
    managerId: `vcs-bench-${randomBytes(4).toString('hex')}`,
    workspacesDir: workspaces,
    logger,
    commandOverride: ['sleep', 'infinity'],
    extraLabels: { 'agenstra.test': 'vcs-bench' },
  });
  const agentId = `vcs-bench-${randomBytes(4).toString('hex')}`;
  await runtime.prepareWorkspace(agentId);
  const containerId = await runtime.create({
    agentId,
    image: process.env.AGENT_IMAGE ?? 'agenstra/agent:latest',
    cpuMillis: 2000,
    memoryBytes: 1024 ** 3,
    pidsLimit: 256,
    environment: {},
  });
  try {
    await runtime.start(containerId);
    const exec = new ContainerExec(docker);
    const setup = await exec.run(containerId, [
      'sh',
      '-c',
      `git init -q -b main . && mkdir -p src &&
         i=0; while [ $i -lt ${FILES} ]; do printf 'file %s\\n' $i > src/f$i.txt; i=$((i+1)); done &&
         git add -A && git -c user.name=b -c user.email=b@x commit -q -m base &&
         for i in 1 2 3 4 5 6 7 8 9 10; do echo changed >> src/f$i.txt; done &&
         for i in 1 2 3 4 5; do echo new > new$i.txt; done`,
    ]);
    if (setup.exitCode !== 0) throw new Error(setup.stderr);
    const sessions = new ContainerSessions(docker, exec, logger);
    const vcs = new Vcs({
      exec: sessions,
      resolve: async () => ({ containerId }),
      publisher: undefined,
      defaultAuthor: { name: 'b', email: 'b@x' },
      logger,
    });
    const status = await vcs.getStatus(agentId);
    if (status.entries.length !== 15)
      throw new Error(`expected 15 entries, got ${status.entries.length}`);

    const service = await measure(() => vcs.getStatus(agentId));
    const raw = await measure(() =>
      execFileAsync('docker', [
        'exec',
        '-u',
        '1000:1000',
        '-w',
        '/workspace',
        containerId,
        'git',
        'status',
      ]),
    );
    const show = (label, samples) =>
      console.log(
        `${label.padEnd(52)} p50 ${percentile(samples, 50).toFixed(1).padStart(7)} ms   p99 ${percentile(samples, 99).toFixed(1).padStart(7)} ms`,
      );
    console.log(`GetStatus, ${FILES} files (10 modified, 5 untracked), N=${N}`);
    const plain = new Vcs({
      exec,
      resolve: async () => ({ containerId }),
      publisher: undefined,
      defaultAuthor: { name: 'b', email: 'b@x' },
      logger,
    });
    const perExec = await measure(() => plain.getStatus(agentId));
    sessions.close();
    show('Vcs.getStatus (helper session: the manager path)', service);
    show('Vcs.getStatus (one docker exec per call)', perExec);
    show('raw: docker exec <container> git status', raw);
  } finally {
    await runtime.remove(containerId).catch(() => undefined);
    rmSync(workspaces, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
