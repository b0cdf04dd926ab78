import path from 'node:path';

/**
 * Each agent's workspace is a host directory `<WORKSPACES_DIR>/<agent id>`, bind-mounted at
 * /workspace in its container and owned by the container's agent user (uid/gid 1000). The manager
 * reads and writes files there directly (see files/ for how paths are kept inside it).
 */
export const AGENT_UID = 1000;
export const AGENT_GID = 1000;
export const CONTAINER_WORKSPACE = '/workspace';

export function workspaceDirOf(workspacesDir: string, agentId: string): string {
  return path.join(path.resolve(workspacesDir), agentId);
}
