import { managerV1 } from '@agenstra/proto';
import type { Database, GrpcServer } from '@agenstra/shared';
import type { NatsConnection } from 'nats';
import type { Logger } from 'pino';
import type { EventPublisher } from '../events/publisher.js';
import type { RunnerHub } from '../runtime/runner-protocol.js';
import { agentPasswordCheck } from './agent-password-check.js';
import { chatServiceImplementation, OpenWatches } from './chat-grpc.js';
import { LocalChatFeed } from './chat-feed.js';
import { AgentInbox } from './chat-inbox.js';
import { ChatRelay } from './chat-relay.js';
import { ChatSessions, type AgentPasswordCheck } from './chat-sessions.js';
import { ChatStore } from './chat-store.js';
import { LoginRateLimiter } from './login-rate-limiter.js';

export interface ChatLoginLimits {
  loginMaxFailuresPerAgent: number;
  loginMaxFailuresPerCaller: number;
  loginFailureWindowMs: number;
  loginLockoutMs: number;
}

export interface ChatDependencies {
  database: Database;
  nats: NatsConnection;
  hub: RunnerHub;
  publisher: EventPublisher;
  logger: Logger;
  limits: ChatLoginLimits;
  /** Defaults to the agents' stored password hashes. */
  checkPassword?: AgentPasswordCheck;
}

export interface Chat {
  store: ChatStore;
  sessions: ChatSessions;
  relay: ChatRelay;
  /** The ChatService implementation to add to a gRPC server. */
  service: managerV1.ChatServiceServer;
  /** Ends every open WatchAgent stream (UNAVAILABLE), for a draining server. */
  endWatches: () => void;
  stop: () => Promise<void>;
}

/**
 * Starts the chat capability: listens to every runner, re-delivers unfinished turns and
 * consumes the agents' inboxes. Subscribe it before the runtime attaches to runners, so no
 * `ready` goes unseen (turns left open are also re-sent at start).
 */
export async function startChat(deps: ChatDependencies): Promise<Chat> {
  const { database, nats, hub, publisher, limits } = deps;
  const logger = deps.logger.child({ component: 'chat' });
  const store = new ChatStore(database);
  const limiter = new LoginRateLimiter({
    agent: {
      maxFailures: limits.loginMaxFailuresPerAgent,
      windowMs: limits.loginFailureWindowMs,
      lockoutMs: limits.loginLockoutMs,
    },
    caller: {
      maxFailures: limits.loginMaxFailuresPerCaller,
      windowMs: limits.loginFailureWindowMs,
      lockoutMs: limits.loginLockoutMs,
    },
  });
  const sessions = new ChatSessions(
    database,
    deps.checkPassword ?? agentPasswordCheck(database),
    limiter,
  );
  const feed = new LocalChatFeed();
  const relay = new ChatRelay(store, hub, publisher, feed, logger);
  relay.start();
  const inbox = new AgentInbox(nats, publisher.managerId, relay, logger);
  await inbox.start();

  const watches = new OpenWatches();
  const service = chatServiceImplementation(
    { sessions, store, relay, feed, nats, publisher, logger },
    watches,
  );
  return {
    store,
    sessions,
    relay,
    service,
    endWatches: () => watches.endAll(),
    stop: async () => {
      watches.endAll();
      await inbox.stop();
      await relay.stop();
    },
  };
}

/** Adds ChatService to the server and ends its watches when the server drains. */
export function serveChat(server: GrpcServer, chat: Chat): void {
  server.addService(managerV1.ChatServiceService, chat.service);
  server.onDrain(chat.endWatches);
}
