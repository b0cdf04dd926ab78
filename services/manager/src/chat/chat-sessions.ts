import { createHash, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { UnauthenticatedError, type Database } from '@agenstra/shared';
import { ChatSession } from './chat-session.entity.js';
import type { LoginRateLimiter } from './login-rate-limiter.js';

/** A session lasts this long after its last use. */
export const SESSION_IDLE_MS = 24 * 3_600_000;
const TOKEN_BYTES = 32;
/** How stale a session's stored expiry may get before a use writes the extension. */
const EXTEND_EVERY_MS = 60_000;
const MAX_CACHED_SESSIONS = 10_000;

/** Checks an agent's password in constant time; false for an unknown agent too. */
export type AgentPasswordCheck = (agentId: string, password: string) => Promise<boolean>;

const WRONG_CREDENTIALS = 'unknown agent or wrong password';
const NO_SESSION = 'no valid chat session for this agent: log in again';

export function hashSessionToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * Chat sessions: log in with the agent's password, then present the token on every call. Emits
 * `ended` with the token hash on logout, so open watches close at once.
 */
export class ChatSessions extends EventEmitter<{ ended: [tokenHash: string] }> {
  private readonly recentlyExtended = new Map<string, { agentId: string; expireTime: Date }>();

  constructor(
    private readonly database: Database,
    private readonly checkPassword: AgentPasswordCheck,
    private readonly limiter: LoginRateLimiter,
  ) {
    super();
    this.setMaxListeners(0);
  }

  async login(
    agentId: string,
    password: string,
    caller: string,
  ): Promise<{ token: string; expireTime: Date }> {
    this.limiter.assertAllowed(agentId, caller);
    if (!(await this.checkPassword(agentId, password))) {
      this.limiter.recordFailure(agentId, caller);
      throw new UnauthenticatedError(WRONG_CREDENTIALS);
    }
    const token = randomBytes(TOKEN_BYTES).toString('base64url');
    const now = new Date();
    const expireTime = new Date(now.getTime() + SESSION_IDLE_MS);
    const em = this.database.fork();
    em.create(ChatSession, {
      tokenHash: hashSessionToken(token),
      agentId,
      caller,
      createTime: now,
      expireTime,
    });
    await em.flush();
    return { token, expireTime };
  }

  /**
   * Checks that the token is a live session of this agent and extends it to SESSION_IDLE_MS
   * from now; UNAUTHENTICATED otherwise. The extension is written at most once per
   * EXTEND_EVERY_MS per session (a chat sends many messages a minute, each would be a write);
   * logout clears the cache at once.
   */
  async authenticate(
    agentId: string,
    token: string,
  ): Promise<{ tokenHash: string; expireTime: Date }> {
    if (!token) throw new UnauthenticatedError('session_token is required');
    const tokenHash = hashSessionToken(token);
    const cached = this.recentlyExtended.get(tokenHash);
    if (
      cached?.agentId === agentId &&
      cached.expireTime.getTime() - Date.now() > SESSION_IDLE_MS - EXTEND_EVERY_MS
    ) {
      return { tokenHash, expireTime: cached.expireTime };
    }
    const expireTime = new Date(Date.now() + SESSION_IDLE_MS);
    const updated = await this.database
      .fork()
      .nativeUpdate(
        ChatSession,
        { tokenHash, agentId, expireTime: { $gt: new Date() } },
        { expireTime },
      );
    if (updated !== 1) {
      this.recentlyExtended.delete(tokenHash);
      throw new UnauthenticatedError(NO_SESSION);
    }
    this.recentlyExtended.set(tokenHash, { agentId, expireTime });
    if (this.recentlyExtended.size > MAX_CACHED_SESSIONS) {
      const oldest = this.recentlyExtended.keys().next().value;
      if (oldest !== undefined) this.recentlyExtended.delete(oldest);
    }
    return { tokenHash, expireTime };
  }

  /** When the session ends unless used again; undefined once it is gone. */
  async expireTimeOf(tokenHash: string): Promise<Date | undefined> {
    const session = await this.database.fork().findOne(ChatSession, { tokenHash });
    return session && session.expireTime > new Date() ? session.expireTime : undefined;
  }

  async logout(agentId: string, token: string): Promise<void> {
    const tokenHash = hashSessionToken(token);
    this.recentlyExtended.delete(tokenHash);
    await this.database.fork().nativeDelete(ChatSession, { tokenHash, agentId });
    this.emit('ended', tokenHash);
  }
}
