import { managerV1 } from '@agenstra/proto';
import {
  InvalidArgumentError,
  serverStream,
  unary,
  UnauthenticatedError,
  UnavailableError,
} from '@agenstra/shared';
import type { ServerWritableStream } from '@grpc/grpc-js';
import type { NatsConnection } from 'nats';
import type { Logger } from 'pino';
import type { EventPublisher } from '../events/publisher.js';
import { chatEventOf } from './chat-events.js';
import type { LocalChatFeed } from './chat-feed.js';
import type { ChatRelay } from './chat-relay.js';
import type { ChatSessions } from './chat-sessions.js';
import type { ChatStore } from './chat-store.js';
import { agentIdOf, sequenceOf, validUserMessage } from './chat-validation.js';
import { watchAgentEvents } from './chat-watch.js';

const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;

export interface ChatServiceDependencies {
  sessions: ChatSessions;
  store: ChatStore;
  relay: ChatRelay;
  feed: LocalChatFeed;
  nats: NatsConnection;
  publisher: EventPublisher;
  logger: Logger;
}

/** Open watches, so a draining server can end them and their callers reconnect elsewhere. */
export class OpenWatches {
  private readonly controllers = new Set<AbortController>();

  add(controller: AbortController): () => void {
    this.controllers.add(controller);
    return () => this.controllers.delete(controller);
  }

  endAll(): void {
    for (const controller of this.controllers) {
      controller.abort(new UnavailableError('the manager is shutting down; watch again'));
    }
  }
}

/** agenstra.manager.v1.ChatService: validate, call the chat capability, map errors. */
export function chatServiceImplementation(
  deps: ChatServiceDependencies,
  watches: OpenWatches,
): managerV1.ChatServiceServer {
  const { sessions, store, relay, logger } = deps;
  return {
    login: unary(async (request: managerV1.LoginRequest, call) => {
      const agentId = agentIdOf(request.agent);
      if (!request.password) throw new InvalidArgumentError('password is required');
      const session = await sessions.login(agentId, request.password, callerOf(call.getPeer()));
      return {
        sessionToken: session.token,
        expireTime: session.expireTime.toISOString(),
        latestSequence: String(await store.latestSequence(agentId)),
      };
    }, logger),

    logout: unary(async (request: managerV1.LogoutRequest) => {
      await sessions.logout(agentIdOf(request.agent), request.sessionToken);
      return {};
    }, logger),

    sendMessage: unary(async (request: managerV1.SendMessageRequest) => {
      const agentId = agentIdOf(request.agent);
      const input = validUserMessage({
        clientMessageId: request.clientMessageId,
        text: request.text,
        authorSubject: request.authorSubject,
        authorDisplayName: request.authorDisplayName,
      });
      await sessions.authenticate(agentId, request.sessionToken);
      const message = await relay.sendUserMessage(agentId, input);
      return { message: chatEventOf(message) };
    }, logger),

    listMessages: unary(async (request: managerV1.ListMessagesRequest) => {
      const agentId = agentIdOf(request.agent);
      if (request.pageSize < 0) throw new InvalidArgumentError('page_size must not be negative');
      const pageSize = Math.min(request.pageSize || DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
      const after = request.pageToken
        ? pageTokenAfter(request.pageToken, agentId)
        : sequenceOf('after_sequence', request.afterSequence);
      await sessions.authenticate(agentId, request.sessionToken);
      const latest = await store.latestSequence(agentId);
      const messages = await store.listAfter(agentId, after, pageSize, latest);
      const lastSequence = messages.at(-1)?.sequence ?? after;
      return {
        messages: messages.map(chatEventOf),
        nextPageToken:
          messages.length === pageSize && lastSequence < latest
            ? pageTokenOf(agentId, lastSequence)
            : '',
        latestSequence: String(latest),
      };
    }, logger),

    watchAgent: serverStream(
      (
        request: managerV1.WatchAgentRequest,
        call: ServerWritableStream<managerV1.WatchAgentRequest, managerV1.WatchAgentResponse>,
      ) => watch(deps, watches, request, call),
      logger,
    ),
  };
}

async function* watch(
  deps: ChatServiceDependencies,
  watches: OpenWatches,
  request: managerV1.WatchAgentRequest,
  call: ServerWritableStream<managerV1.WatchAgentRequest, managerV1.WatchAgentResponse>,
): AsyncGenerator<managerV1.WatchAgentResponse> {
  const agentId = agentIdOf(request.agent);
  const afterSequence = sequenceOf('after_sequence', request.afterSequence);
  const { tokenHash, expireTime } = await deps.sessions.authenticate(agentId, request.sessionToken);

  const controller = new AbortController();
  const forget = watches.add(controller);
  const sessionEnded = () =>
    controller.abort(new UnauthenticatedError('the chat session ended: log in again'));
  const onLogout = (ended: string) => ended === tokenHash && sessionEnded();
  const onCancel = () => controller.abort();
  deps.sessions.on('ended', onLogout);
  call.once('cancelled', onCancel);

  // The session may be extended by other calls meanwhile: look again when it would expire.
  let timer: NodeJS.Timeout | undefined;
  const checkAt = (time: Date) => {
    timer = setTimeout(
      () => {
        deps.sessions.expireTimeOf(tokenHash).then(
          (extended) => (extended ? checkAt(extended) : sessionEnded()),
          (error: unknown) => controller.abort(error),
        );
      },
      Math.max(0, time.getTime() - Date.now()),
    );
  };
  checkAt(expireTime);

  try {
    for await (const event of watchAgentEvents(deps, {
      agentId,
      afterSequence,
      includeDeltas: request.includeDeltas,
      signal: controller.signal,
    })) {
      yield { event };
    }
  } finally {
    clearTimeout(timer);
    forget();
    deps.sessions.off('ended', onLogout);
    call.off('cancelled', onCancel);
  }
}

/** The caller's address without its port: `ipv4:10.0.0.7:51234` → `10.0.0.7`. */
export function callerOf(peer: string): string {
  const address = peer.replace(/^ipv[46]:/, '');
  const bracketed = /^\[(.*)\]:\d+$/.exec(address);
  if (bracketed) return bracketed[1];
  return address.replace(/:\d+$/, '');
}

interface PageToken {
  agent: string;
  after: number;
}

function pageTokenOf(agentId: string, after: number): string {
  return Buffer.from(JSON.stringify({ agent: agentId, after } satisfies PageToken)).toString(
    'base64url',
  );
}

function pageTokenAfter(token: string, agentId: string): number {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as PageToken;
    if (parsed.agent === agentId && Number.isSafeInteger(parsed.after) && parsed.after >= 0) {
      return parsed.after;
    }
  } catch {
    // Falls through to the same error as a well-formed token of another agent.
  }
  throw new InvalidArgumentError('page_token is not a token from ListMessages of this agent');
}
