import { createReadStream, type Stats } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';

import { isReadMethod, sendText, type Route } from '../route';
import { contentTypeOf } from './content-types';

const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';

/**
 * Angular's production build names bundles `main-ANE7ZFR3.js`, `styles-ZTNX6SYC.css`,
 * `chunk-B773FOJH.js`: a content hash of 8+ upper-case base32 characters. Only those may be
 * cached forever; everything else is revalidated.
 */
const HASHED_ASSET = /-[A-Z0-9]{8,}\.[a-z0-9]+$/;

/**
 * Serves the built console from `webRoot`. Unknown paths without a file extension fall back to
 * index.html for browsers (the console's router owns them); everything else that is missing is 404.
 */
export function staticSiteRoute(webRoot: string): Route {
  return {
    name: 'static',
    matches: (request) => isReadMethod(request),
    handle: (request, response, url) => serveStatic(webRoot, request, response, url),
  };
}

async function serveStatic(
  webRoot: string,
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
): Promise<void> {
  const indexFile = path.join(webRoot, 'index.html');
  const requested = await resolveInside(webRoot, url.pathname);
  if (requested === null) return sendText(response, 404, 'Not found\n');

  const isRoot = requested === path.resolve(webRoot);
  const file = isRoot ? null : await fileStats(requested);
  if (file) return sendFile(request, response, requested, file);

  if (isRoot || (acceptsHtml(request) && !path.extname(url.pathname))) {
    const index = await fileStats(indexFile);
    if (!index) return sendConsoleNotBuilt(request, response, webRoot);
    return sendFile(request, response, indexFile, index);
  }
  return sendText(response, 404, 'Not found\n');
}

/** The absolute file a URL path names, or null when it is malformed or leaves `webRoot`. */
async function resolveInside(webRoot: string, urlPath: string): Promise<string | null> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  if (decoded.split('/').includes('..')) return null;
  const root = path.resolve(webRoot);
  const candidate = path.resolve(root, '.' + path.posix.normalize('/' + decoded));
  if (!isWithin(root, candidate)) return null;
  // A symlink inside the web root must not lead outside it either.
  try {
    const [realRoot, realCandidate] = await Promise.all([realpath(root), realpath(candidate)]);
    if (!isWithin(realRoot, realCandidate)) return null;
  } catch {
    // Missing files are decided by the caller (404 or SPA fallback).
  }
  return candidate;
}

function isWithin(root: string, candidate: string): boolean {
  return candidate === root || candidate.startsWith(root + path.sep);
}

async function fileStats(filePath: string): Promise<Stats | null> {
  try {
    const stats = await stat(filePath);
    return stats.isFile() ? stats : null;
  } catch {
    return null;
  }
}

function acceptsHtml(request: IncomingMessage): boolean {
  return (request.headers.accept ?? '').includes('text/html');
}

function sendFile(
  request: IncomingMessage,
  response: ServerResponse,
  filePath: string,
  stats: Stats,
): void {
  const etag = `"${stats.size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}"`;
  const headers = {
    'Content-Type': contentTypeOf(filePath),
    'Cache-Control': HASHED_ASSET.test(path.basename(filePath)) ? IMMUTABLE : REVALIDATE,
    ETag: etag,
    'Last-Modified': stats.mtime.toUTCString(),
    'X-Content-Type-Options': 'nosniff',
  };
  if (matchesEtag(request.headers['if-none-match'], etag)) {
    response.writeHead(304, headers);
    response.end();
    return;
  }
  response.writeHead(200, { ...headers, 'Content-Length': stats.size });
  if (request.method === 'HEAD') {
    response.end();
    return;
  }
  createReadStream(filePath)
    .on('error', () => response.destroy())
    .pipe(response);
}

function matchesEtag(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch
    .split(',')
    .map((tag) => tag.trim().replace(/^W\//, ''))
    .some((tag) => tag === etag || tag === '*');
}

function sendConsoleNotBuilt(
  request: IncomingMessage,
  response: ServerResponse,
  webRoot: string,
): void {
  const page = Buffer.from(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Agenstra console not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto">
<h1>The Agenstra console has not been built</h1>
<p>The gateway serves the console from <code>${escapeHtml(webRoot)}</code>, which has no
<code>index.html</code>.</p>
<p>Build it from the repository root with <code>npm run build -w web</code>, or point
<code>WEB_ROOT</code> at a directory that holds a built console. The gateway's API and
<code>/healthz</code> work without it.</p>
</body>
</html>
`);
  response.writeHead(503, {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': page.length,
    'Cache-Control': 'no-store',
  });
  response.end(request.method === 'HEAD' ? undefined : page);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
