// The controller's proxy overhead: StatFile (a small unary call) and ReadFile of 1 MB (a server
// stream) through controller → manager, beside the raw baseline from the same run: the same calls
// made directly to the manager. Uses the controller test stack (real issuer, manager, controller);
// N of each, prints medians and the added latency. The agent and its container are deleted.
const { randomBytes } = require('node:crypto');
const { credentials, Metadata } = require('@grpc/grpc-js');
const { controllerV1, managerV1 } = require('@agenstra/proto');
const { startControllerStack } = require('../services/controller/dist/testing/controller-stack.js');

const N = Number(process.env.BENCH_N ?? 200);
const MB = 1024 * 1024;

const median = (samples) => [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)];
const elapsedMs = (started) => Number(process.hrtime.bigint() - started) / 1e6;
const unary = (client, method, request, metadata = new Metadata()) =>
  new Promise((resolve, reject) =>
    client[method](request, metadata, (error, response) =>
      error ? reject(error) : resolve(response),
    ),
  );
const drain = async (stream) => {
  let bytes = 0;
  for await (const chunk of stream) bytes += chunk.data.length;
  return bytes;
};

async function measure(action) {
  for (let warm = 0; warm < 5; warm++) await action();
  const samples = [];
  for (let index = 0; index < N; index++) {
    const started = process.hrtime.bigint();
    await action();
    samples.push(elapsedMs(started));
  }
  return samples;
}

async function main() {
  const stack = await startControllerStack();
  const agentId = `bench-proxy-${Date.now().toString(36)}`;
  const controller = `127.0.0.1:${stack.controller.port}`;
  const agents = new controllerV1.AgentServiceClient(controller, credentials.createInsecure());
  const files = new controllerV1.FileServiceClient(controller, credentials.createInsecure());
  const direct = new managerV1.FileServiceClient(
    stack.managerEndpoint,
    credentials.createInsecure(),
  );
  const auth = new Metadata();
  auth.set('authorization', `Bearer ${await stack.tokenOf('alice')}`);
  const name = `clients/bench/agents/${agentId}`;
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
      await stack.tokenOf('alice'),
    );
    await unary(
      agents,
      'createAgent',
      controllerV1.CreateAgentRequest.fromPartial({
        parent: 'clients/bench',
        agentId,
        agent: { displayName: 'bench', type: 1 },
      }),
      auth,
    );
    await unary(
      files,
      'writeFile',
      controllerV1.WriteFileRequest.fromPartial({
        agent: name,
        path: 'one.mb',
        content: randomBytes(MB),
      }),
      auth,
    );
    const rows = [];
    const stat = { path: 'one.mb' };
    rows.push([
      'StatFile',
      median(await measure(() => unary(files, 'statFile', { agent: name, ...stat }, auth))),
      median(
        await measure(() => unary(direct, 'statFile', { agent: `agents/${agentId}`, ...stat })),
      ),
    ]);
    const read = controllerV1.ReadFileRequest.fromPartial({ path: 'one.mb', chunkSizeBytes: MB });
    rows.push([
      'ReadFile 1 MB',
      median(await measure(() => drain(files.readFile({ ...read, agent: name }, auth)))),
      median(await measure(() => drain(direct.readFile({ ...read, agent: `agents/${agentId}` })))),
    ]);
    console.log(
      `controller proxy, N=${N} each (median ms; baseline: the same call straight to the manager)`,
    );
    for (const [label, proxied, raw] of rows) {
      console.log(
        `  ${label.padEnd(14)} via controller ${proxied.toFixed(2)} ms   direct ${raw.toFixed(2)} ms   added ${(proxied - raw).toFixed(2)} ms`,
      );
    }
  } finally {
    await unary(agents, 'deleteAgent', { name, keepWorkspace: false }, auth).catch(() => undefined);
    agents.close();
    files.close();
    direct.close();
    await stack.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
