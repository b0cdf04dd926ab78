// Sessions: (1) one agent's chat fanned out to BENCH_SESSIONS (200) open OpenSession streams:
// delivery latency from SendChat to receipt of the persisted user message (p50/p99 over every
// stream, and the time until ALL streams have it), and chat events per second delivered across
// the streams during a burst; beside a raw NATS publish to the same number of subscriptions.
// (2) restoring BENCH_AGENTS (20) logged-in echo agents with their history after a reconnect: time
// from OpenSession with the resume token and cursors to `history_replayed` of every agent; beside
// BENCH_AGENTS concurrent raw NATS request/replies. Real issuer, manager, controller and agent
// containers (the controller test stack); the agents are deleted at the end.
const { randomUUID } = require('node:crypto');
const { credentials, Metadata } = require('@grpc/grpc-js');
const { connect } = require('nats');
const { controllerV1 } = require('@agenstra/proto');
const { startControllerStack } = require('../services/controller/dist/testing/controller-stack.js');

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 200);
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 20);
const BURST = Number(process.env.BENCH_BURST ?? 20);
const AGENTS = Number(process.env.BENCH_AGENTS ?? 20);
const RESTORES = Number(process.env.BENCH_RESTORES ?? 5);
const USER_MESSAGE = 1;

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;
const percentile = (samples, p) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};
const figures = (samples) =>
  `p50 ${percentile(samples, 50).toFixed(2)} ms  p99 ${percentile(samples, 99).toFixed(2)} ms`;
const unary = (client, method, request, metadata) =>
  new Promise((resolve, reject) =>
    client[method](request, metadata, (error, response) =>
      error ? reject(error) : resolve(response),
    ),
  );

/** One OpenSession stream; `waitFor(test)` resolves with the first event (past or future) passing it. */
function openStream(sessions, auth, request) {
  const stream = { events: [], waiters: [], call: undefined, failed: undefined };
  stream.call = sessions.openSession(controllerV1.OpenSessionRequest.fromPartial(request), auth);
  stream.call.on('data', ({ event }) => {
    const at = nowMs();
    stream.events.push(event);
    for (const waiter of [...stream.waiters]) {
      if (waiter.test(event)) {
        stream.waiters.splice(stream.waiters.indexOf(waiter), 1);
        waiter.resolve(at);
      }
    }
  });
  stream.call.on('error', (error) => {
    stream.failed = error;
    for (const waiter of stream.waiters.splice(0)) waiter.reject(error);
  });
  stream.waitFor = (test, what = 'an event', timeoutMs = 180_000) =>
    new Promise((resolve, reject) => {
      if (stream.events.some(test)) return resolve(nowMs());
      if (stream.failed) return reject(stream.failed);
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
      stream.waiters.push({
        test,
        resolve: (at) => (clearTimeout(timer), resolve(at)),
        reject: (error) => (clearTimeout(timer), reject(error)),
      });
    });
  stream.opened = () => stream.waitFor((event) => event.kind?.$case === 'opened');
  return stream;
}

const isUserMessage = (text) => (event) =>
  event.kind?.$case === 'chat' &&
  event.kind.value.kind === USER_MESSAGE &&
  event.kind.value.text === text;
const isReplayed = (agent) => (event) =>
  event.agent === agent && event.kind?.$case === 'historyReplayed';
const isReply = (agent, text) => (event) =>
  event.agent === agent &&
  event.kind?.$case === 'chat' &&
  event.kind.value.text === `echo: ${text}`;

