// Test fixture (not a test): a FileService on a real gRPC server over a temporary WORKSPACES_DIR,
// publishing to the real NATS, with a client and a recorder of the `.files` events.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eventsV1, managerV1 } from '@agenstra/proto';
import { closeNats, connectNats, createGrpcServer, createLogger } from '@agenstra/shared';
import { credentials, type ServiceError } from '@grpc/grpc-js';
import type { NatsConnection, Subscription } from 'nats';
import { EventPublisher } from '../events/publisher.js';
import { AGENT_GID, AGENT_UID, workspaceDirOf } from '../runtime/workspaces.js';
import { FileEvents } from './file-events.js';
import { createFileService } from './file-service.js';
import { WorkspaceFiles } from './workspace-files.js';
import { WorkspaceWatchers } from './workspace-watcher.js';

type Client = managerV1.FileServiceClient;
/** Methods of the client answered with one response. */
type UnaryMethod =
  | 'listFiles'
  | 'statFile'
  | 'writeFile'
  | 'beginFileUpload'
  | 'writeFileChunk'
  | 'commitFileUpload'
  | 'abortFileUpload'
  | 'createDirectory'
  | 'deleteFile'
  | 'moveFile';
type Codec = { fromPartial(partial: object): object };

export interface FilesFixture {
  workspacesDir: string;
  /** A directory beside the workspaces that nothing may read or write through the service. */
  outsideDir: string;
  managerId: string;
  nats: NatsConnection;
  files: WorkspaceFiles;
  watchers: WorkspaceWatchers;
  client: Client;
  events: eventsV1.Event[];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  call<R = any>(method: UnaryMethod, request: object): Promise<R>;
  read(request: Partial<managerV1.ReadFileRequest>): Promise<managerV1.ReadFileResponse[]>;
  newAgent(): Promise<{ agentId: string; name: string; dir: string }>;
  /** Resolves once `count` events matched, or after `timeoutMs` with what matched. */
  waitForEvents(
    match: (event: eventsV1.Event) => boolean,
    count: number,
    timeoutMs?: number,
  ): Promise<eventsV1.Event[]>;
  close(): Promise<void>;
}

export async function startFilesFixture(
  options: { maxFileBytes?: number; uploadIdleMs?: number } = {},
): Promise<FilesFixture> {
  const base = await fs.mkdtemp(path.join(os.tmpdir(), 'agenstra-files-test-'));
  await fs.chmod(base, 0o755); // the agent's user must reach its workspace, as on a real host
  const workspacesDir = path.join(base, 'workspaces');
  const outsideDir = path.join(base, 'outside');
  await fs.mkdir(workspacesDir);
  await fs.mkdir(outsideDir);
  const managerId = `files-test-${randomBytes(4).toString('hex')}`;
  const logger = createLogger({
    service: 'files-test',
    level: process.env.FILES_TEST_LOG === 'debug' ? 'debug' : 'silent',
  });
  const nats: NatsConnection = await connectNats({
    url: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
    name: 'agenstra-files-test',
    logger,
  });
  const events = new FileEvents(new EventPublisher(nats, managerId), logger);
  const watchers = new WorkspaceWatchers(workspacesDir, events, logger);
  const files = new WorkspaceFiles({
    workspacesDir,
    maxFileBytes: options.maxFileBytes ?? 100 * 1024 * 1024,
    events,
    watchers,
    uploadIdleMs: options.uploadIdleMs,
  });
  const server = createGrpcServer({ host: '127.0.0.1', port: 0, logger });
  server.server.addService(managerV1.FileServiceService, createFileService(files, logger));
  const { port } = await server.start();
  const client = new managerV1.FileServiceClient(
    `127.0.0.1:${port}`,
    credentials.createInsecure(),
    {
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
    },
  );

  const recorded: eventsV1.Event[] = [];
  const listeners = new Set<() => void>();
  const subscription: Subscription = nats.subscribe(
    `agenstra.v1.managers.${managerId}.agents.*.files`,
    {
      callback: (_error, message) => {
        recorded.push(eventsV1.Event.decode(message.data));
        for (const listener of listeners) listener();
      },
    },
  );
  await nats.flush();

  const fixture: FilesFixture = {
    workspacesDir,
    outsideDir,
    managerId,
    nats,
    files,
    watchers,
    client,
    events: recorded,
    call: <R>(method: UnaryMethod, request: object) => {
      const typeName = `${method[0].toUpperCase()}${method.slice(1)}Request`;
      const codec = (managerV1 as unknown as Record<string, Codec>)[typeName];
      type Send = (
        request: object,
        callback: (error: ServiceError | null, response: R) => void,
      ) => void;
      const send = (client as unknown as Record<string, Send>)[method];
      return new Promise<R>((resolve, reject) =>
        send.call(client, codec.fromPartial(request), (error, response) =>
          error ? reject(error) : resolve(response),
        ),
      );
    },
    read: (request) =>
      new Promise((resolve, reject) => {
        const chunks: managerV1.ReadFileResponse[] = [];
        const stream = client.readFile(managerV1.ReadFileRequest.fromPartial(request));
        stream.on('data', (chunk: managerV1.ReadFileResponse) => chunks.push(chunk));
        stream.on('error', reject);
        stream.on('end', () => resolve(chunks));
      }),
    newAgent: async () => {
      const agentId = `agent-${randomBytes(6).toString('hex')}`;
      const dir = workspaceDirOf(workspacesDir, agentId);
      await fs.mkdir(dir);
      await fs.chown(dir, AGENT_UID, AGENT_GID);
      return { agentId, name: `agents/${agentId}`, dir };
    },
    waitForEvents: (match, count, timeoutMs = 5000) =>
      new Promise((resolve) => {
        const check = () => {
          const found = recorded.filter(match);
          if (found.length >= count) finish(found);
        };
        const finish = (found: eventsV1.Event[]) => {
          clearTimeout(timer);
          listeners.delete(check);
          resolve(found);
        };
        const timer = setTimeout(() => finish(recorded.filter(match)), timeoutMs);
        listeners.add(check);
        check();
      }),
    close: async () => {
      client.close();
      server.server.forceShutdown();
      await watchers.close();
      await files.close();
      subscription.unsubscribe();
      await closeNats(nats);
      await fs.rm(base, { recursive: true, force: true });
    },
  };
  return fixture;
}
