import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { managerV1, PROTO_ROOT, protoFilesOf } from '@agenstra/proto';
import {
  closeNats,
  connectNats,
  createGrpcServer,
  createLogger,
  ensureEventStream,
  EVENT_STREAM,
  openDatabase,
  type Database,
  type GrpcServer,
} from '@agenstra/shared';
import { throwawayDatabase } from '@agenstra/shared/testing';
import { credentials, type ServiceError } from '@grpc/grpc-js';
import type { NatsConnection } from 'nats';
import { Agent, hashAgentPassword } from '../../agents/index.js';
import { EventPublisher } from '../../events/publisher.js';
import { MANAGER_SCHEMA, managerEntities, managerMigrations } from '../../migrations/index.js';
import { inboxConsumerName } from '../chat-inbox.js';
import { serveChat, startChat, type Chat, type ChatLoginLimits } from '../chat-module.js';
import { ProcessRunnerHub, spawnEchoRunner, type RunnerProcess } from './process-runner-hub.js';

export const TEST_LOGIN_LIMITS: ChatLoginLimits = {
  loginMaxFailuresPerAgent: 3,
  loginMaxFailuresPerCaller: 1000,
  loginFailureWindowMs: 60_000,
  loginLockoutMs: 60_000,
};

/** Silent unless CHAT_TEST_LOG_LEVEL is set (then to standard error). */
const quiet = () =>
  createLogger({
    service: 'chat-test',
    level: (process.env.CHAT_TEST_LOG_LEVEL as 'debug' | undefined) ?? 'silent',
    destination: process.env.CHAT_TEST_LOG_LEVEL
      ? process.stderr
      : new Writable({ write: (_chunk, _encoding, done) => done() }),
  });

/** One "manager process" worth of chat: its own hub, relay, inbox consumer and gRPC server. */
export interface ChatInstance {
  chat: Chat;
  hub: ProcessRunnerHub;
  server: GrpcServer;
  client: managerV1.ChatServiceClient;
  /** Abandons everything without a goodbye, the way a killed manager leaves it. */
  abandon: () => Promise<void>;
}

/**
 * Real PostgreSQL (a throwaway database), real NATS with the AGENSTRA stream, and real runner
 * processes (the echo agent) behind a ProcessRunnerHub. Agents are rows in the agent table.
 */
export class ChatFixture {
  readonly managerId = `chat-test-${randomBytes(4).toString('hex')}`;
  private readonly databaseHandle = throwawayDatabase('agenstra_chat_test');
  database!: Database;
  nats!: NatsConnection;
  publisher!: EventPublisher;
  workspaces!: string;
  private readonly runners: RunnerProcess[] = [];
  private readonly instances: ChatInstance[] = [];

  async open(): Promise<void> {
    this.database = await openDatabase({
      url: this.databaseHandle.url,
      schema: MANAGER_SCHEMA,
      entities: managerEntities,
      migrations: managerMigrations,
      logger: quiet(),
    });
    this.nats = await connectNats({
      url: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
      name: 'chat-test',
      logger: quiet(),
    });
    await ensureEventStream(this.nats);
    this.publisher = new EventPublisher(this.nats, this.managerId);
    this.workspaces = await mkdtemp(path.join(os.tmpdir(), 'agenstra-chat-test-'));
  }

  async startInstance(limits: ChatLoginLimits = TEST_LOGIN_LIMITS): Promise<ChatInstance> {
    const hub = new ProcessRunnerHub();
    const chat = await startChat({
      database: this.database,
      nats: this.nats,
      hub,
      publisher: this.publisher,
      logger: quiet(),
      limits,
    });
    const server = createGrpcServer({
      host: '127.0.0.1',
      port: 0,
      logger: quiet(),
      protoFiles: protoFilesOf('agenstra.manager.v1'),
      includeDirs: [PROTO_ROOT],
    });
    serveChat(server, chat);
    const { port } = await server.start();
    const client = new managerV1.ChatServiceClient(
      `127.0.0.1:${port}`,
      credentials.createInsecure(),
    );
    const instance: ChatInstance = {
      chat,
      hub,
      server,
      client,
      abandon: async () => {
        hub.detachAll();
        client.close();
        server.server.forceShutdown();
        await chat.stop();
      },
    };
    this.instances.push(instance);
    return instance;
  }

  /** Stores an agent and returns its id and password. */
  async addAgent(): Promise<{ agentId: string; password: string }> {
    const agentId = `agent-${randomUUID()}`;
    const password = randomBytes(24).toString('base64url');
    const em = this.database.fork();
    em.persist(
      Object.assign(new Agent(), {
        id: agentId,
        displayName: agentId,
        type: 0,
        passwordHash: await hashAgentPassword(password),
      }),
    );
    await em.flush();
    return { agentId, password };
  }

  /** Starts an echo runner for the agent (its workspace a temporary directory). */
  startRunner(): RunnerProcess {
    const runner = spawnEchoRunner(this.workspaces);
    this.runners.push(runner);
    return runner;
  }

  async close(): Promise<void> {
    for (const instance of this.instances) {
      instance.client.close();
      instance.server.server.forceShutdown();
      await instance.chat.stop();
    }
    for (const runner of this.runners) await runner.stop();
    const jsm = await this.nats.jetstreamManager();
    await jsm.consumers.delete(EVENT_STREAM, inboxConsumerName(this.managerId)).catch(() => false);
    await closeNats(this.nats);
    await this.database.close();
    await this.databaseHandle.drop();
    await rm(this.workspaces, { recursive: true, force: true });
  }
}

/** Calls a unary method of a grpc-js client as a promise: `unaryCall((done) => client.login(request, done))`. */
export function unaryCall<Res>(
  invoke: (done: (error: ServiceError | null, response: Res) => void) => unknown,
): Promise<Res> {
  return new Promise((resolve, reject) =>
    invoke((error, response) => (error ? reject(error) : resolve(response))),
  );
}
