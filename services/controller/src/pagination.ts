import { InvalidArgumentError } from '@agenstra/shared';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

export interface Page {
  pageSize: number;
  pageToken: string;
}

/** page_size per the contracts: 0 means the default, above the maximum means the maximum. */
export function pageOf(request: { pageSize: number; pageToken: string }): Page {
  if (request.pageSize < 0) throw new InvalidArgumentError('page_size must not be negative');
  const pageSize =
    request.pageSize === 0 ? DEFAULT_PAGE_SIZE : Math.min(request.pageSize, MAX_PAGE_SIZE);
  return { pageSize, pageToken: request.pageToken };
}

/** An opaque keyset cursor: the sort key of the last row of the previous page. */
export function encodePageToken(position: object): string {
  return Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
}

export function decodePageToken<T extends object>(token: string): T | undefined {
  if (!token) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (value && typeof value === 'object') return value as T;
  } catch {
    // fall through to the error below
  }
  throw new InvalidArgumentError('page_token is not a token from a previous response');
}
