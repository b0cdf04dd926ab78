import type { IncomingMessage, ServerResponse } from 'node:http';

/** Request headers a gRPC-web client sends, besides the CORS-safelisted ones. */
const ALLOWED_HEADERS = 'authorization, content-type, x-grpc-web, x-user-agent, grpc-timeout';
const EXPOSED_HEADERS = 'grpc-status, grpc-message, grpc-status-details-bin';

/**
 * Adds CORS headers for allowed origins and answers preflights. Returns true when the request
 * has been fully answered (a preflight). Same-origin requests carry no CORS headers at all.
 */
export function applyCors(
  allowedOrigins: ReadonlySet<string>,
  request: IncomingMessage,
  response: ServerResponse,
): boolean {
  const origin = request.headers.origin;
  response.setHeader('Vary', 'Origin');
  const allowed = origin !== undefined && allowedOrigins.has(origin);
  const isPreflight =
    request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined;

  if (allowed) {
    response.setHeader('Access-Control-Allow-Origin', origin);
    response.setHeader('Access-Control-Allow-Credentials', 'true');
    response.setHeader('Access-Control-Expose-Headers', EXPOSED_HEADERS);
  }
  if (!isPreflight) return false;
  if (allowed) {
    response.writeHead(204, {
      'Access-Control-Allow-Methods': 'GET, HEAD, POST, OPTIONS',
      'Access-Control-Allow-Headers': ALLOWED_HEADERS,
      'Access-Control-Max-Age': '600',
    });
  } else {
    response.writeHead(403);
  }
  response.end();
  return true;
}