async function natsFanOut(subscribers) {
  const publisher = await connect({ servers: process.env.NATS_URL ?? '127.0.0.1:4222' });
  const receiver = await connect({ servers: process.env.NATS_URL ?? '127.0.0.1:4222' });
  const subject = `bench.sessions.${randomUUID()}`;
  const pending = new Map();
  for (let index = 0; index < subscribers; index++) {
    receiver.subscribe(subject, {
      callback: (_, message) => {
        const at = nowMs();
        const waiting = pending.get(message.string());
        if (waiting) waiting.arrived(at);
      },
    });
  }
  await receiver.flush();
  const expect = (text, count) =>
    new Promise((resolve) => {
      const times = [];
      pending.set(text, {
        arrived: (at) => {
          times.push(at);
          if (times.length === count) resolve(times);
        },
      });
    });
  const latencies = [];
  const allStreams = [];
  for (let index = 0; index < MESSAGES; index++) {
    const text = `raw-${index}`;
    const arrived = expect(text, subscribers);
    const sent = nowMs();
    publisher.publish(subject, text);
    const times = await arrived;
    for (const at of times) latencies.push(at - sent);
    allStreams.push(Math.max(...times) - sent);
  }
  const burst = Array.from({ length: BURST }, (_, index) => expect(`burst-${index}`, subscribers));
  const started = nowMs();
  for (let index = 0; index < BURST; index++) publisher.publish(subject, `burst-${index}`);
  await Promise.all(burst);
  const perSecond = (BURST * subscribers) / ((nowMs() - started) / 1000);
  await publisher.close();
  await receiver.close();
  return { latencies, allStreams, perSecond };
}

async function natsRequests(count) {
  const responder = await connect({ servers: process.env.NATS_URL ?? '127.0.0.1:4222' });
  const requester = await connect({ servers: process.env.NATS_URL ?? '127.0.0.1:4222' });
  const subject = `bench.sessions.restore.${randomUUID()}`;
  responder.subscribe(subject, { callback: (_, message) => message.respond(message.data) });
  await responder.flush();
  const samples = [];
  for (let round = 0; round < RESTORES + 1; round++) {
    const started = nowMs();
    await Promise.all(
      Array.from({ length: count }, (_, index) => requester.request(subject, `agent-${index}`)),
    );
    if (round > 0) samples.push(nowMs() - started);
  }
  await requester.close();
  await responder.close();
  return samples;
}

