import { readFileSync } from 'node:fs';
import path from 'node:path';
import { managerV1 } from '@agenstra/proto';
import { unary } from '@agenstra/shared';
import type { Logger } from 'pino';
import { pingDocker } from '../runtime/docker-ping.js';

/** Short, because the controller waits for this answer while a person registers a client. */
const DOCKER_PING_TIMEOUT_MS = 1000;

export interface ManagerDescription {
  managerId: string;
  agentImage: string;
  /** DOCKER_HOST, or undefined for the local socket. */
  dockerHost: string | undefined;
}

/** The version in services/manager/package.json, read once at start-up. */
export const MANAGER_VERSION: string = (
  JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
    version: string;
  }
).version;

/**
 * ManagerService: tells a caller (the controller, on client create and update) which manager
 * it reached and whether Docker answers right now, so a dead engine shows at registration.
 */
export function managerService(
  description: ManagerDescription,
  logger: Logger,
): managerV1.ManagerServiceServer {
  return {
    getManager: unary(async (): Promise<managerV1.GetManagerResponse> => {
      const docker = await pingDocker(description.dockerHost, DOCKER_PING_TIMEOUT_MS);
      return {
        manager: {
          managerId: description.managerId,
          version: MANAGER_VERSION,
          dockerAvailable: docker.ok,
          agentImage: description.agentImage,
        },
      };
    }, logger),
  };
}
