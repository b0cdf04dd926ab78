// Chat round trip with the echo agent: SendMessage → the assistant message on WatchAgent,
// through a started manager and a real agent container, beside a raw baseline from the same
// run: one line written to a container of the same image (its command echoes stdin lines)
// over `docker attach` and read back. N round trips each; prints p50 and p99. A chat round
// trip commits two rows (the user message, then the reply) that wait for PostgreSQL's WAL
// flush, so a second baseline times one such commit (a one-row insert over raw pg) on the same
// database: on a busy disk the flush, not the manager, is most of the figure.
const { randomUUID } = require('node:crypto');
const { mkdtempSync, rmSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const grpc = require('@grpc/grpc-js');
const { credentials } = grpc;
const Docker = require('dockerode');
const { managerV1, eventsV1 } = require('@agenstra/proto');
const { connect } = require('nats');
const pg = require('pg');
const { EVENT_STREAM } = require('@agenstra/shared');
const { inboxConsumerName } = require('../services/manager/dist/chat/chat-inbox.js');
const {
  startService,
  stopService,
  throwawayDatabase,
} = require('../services/shared/dist/testing/testing.js');

const N = Number(process.env.BENCH_N ?? 200);
const WARMUP = 10;
const IMAGE = process.env.AGENT_IMAGE ?? 'agenstra/agent:latest';
const BENCH_LABEL = 'agenstra.bench';
const MANAGER_MAIN = path.join(__dirname, '../services/manager/dist/main.js');

function percentile(samples, fraction) {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)];
}

function figureLine(label, samples) {
  const p50 = percentile(samples, 0.5).toFixed(2);
  const p99 = percentile(samples, 0.99).toFixed(2);
  return `${label.padEnd(48)} p50 ${p50.padStart(8)} ms   p99 ${p99.padStart(8)} ms   (n=${samples.length})`;
}

const unary = (client, method, request) =>
  new Promise((resolve, reject) =>
    client[method](request, (error, response) => (error ? reject(error) : resolve(response))),
  );

/** Raw baseline: a container of the agent image running `cat`, one line there and back. */
async function rawDockerAttachEcho(docker) {
  const container = await docker.createContainer({
    Image: IMAGE,
    Cmd: ['cat'],
    OpenStdin: true,
    StdinOnce: false,
    Tty: false,
    Labels: { [BENCH_LABEL]: 'chat' },
    HostConfig: { AutoRemove: false },
  });
  try {
    const stream = await container.attach({
      stream: true,
      stdin: true,
      stdout: true,
      stderr: true,
      hijack: true,
    });
    await container.start();
    let buffered = '';
    let waiting;
    const { PassThrough } = require('node:stream');
    const stdout = new PassThrough();
    stdout.on('data', (chunk) => {
      buffered += chunk.toString();
      const newline = buffered.indexOf('\n');
      if (newline >= 0 && waiting) {
        buffered = buffered.slice(newline + 1);
        const resolve = waiting;
        waiting = undefined;
        resolve();
      }
    });
    docker.modem.demuxStream(stream, stdout, new PassThrough());
    const roundTrip = () =>
      new Promise((resolve) => {
        waiting = resolve;
        stream.write(`${JSON.stringify({ type: 'message', id: randomUUID(), text: 'ping' })}\n`);
      });
    const samples = [];
    for (let index = 0; index < N + WARMUP; index++) {
      const started = process.hrtime.bigint();
      await roundTrip();
      if (index >= WARMUP) samples.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    stream.end();
    return samples;
  } finally {
    await container.remove({ force: true });
  }
}

/** Through the manager: SendMessage, then wait for the reply on an open WatchAgent stream. */
async function managerRoundTrip() {
  const database = throwawayDatabase('agenstra_chat_bench');
  const workspaces = mkdtempSync(path.join(os.tmpdir(), 'agenstra-chat-bench-'));
  const managerId = `chat-bench-${randomUUID().slice(0, 8)}`;
  const manager = await startService(MANAGER_MAIN, {
    DATABASE_URL: database.url,
    MANAGER_GRPC_PORT: '0',
    GRPC_HOST: '127.0.0.1',
    WORKSPACES_DIR: workspaces,
    MANAGER_STATE_DIR: workspaces,
    MANAGER_ID: managerId,
  });
  const address = `127.0.0.1:${manager.port}`;
  const agents = new managerV1.AgentServiceClient(address, credentials.createInsecure());
  const chat = new managerV1.ChatServiceClient(address, credentials.createInsecure());
  let agentName;
  try {
    const created = await unary(agents, 'createAgent', {
      agentId: `bench-${randomUUID().slice(0, 8)}`,
      agent: managerV1.Agent.fromPartial({
        displayName: 'chat bench',
        type: managerV1.AgentType.AGENT_TYPE_ECHO,
      }),
    });
    agentName = created.agent.name;
    const { sessionToken } = await unary(chat, 'login', {
      agent: agentName,
      password: created.password,
    });

    // A reply can overtake SendMessage's response: keep replies that nobody waits for yet.
    const waiting = new Map();
    const arrived = new Set();
    const watch = chat.watchAgent({
      agent: agentName,
      sessionToken,
      afterSequence: '0',
      includeDeltas: false,
    });
    watch.on('data', ({ event }) => {
      const value = event?.payload?.$case === 'chat' ? event.payload.value : undefined;
      if (value?.kind !== eventsV1.ChatEventKind.CHAT_EVENT_KIND_ASSISTANT_MESSAGE) return;
      const resolve = waiting.get(value.correlationId);
      if (resolve) resolve();
      else arrived.add(value.correlationId);
    });
    watch.on('error', () => undefined);
    const replyTo = (id) =>
      arrived.delete(id) ? Promise.resolve() : new Promise((resolve) => waiting.set(id, resolve));

    const commits = await rawCommits(database.url);
    const samples = [];
    for (let index = 0; index < N + WARMUP; index++) {
      const started = process.hrtime.bigint();
      const { message } = await unary(chat, 'sendMessage', {
        agent: agentName,
        sessionToken,
        clientMessageId: randomUUID(),
        text: `ping ${index}`,
        authorSubject: '',
        authorDisplayName: '',
      });
      await replyTo(message.id);
      waiting.delete(message.id);
      if (index >= WARMUP) samples.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    watch.cancel();
    return { samples, commits };
  } finally {
    if (agentName)
      await unary(agents, 'deleteAgent', { name: agentName, force: true }).catch(() => undefined);
    agents.close();
    chat.close();
    await stopService(manager);
    await deleteInboxConsumer(managerId);
    await database.drop();
    rmSync(workspaces, { recursive: true, force: true });
  }
}

/** Raw baseline: one durable (autocommitted) one-row insert over raw pg, N times. */
async function rawCommits(url) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('create table "bench_commit" ("id" uuid primary key, "text" text)');
    const samples = [];
    for (let index = 0; index < N + WARMUP; index++) {
      const started = process.hrtime.bigint();
      await client.query('insert into "bench_commit" values ($1, $2)', [randomUUID(), 'ping']);
      if (index >= WARMUP) samples.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    return samples;
  } finally {
    await client.end();
  }
}

/**
 * A trivial gRPC service with raw bytes as messages, served by grpc-js in a child process as the
 * manager is: Echo answers with the request; Push sends the request on every open Watch stream.
 */
const ECHO_SERVICE = {
  echo: rawMethod('/bench.Echo/Echo', false),
  push: rawMethod('/bench.Echo/Push', false),
  watch: rawMethod('/bench.Echo/Watch', true),
};

function rawMethod(methodPath, responseStream) {
  const same = (value) => value;
  return {
    path: methodPath,
    requestStream: false,
    responseStream,
    requestSerialize: same,
    requestDeserialize: same,
    responseSerialize: same,
    responseDeserialize: same,
  };
}

const ECHO_SERVER_FLAG = '--echo-server';

function echoServer() {
  const watchers = new Set();
  const server = new grpc.Server();
  server.addService(ECHO_SERVICE, {
    echo: (call, callback) => callback(null, call.request),
    push: (call, callback) => {
      callback(null, call.request);
      for (const watcher of watchers) watcher.write(call.request);
    },
    watch: (call) => {
      watchers.add(call);
      call.on('cancelled', () => watchers.delete(call));
    },
  });
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => {
    if (error) throw error;
    process.stdout.write(`${port}\n`);
  });
}

