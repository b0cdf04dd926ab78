import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { credentials, Metadata, status, type ClientReadableStream } from '@grpc/grpc-js';
import { controllerV1, eventsV1, managerV1 } from '@agenstra/proto';
import { SecretBox } from '@agenstra/shared';
import {
  logEntry,
  startService,
  stopService,
  throwawayDatabase,
  type RunningService,
} from '@agenstra/shared/testing';
import { expect } from 'chai';
import {
  failureOf,
  startControllerStack,
  type ControllerStack,
} from '../testing/controller-stack.js';
import { agentPasswordSecret } from '../vault/vault.js';

const MANAGER_MAIN = path.resolve(__dirname, '..', '..', '..', 'manager', 'dist', 'main.js');
// Container names are global to the engine: a suffix keeps parallel runs apart.
const RUN = Math.random().toString(36).slice(2, 8);

describe('controller proxy to managers', function () {
  this.timeout(180_000);
  let stack: ControllerStack;
  let alice: string;
  let bob: string;
  let agents: controllerV1.AgentServiceClient;
  let files: controllerV1.FileServiceClient;
  const createdAgents: string[] = [];

  before(async () => {
    stack = await startControllerStack();
    [alice, bob] = await Promise.all(['alice', 'bob'].map((who) => stack.tokenOf(who)));
    const address = `127.0.0.1:${stack.controller.port}`;
    agents = new controllerV1.AgentServiceClient(address, credentials.createInsecure());
    files = new controllerV1.FileServiceClient(address, credentials.createInsecure());
  });

  after(async () => {
    agents?.close();
    files?.close();
    removeContainers(createdAgents);
    await stack?.stop();
  });

  const apiKeyClient = (endpoint: string) =>
    controllerV1.Client.fromPartial({
      displayName: 'Proxy manager',
      endpoint,
      auth: { $case: 'apiKey', value: { apiKey: '', apiKeyHint: '' } },
    });
  const createClient = (clientId: string, endpoint: string) =>
    stack.call(
      stack.clients,
      stack.clients.createClient,
      { client: apiKeyClient(endpoint), clientId },
      alice,
    );
  async function createEchoAgent(clientId: string, agentId: string) {
    createdAgents.push(agentId);
    return stack.call(
      agents,
      agents.createAgent,
      controllerV1.CreateAgentRequest.fromPartial({
        parent: `clients/${clientId}`,
        agentId,
        agent: { displayName: 'proxied', type: managerV1.AgentType.AGENT_TYPE_ECHO },
      }),
      alice,
    );
  }
  async function waitUntilRunning(name: string): Promise<void> {
    for (let attempt = 0; attempt < 300; attempt++) {
      const { agent } = await stack.call(agents, agents.getAgent, { name }, alice);
      if (agent?.state === eventsV1.AgentState.AGENT_STATE_RUNNING) return;
      if (agent?.state === eventsV1.AgentState.AGENT_STATE_FAILED) {
        throw new Error(`agent ${name} failed: ${agent.stateReason}`);
      }
      await sleep(200);
    }
    throw new Error(`agent ${name} never ran`);
  }

  describe('with the stack manager', () => {
    const clientId = `proxied-${RUN}`;
    const agentId = `proxied-agent-${RUN}`;
    const name = `clients/${clientId}/agents/${agentId}`;
    let managerAgents: managerV1.AgentServiceClient;
    let managerFiles: managerV1.FileServiceClient;

    before(async () => {
      await createClient(clientId, stack.managerEndpoint);
      managerAgents = new managerV1.AgentServiceClient(
        stack.managerEndpoint,
        credentials.createInsecure(),
      );
      managerFiles = new managerV1.FileServiceClient(
        stack.managerEndpoint,
        credentials.createInsecure(),
      );
    });
    after(() => {
      managerAgents?.close();
      managerFiles?.close();
    });

    it('creates the agent on the manager, names it under the client, and keeps its password in the vault, not in the response', async () => {
      const created = await createEchoAgent(clientId, agentId);
      expect(created.agent?.name).to.equal(name);
      expect(created.password).to.equal('');

      const onManager = await stack.call(managerAgents, managerAgents.getAgent, {
        name: `agents/${agentId}`,
      });
      expect(onManager.agent?.displayName).to.equal('proxied');

      const [secret] = await stack.query<{ key_id: string; sealed: string }>(
        'select key_id, sealed from controller.vault_secret where client_id = $1 and name = $2',
        [clientId, agentPasswordSecret(agentId)],
      );
      expect(secret.key_id).to.equal(stack.secretKey.id);
      expect(secret.sealed).to.match(/^sb1\./);
      const password = new SecretBox([stack.secretKey]).openString(
        secret.sealed,
        `clients/${clientId}/${agentPasswordSecret(agentId)}`,
      );
      // The vaulted password is the one the manager accepts for this agent.
      const chat = new managerV1.ChatServiceClient(
        stack.managerEndpoint,
        credentials.createInsecure(),
      );
      try {
        const login = await stack.call(chat, chat.login, {
          agent: `agents/${agentId}`,
          password,
        });
        expect(login.sessionToken).to.not.equal('');
      } finally {
        chat.close();
      }

      const listed = await stack.call(
        agents,
        agents.listAgents,
        { parent: `clients/${clientId}`, pageSize: 0, pageToken: '' },
        alice,
      );
      expect(listed.agents.map((agent) => agent.name)).to.deep.equal([name]);
    });

    it('writes and reads a file of the agent workspace through the manager', async () => {
      const content = Buffer.from('proxied bytes \u0000\u00ff', 'latin1');
      const written = await stack.call(
        files,
        files.writeFile,
        controllerV1.WriteFileRequest.fromPartial({
          agent: name,
          path: 'notes/proxied.bin',
          content,
          createParents: true,
        }),
        alice,
      );
      expect(written.file?.path).to.equal('notes/proxied.bin');
      const chunks = await collect(
        files.readFile(
          controllerV1.ReadFileRequest.fromPartial({ agent: name, path: 'notes/proxied.bin' }),
          bearer(alice),
        ),
      );
      expect(Buffer.concat(chunks.map((chunk) => chunk.data))).to.deep.equal(content);
      expect(chunks[0].file?.name).to.equal('proxied.bin');
    });

    it("passes the manager's status code and message through unchanged", async () => {
      const direct = await failureOf(
        collect(
          managerFiles.readFile(
            managerV1.ReadFileRequest.fromPartial({
              agent: `agents/${agentId}`,
              path: 'missing.txt',
            }),
          ),
        ),
      );
      const proxied = await failureOf(
        collect(
          files.readFile(
            controllerV1.ReadFileRequest.fromPartial({ agent: name, path: 'missing.txt' }),
            bearer(alice),
          ),
        ),
      );
      expect(direct.code).to.equal(status.NOT_FOUND);
      expect(proxied).to.deep.equal(direct);

      const invalid = await failureOf(
        stack.call(
          files,
          files.writeFile,
          controllerV1.WriteFileRequest.fromPartial({ agent: name, path: '../escape' }),
          alice,
        ),
      );
      expect(invalid.code).to.equal(status.INVALID_ARGUMENT);
    });

    it("answers NOT_FOUND for another user's client, as for one that does not exist", async () => {
      const bobsView = await failureOf(stack.call(agents, agents.getAgent, { name }, bob));
      const nowhere = await failureOf(
        stack.call(agents, agents.getAgent, { name: `clients/nowhere/agents/${agentId}` }, bob),
      );
      expect(bobsView.code).to.equal(status.NOT_FOUND);
      expect(bobsView.details).to.equal(`client clients/${clientId} not found`);
      expect(nowhere.code).to.equal(status.NOT_FOUND);
      const bobsRead = await failureOf(
        collect(
          files.readFile(
            controllerV1.ReadFileRequest.fromPartial({ agent: name, path: 'notes/proxied.bin' }),
            bearer(bob),
          ),
        ),
      );
      expect(bobsRead.code).to.equal(status.NOT_FOUND);
    });

    it('refuses a malformed agent name with INVALID_ARGUMENT before reaching any manager', async () => {
      const failure = await failureOf(
        stack.call(agents, agents.getAgent, { name: `agents/${agentId}` }, alice),
      );
      expect(failure.code).to.equal(status.INVALID_ARGUMENT);
      expect(failure.details).to.contain('clients/{client}/agents/{agent}');
    });

    it('requires a signed-in caller', async () => {
      const failure = await failureOf(stack.call(agents, agents.getAgent, { name }));
      expect(failure.code).to.equal(status.UNAUTHENTICATED);
    });

    it('deletes the agent on the manager and its password from the vault', async () => {
      await stack.call(agents, agents.deleteAgent, { name, keepWorkspace: false }, alice);
      const gone = await failureOf(
        stack.call(managerAgents, managerAgents.getAgent, { name: `agents/${agentId}` }),
      );
      expect(gone.code).to.equal(status.NOT_FOUND);
      expect(
        await stack.query(
          'select name from controller.vault_secret where client_id = $1 and name = $2',
          [clientId, agentPasswordSecret(agentId)],
        ),
      ).to.deep.equal([]);
    });
  });

  describe('with a manager that stops and comes back', () => {
    const clientId = `restarting-${RUN}`;
    const agentId = `restarting-agent-${RUN}`;
    const managerId = `proxy-test-manager-${RUN}`;
    const name = `clients/${clientId}/agents/${agentId}`;
    const database = throwawayDatabase('agenstra_proxy_test_manager');
    const workspaces = fs.mkdtempSync(path.join(os.tmpdir(), 'agenstra-proxy-test-'));
    let port: number;
    let manager: RunningService | undefined;
    const startManager = async () => {
      manager = await startService(MANAGER_MAIN, {
        DATABASE_URL: database.url,
        MANAGER_GRPC_PORT: String(port),
        GRPC_HOST: '127.0.0.1',
        MANAGER_ID: managerId,
        WORKSPACES_DIR: workspaces,
        SHUTDOWN_GRACE_MS: '2s',
      });
    };

    before(async () => {
      port = await freePort();
      await startManager();
      await createClient(clientId, `127.0.0.1:${port}`);
      await createEchoAgent(clientId, agentId);
      await waitUntilRunning(name);
    });
    after(async () => {
      if (manager) await stopService(manager);
      removeContainers([agentId]);
      await database.drop();
      fs.rmSync(workspaces, { recursive: true, force: true });
    });

    it("cancels the manager's stream when the caller cancels, and ends it at the caller's deadline", async () => {
      const cancelled = agents.streamAgentLogs(
        controllerV1.StreamAgentLogsRequest.fromPartial({ name, follow: true }),
        bearer(alice),
      );
      const cancelledEnd = endOf(cancelled);
      await new Promise((resolve) => cancelled.once('metadata', resolve));
      cancelled.cancel();
      expect((await cancelledEnd).code).to.equal(status.CANCELLED);

      const expiring = agents.streamAgentLogs(
        controllerV1.StreamAgentLogsRequest.fromPartial({ name, follow: true }),
        bearer(alice),
        { deadline: Date.now() + 1500 },
      );
      expect((await endOf(expiring)).code).to.equal(status.DEADLINE_EXCEEDED);

      // Both follow streams are gone on the manager: it drains with no call in flight.
      await stack.call(agents, agents.getAgent, { name }, alice);
      await stopService(manager!);
      expect(logEntry(manager!, 'draining gRPC calls')).to.include({ inFlightCalls: 0 });
      manager = undefined;
    });

    it('answers UNAVAILABLE naming the client while its manager is down, and serves again once it is back', async () => {
      expect(manager, 'stopped by the previous test').to.equal(undefined);
      const failure = await failureOf(stack.call(agents, agents.getAgent, { name }, alice));
      expect(failure.code).to.equal(status.UNAVAILABLE);
      expect(failure.details).to.contain(`clients/${clientId}`);

      await startManager();
      let answer: controllerV1.GetAgentResponse | undefined;
      for (let attempt = 0; attempt < 100 && !answer; attempt++) {
        answer = await stack.call(agents, agents.getAgent, { name }, alice).catch(async () => {
          await sleep(200);
          return undefined;
        });
      }
      expect(answer?.agent?.name).to.equal(name);
    });
  });
});

function bearer(token: string): Metadata {
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return metadata;
}

async function collect<T>(stream: ClientReadableStream<T>): Promise<T[]> {
  const messages: T[] = [];
  for await (const message of stream) messages.push(message as T);
  return messages;
}

/** The status a server stream ended with, reading and dropping its messages. */
function endOf(stream: ClientReadableStream<unknown>): Promise<{ code: number }> {
  stream.on('data', () => undefined);
  stream.on('error', () => undefined);
  return new Promise((resolve) => stream.once('status', resolve));
}

function removeContainers(agentIds: string[]): void {
  for (const agentId of agentIds) {
    const ids = execFileSync('docker', ['ps', '-aq', '--filter', `label=agenstra.agent=${agentId}`])
      .toString()
      .split('\n')
      .filter(Boolean);
    if (ids.length) execFileSync('docker', ['rm', '-f', ...ids]);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
