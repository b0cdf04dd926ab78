import http from 'node:http';

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

export type DockerPing =
  { ok: true; endpoint: string } | { ok: false; endpoint: string; reason: string };

/**
 * Asks the Docker Engine at DOCKER_HOST (or the local socket) for `GET /_ping`.
 * Never throws: a missing engine is a state the manager reports, not a reason to stop.
 */
export function pingDocker(dockerHost: string | undefined, timeoutMs = 3000): Promise<DockerPing> {
  const target = dockerHost ? new URL(dockerHost) : new URL(`unix://${DEFAULT_DOCKER_SOCKET}`);
  const endpoint = target.toString();
  const connection: http.RequestOptions =
    target.protocol === 'unix:'
      ? { socketPath: target.pathname }
      : { host: target.hostname, port: Number(target.port) || 2375 };
  return new Promise((resolve) => {
    const request = http.get({ ...connection, path: '/_ping', timeout: timeoutMs }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () =>
        resolve(
          response.statusCode === 200 && body.trim() === 'OK'
            ? { ok: true, endpoint }
            : { ok: false, endpoint, reason: `answered ${response.statusCode} ${body.trim()}` },
        ),
      );
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', (error) => resolve({ ok: false, endpoint, reason: error.message }));
  });
}