/**
 * Raw baselines over grpc-js on loopback, with the server in another process: a unary echo, and
 * the chat's layout without any work (a unary call whose request the server also writes to an
 * open server stream; the client waits for both).
 */
async function rawGrpc() {
  const child = spawn(process.execPath, [__filename, ECHO_SERVER_FLAG], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const port = await new Promise((resolve, reject) => {
      child.stdout.once('data', (chunk) => resolve(Number(chunk.toString().trim())));
      child.once('exit', (code) => reject(new Error(`echo server exited with ${code}`)));
    });
    const Client = grpc.makeGenericClientConstructor(ECHO_SERVICE, 'Echo');
    const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
    const payload = Buffer.from(JSON.stringify({ text: 'ping', id: randomUUID() }));
    const echo = () => unary(client, 'echo', payload);
    const unarySamples = await timed(echo);

    const waiting = new Map();
    const watch = client.watch(Buffer.alloc(0));
    watch.on('data', (data) => waiting.get(data.toString())?.());
    watch.on('error', () => undefined);
    await echo(); // the stream is open on the server once a later call is answered
    const pushed = () => {
      const id = randomUUID();
      const received = new Promise((resolve) => waiting.set(id, resolve));
      return Promise.all([unary(client, 'push', Buffer.from(id)), received]).then(() =>
        waiting.delete(id),
      );
    };
    const pushSamples = await timed(pushed);
    watch.cancel();
    client.close();
    return { unarySamples, pushSamples };
  } finally {
    child.kill();
  }
}

async function timed(roundTrip) {
  const samples = [];
  for (let index = 0; index < N + WARMUP; index++) {
    const started = process.hrtime.bigint();
    await roundTrip();
    if (index >= WARMUP) samples.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return samples;
}

/** A manager's durable inbox consumer outlives it by design; the bench manager's must go. */
async function deleteInboxConsumer(managerId) {
  const nats = await connect({ servers: process.env.NATS_URL ?? 'nats://127.0.0.1:4222' });
  const jsm = await nats.jetstreamManager();
  await jsm.consumers.delete(EVENT_STREAM, inboxConsumerName(managerId)).catch(() => false);
  await nats.close();
}

async function main() {
  const docker = new Docker();
  const raw = await rawDockerAttachEcho(docker);
  const { unarySamples, pushSamples } = await rawGrpc();
  const { samples: through, commits } = await managerRoundTrip();
  console.log(figureLine('raw docker attach echo (one line)', raw));
  console.log(figureLine('raw grpc-js unary echo (loopback, 2 processes)', unarySamples));
  console.log(figureLine('raw grpc-js unary + the same on a stream', pushSamples));
  console.log(figureLine('raw PostgreSQL commit (one-row insert, pg)', commits));
  console.log(figureLine('chat via manager (SendMessage → WatchAgent reply)', through));
  const overhead = percentile(through, 0.5) - percentile(raw, 0.5);
  console.log(`chat overhead at p50: ${overhead.toFixed(2)} ms`);
}

if (process.argv[2] === ECHO_SERVER_FLAG) {
  echoServer();
} else {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
