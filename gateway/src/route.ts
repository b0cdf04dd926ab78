import type { IncomingMessage, ServerResponse } from 'node:http';

/** One kind of request the gateway answers. Routes are tried in order; the first match wins. */
export interface Route {
  name: string;
  matches(request: IncomingMessage, url: URL): boolean;
  handle(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> | void;
}

export function sendJson(
  request: IncomingMessage,
  response: ServerResponse,
  status: number,
  body: unknown,
): void {
  const payload = Buffer.from(JSON.stringify(body));
  response.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': payload.length,
    'Cache-Control': 'no-cache',
  });
  response.end(request.method === 'HEAD' ? undefined : payload);
}

export function sendText(response: ServerResponse, status: number, text: string): void {
  const payload = Buffer.from(text);
  response.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': payload.length,
  });
  response.end(payload);
}

export function isReadMethod(request: IncomingMessage): boolean {
  return request.method === 'GET' || request.method === 'HEAD';
}
