// File read and write of 1 MB and 10 MB through a started manager's FileService (gRPC over
// loopback: WriteFile for 1 MB, a chunked upload for 10 MB, ReadFile streamed in 1 MiB chunks),
// beside a raw baseline from the same run: fs.writeFile / fs.readFile of the same sizes in a
// directory on the same disk. N of each; prints medians and MB/s. The agent and its container are
// deleted afterwards.
const { randomBytes, randomUUID } = require('node:crypto');
const { mkdtempSync, promises: fs, rmSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { credentials } = require('@grpc/grpc-js');
const { managerV1, eventsV1 } = require('@agenstra/proto');
const {
  startService,
  stopService,
  throwawayDatabase,
} = require('../services/shared/dist/testing/testing.js');

const N = Number(process.env.BENCH_N ?? 20);
const MB = 1024 * 1024;
const SIZES = [1 * MB, 10 * MB];
const CHUNK = MB;
const MANAGER_MAIN = path.join(__dirname, '../services/manager/dist/main.js');

const median = (samples) => [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)];
const elapsedMs = (started) => Number(process.hrtime.bigint() - started) / 1e6;
const unary = (client, method, request) =>
  new Promise((resolve, reject) =>
    client[method](request, (error, response) => (error ? reject(error) : resolve(response))),
  );

async function measure(action) {
  await action(); // warm-up, not counted
  const samples = [];
  for (let index = 0; index < N; index++) {
    const started = process.hrtime.bigint();
    await action();
    samples.push(elapsedMs(started));
  }
  return samples;
}

async function writeThroughService(client, agent, filePath, content) {
  if (content.length <= 2 * MB) {
    await unary(
      client,
      'writeFile',
      managerV1.WriteFileRequest.fromPartial({ agent, path: filePath, content }),
    );
    return;
  }
  const upload = await unary(
    client,
    'beginFileUpload',
    managerV1.BeginFileUploadRequest.fromPartial({
      agent,
      path: filePath,
      sizeBytes: String(content.length),
    }),
  );
  for (let offset = 0; offset < content.length; offset += CHUNK) {
    await unary(
      client,
      'writeFileChunk',
      managerV1.WriteFileChunkRequest.fromPartial({
        agent,
        uploadId: upload.uploadId,
        offset: String(offset),
        data: content.subarray(offset, offset + CHUNK),
      }),
    );
  }
  await unary(client, 'commitFileUpload', { agent, uploadId: upload.uploadId, contentSha256: '' });
}

function readThroughService(client, agent, filePath) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    const stream = client.readFile(
      managerV1.ReadFileRequest.fromPartial({ agent, path: filePath, chunkSizeBytes: CHUNK }),
    );
    stream.on('data', (chunk) => chunks.push(chunk.data));
    stream.on('error', reject);
    stream.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

function line(label, size, samples) {
  const ms = median(samples);
  const rate = size / MB / (ms / 1000);
  return `${label.padEnd(44)} median ${ms.toFixed(2).padStart(8)} ms  ${rate.toFixed(0).padStart(6)} MB/s  (n=${samples.length}, min ${Math.min(...samples).toFixed(2)}, max ${Math.max(...samples).toFixed(2)})`;
}

async function main() {
  const database = throwawayDatabase('agenstra_files_bench');
  const workspaces = mkdtempSync(path.join(os.tmpdir(), 'agenstra-files-bench-'));
  const rawDir = mkdtempSync(path.join(os.tmpdir(), 'agenstra-files-bench-raw-'));
  const manager = await startService(MANAGER_MAIN, {
    DATABASE_URL: database.url,
    MANAGER_GRPC_PORT: '0',
    GRPC_HOST: '127.0.0.1',
    WORKSPACES_DIR: workspaces,
    MANAGER_STATE_DIR: workspaces,
    MANAGER_ID: `files-bench-${randomUUID().slice(0, 8)}`,
    LOG_LEVEL: 'info',
  });
  const address = `127.0.0.1:${manager.port}`;
  const options = { 'grpc.max_receive_message_length': 64 * MB };
  const agents = new managerV1.AgentServiceClient(address, credentials.createInsecure(), options);
  const files = new managerV1.FileServiceClient(address, credentials.createInsecure(), options);
  let agentName;
  const progress = (text) => process.stderr.write(`${text}\n`);
  try {
    progress('creating the agent');
    const { agent } = await unary(agents, 'createAgent', {
      agentId: 'files-bench',
      agent: managerV1.Agent.fromPartial({
        displayName: 'files bench',
        type: managerV1.AgentType.AGENT_TYPE_ECHO,
      }),
    });
    agentName = agent.name;
    let state = agent.state;
    while (state !== eventsV1.AgentState.AGENT_STATE_RUNNING) {
      if (state === eventsV1.AgentState.AGENT_STATE_FAILED) throw new Error(agent.stateReason);
      state = (await unary(agents, 'getAgent', { name: agentName })).agent.state;
    }

    progress(`agent ${agentName} running`);
    for (const size of SIZES) {
      const content = randomBytes(size);
      const label = `${size / MB} MB`;
      const rawFile = path.join(rawDir, `raw-${label}.bin`);
      const rawWrite = await measure(() => fs.writeFile(rawFile, content));
      const rawRead = await measure(() => fs.readFile(rawFile));
      const filePath = `bench/${size / MB}mb.bin`;
      await unary(files, 'createDirectory', {
        agent: agentName,
        path: 'bench',
        createParents: true,
      }).catch(() => {});
      const serviceWrite = await measure(() =>
        writeThroughService(files, agentName, filePath, content),
      );
      const serviceRead = await measure(async () => {
        const read = await readThroughService(files, agentName, filePath);
        if (!read.equals(content)) throw new Error('read back different bytes');
      });
      console.log(line(`write ${label}: fs.writeFile (baseline)`, size, rawWrite));
      console.log(
        line(
          `write ${label}: FileService ${size <= 2 * MB ? 'WriteFile' : 'upload'}`,
          size,
          serviceWrite,
        ),
      );
      console.log(line(`read  ${label}: fs.readFile (baseline)`, size, rawRead));
      console.log(line(`read  ${label}: FileService ReadFile stream`, size, serviceRead));
      console.log(
        `ratio (median) ${label}: write ${(median(serviceWrite) / median(rawWrite)).toFixed(1)}x, ` +
          `read ${(median(serviceRead) / median(rawRead)).toFixed(1)}x`,
      );
    }
  } finally {
    if (agentName)
      await unary(agents, 'deleteAgent', { name: agentName, keepWorkspace: false }).catch(() => {});
    agents.close();
    files.close();
    await stopService(manager);
    await database.drop();
    rmSync(workspaces, { recursive: true, force: true });
    rmSync(rawDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
