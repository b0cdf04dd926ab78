import Docker from 'dockerode';
import { DEFAULT_DOCKER_SOCKET } from './docker-ping.js';

/** A dockerode client for DOCKER_HOST (`unix://`, `tcp://`, `http://`, `https://`) or the local socket. */
export function createDockerClient(dockerHost: string | undefined): Docker {
  if (!dockerHost) return new Docker({ socketPath: DEFAULT_DOCKER_SOCKET });
  const target = new URL(dockerHost);
  if (target.protocol === 'unix:') return new Docker({ socketPath: target.pathname });
  return new Docker({
    host: target.hostname,
    port: Number(target.port) || (target.protocol === 'https:' ? 2376 : 2375),
    protocol: target.protocol === 'https:' ? 'https' : 'http',
  });
}

/** True for the engine's "no such container/image" answers. */
export function isNotFound(error: unknown): boolean {
  return (error as { statusCode?: number } | null)?.statusCode === 404;
}
