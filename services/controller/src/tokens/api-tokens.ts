import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { NotFoundError, PermissionDeniedError } from '@agenstra/shared';
import type { EntityManager } from '@mikro-orm/postgresql';
import { isAdmin, type Principal, type Role } from '../auth/principal.js';
import { decodePageToken, encodePageToken, type Page } from '../pagination.js';
import { ApiToken } from './api-token.entity.js';

/** Tells API tokens apart from JWTs (which start with `ey`) at a glance and in secret scanners. */
export const API_TOKEN_PREFIX = 'agt_';
const TOKEN_BYTES = 32;
/** last_use_time is written at most this often per token, so authentication stays a read. */
const LAST_USE_RESOLUTION_MS = 60_000;

export interface NewApiToken {
  displayName: string;
  subject: string;
  role: Role;
  creator: string;
}

/** A fresh token: 256 random bits after the prefix. */
export function generateApiToken(): string {
  return API_TOKEN_PREFIX + randomBytes(TOKEN_BYTES).toString('base64url');
}

function hashOf(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Creates, finds, lists and revokes API tokens; the only code that sees a token's secret. */
export class ApiTokens {
  /** Stores a new token and returns it with its secret, which is never available again. */
  async create(
    em: EntityManager,
    request: NewApiToken,
  ): Promise<{ apiToken: ApiToken; token: string }> {
    const token = generateApiToken();
    const apiToken = em.create(ApiToken, {
      id: randomUUID(),
      ...request,
      tokenHash: hashOf(token),
      tokenHint: token.slice(-4),
      createTime: new Date(),
      revokeTime: null,
      lastUseTime: null,
    });
    await em.persistAndFlush(apiToken);
    return { apiToken, token };
  }

  /**
   * The caller a token authenticates, or undefined for an unknown or revoked token. The lookup
   * goes by hash; the stored hash is then compared in constant time as well, so no timing
   * difference tells how much of a guess matched.
   */
  async authenticate(em: EntityManager, token: string): Promise<Principal | undefined> {
    const hash = hashOf(token);
    const found = await em.findOne(ApiToken, { tokenHash: hash });
    if (!found || found.revokeTime) return undefined;
    if (!timingSafeEqual(Buffer.from(found.tokenHash, 'hex'), Buffer.from(hash, 'hex'))) {
      return undefined;
    }
    const now = Date.now();
    if (!found.lastUseTime || now - found.lastUseTime.getTime() >= LAST_USE_RESOLUTION_MS) {
      await em.nativeUpdate(ApiToken, { id: found.id }, { lastUseTime: new Date(now) });
    }
    return {
      subject: found.subject,
      role: found.role,
      method: 'api_token',
      apiTokenId: found.id,
    };
  }

  /** The caller's tokens (admins: all), newest first. */
  async list(
    em: EntityManager,
    caller: Principal,
    page: Page,
  ): Promise<{
    apiTokens: ApiToken[];
    nextPageToken: string;
  }> {
    const after = decodePageToken<{ t: string; i: string }>(page.pageToken);
    const filter = {
      ...(isAdmin(caller) ? {} : { subject: caller.subject }),
      ...(after
        ? {
            $or: [
              { createTime: { $lt: new Date(after.t) } },
              { createTime: new Date(after.t), id: { $lt: after.i } },
            ],
          }
        : {}),
    };
    const rows = await em.find(ApiToken, filter, {
      orderBy: { createTime: 'desc', id: 'desc' },
      limit: page.pageSize + 1,
    });
    const apiTokens = rows.slice(0, page.pageSize);
    const last = apiTokens[apiTokens.length - 1];
    return {
      apiTokens,
      nextPageToken:
        rows.length > page.pageSize && last
          ? encodePageToken({ t: last.createTime.toISOString(), i: last.id })
          : '',
    };
  }

  /** Revokes a token the caller owns (admins: any); someone else's token is NOT_FOUND. */
  async revoke(em: EntityManager, caller: Principal, id: string): Promise<ApiToken> {
    const found = await em.findOne(ApiToken, { id });
    if (!found || (!isAdmin(caller) && found.subject !== caller.subject)) {
      throw new NotFoundError(`API token apiTokens/${id} not found`);
    }
    if (!found.revokeTime) {
      found.revokeTime = new Date();
      await em.flush();
    }
    return found;
  }

  /** Users may only mint tokens for themselves and never above their own role. */
  static assertMayCreate(caller: Principal, request: { subject: string; role: Role }): void {
    if (isAdmin(caller)) return;
    if (request.subject !== caller.subject) {
      throw new PermissionDeniedError('only admins may create API tokens for another subject');
    }
    if (request.role === 'admin') {
      throw new PermissionDeniedError('only admins may create admin API tokens');
    }
  }
}