async function main() {
  const stack = await startControllerStack();
  const address = `127.0.0.1:${stack.controller.port}`;
  const agentsService = new controllerV1.AgentServiceClient(address, credentials.createInsecure());
  const sessions = new controllerV1.SessionServiceClient(address, credentials.createInsecure());
  const token = await stack.tokenOf('alice');
  const auth = new Metadata();
  auth.set('authorization', `Bearer ${token}`);
  const names = [];
  const streams = [];
  const createAgent = async (agentId) => {
    await unary(
      agentsService,
      'createAgent',
      controllerV1.CreateAgentRequest.fromPartial({
        parent: 'clients/bench',
        agentId,
        agent: { displayName: 'bench', type: 1 },
      }),
      auth,
    );
    const name = `clients/bench/agents/${agentId}`;
    names.push(name);
    return name;
  };
  const login = (session, agent) =>
    unary(sessions, 'login', { session, agent, password: '', afterSequence: '0' }, auth);
  const send = (session, agent, text) =>
    unary(sessions, 'sendChat', { session, agent, clientMessageId: randomUUID(), text }, auth);
  try {
    await stack.call(
      stack.clients,
      stack.clients.createClient,
      {
        clientId: 'bench',
        client: controllerV1.Client.fromPartial({
          displayName: 'bench',
          endpoint: stack.managerEndpoint,
          auth: { $case: 'apiKey', value: { apiKey: '', apiKeyHint: '' } },
        }),
      },
      token,
    );
    const run = Date.now().toString(36);

    // (1) Fan-out of one agent to SESSIONS streams.
    const agent = await createAgent(`bench-fan-${run}`);
    for (let index = 0; index < SESSIONS; index++) {
      streams.push(openStream(sessions, auth, { client: 'clients/bench' }));
    }
    await Promise.all(streams.map((stream) => stream.opened()));
    const sessionOf = (stream) => stream.events[0].kind.value.session;
    for (let index = 0; index < SESSIONS; index += 20) {
      await Promise.all(
        streams.slice(index, index + 20).map(async (stream) => {
          await login(sessionOf(stream), agent);
          await stream.waitFor(isReplayed(agent));
        }),
      );
    }
    const sender = sessionOf(streams[0]);
    await send(sender, agent, 'warm-up');
    await Promise.all(streams.map((stream) => stream.waitFor(isReply(agent, 'warm-up'))));
    const latencies = [];
    const allStreams = [];
    for (let index = 0; index < MESSAGES; index++) {
      const text = `fan-${index}`;
      const arrivals = Promise.all(streams.map((stream) => stream.waitFor(isUserMessage(text))));
      const sent = nowMs();
      await send(sender, agent, text);
      const times = await arrivals;
      for (const at of times) latencies.push(at - sent);
      allStreams.push(Math.max(...times) - sent);
      // The echo reply is part of the same fan-out; let it pass before the next sample.
      await Promise.all(streams.map((stream) => stream.waitFor(isReply(agent, text))));
    }
    const burstTexts = Array.from({ length: BURST }, (_, index) => `burst-${index}`);
    const burstArrivals = Promise.all(
      streams.flatMap((stream) => burstTexts.map((text) => stream.waitFor(isReply(agent, text)))),
    );
    const burstStarted = nowMs();
    await Promise.all(burstTexts.map((text) => send(sender, agent, text)));
    await burstArrivals;
    // Each message is two persisted chat events (the user's and the echo), plus its deltas.
    const perSecond = (BURST * 2 * SESSIONS) / ((nowMs() - burstStarted) / 1000);
    for (const stream of streams.splice(0)) stream.call.cancel();
    const raw = await natsFanOut(SESSIONS);

    console.log(
      `session fan-out: 1 agent → ${SESSIONS} streams, ${MESSAGES} sequential messages, burst of ${BURST}`,
    );
    console.log(`  SendChat → each stream     ${figures(latencies)}`);
    console.log(`  raw NATS → each subscriber ${figures(raw.latencies)}`);
    console.log(`  SendChat → all streams     ${figures(allStreams)}`);
    console.log(`  raw NATS → all subscribers ${figures(raw.allStreams)}`);
    console.log(
      `  burst: ${Math.round(perSecond)} chat events/s delivered across streams; raw NATS ${Math.round(raw.perSecond)} messages/s across subscribers`,
    );

    // (2) Restore of AGENTS logged-in agents after a reconnect.
    const agents = [];
    for (let index = 0; index < AGENTS; index++) {
      agents.push(await createAgent(`bench-restore-${run}-${index}`));
    }
    let stream = openStream(sessions, auth, { client: 'clients/bench' });
    streams.push(stream);
    await stream.opened();
    const session = sessionOf(stream);
    await Promise.all(
      agents.map(async (name) => {
        await login(session, name);
        await stream.waitFor(isReplayed(name), `${name} logged in`);
        await send(session, name, 'history');
        await stream.waitFor(isReply(name, 'history'), `the first reply of ${name}`);
      }),
    );
    const samples = [];
    for (let round = 0; round < RESTORES + 1; round++) {
      const resumeToken = stream.events[0].kind.value.resumeToken;
      stream.call.cancel();
      await new Promise((resolve) => setTimeout(resolve, 200));
      const started = nowMs();
      stream = openStream(sessions, auth, {
        client: 'clients/bench',
        resumeToken,
        cursors: agents.map((name) => ({ agent: name, lastSequence: '0' })),
      });
      streams.push(stream);
      await Promise.all(agents.map((name) => stream.waitFor(isReplayed(name), `${name} restored`)));
      if (round > 0) samples.push(nowMs() - started);
      const replayed = stream.events.filter((event) => event.kind?.$case === 'chat').length;
      if (replayed < 2 * AGENTS) throw new Error(`only ${replayed} history events replayed`);
    }
    const rawRestore = await natsRequests(AGENTS);
    console.log(
      `session restore: ${AGENTS} logged-in agents with their history, ${RESTORES} reconnects`,
    );
    console.log(`  OpenSession(resume) → all history_replayed ${figures(samples)}`);
    console.log(`  raw NATS request/reply ×${AGENTS} (concurrent)  ${figures(rawRestore)}`);
  } finally {
    for (const stream of streams) stream.call.cancel();
    for (const name of names) {
      await unary(agentsService, 'deleteAgent', { name, keepWorkspace: false }, auth).catch(
        () => undefined,
      );
    }
    agentsService.close();
    sessions.close();
    await stack.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
