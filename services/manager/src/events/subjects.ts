/**
 * NATS subjects of one agent (a public contract, see README "NATS subjects"):
 * `agenstra.v1.managers.{manager}.agents.{agent}.{channel}`.
 */
export type AgentChannel = 'chat' | 'chat.delta' | 'files' | 'status' | 'vcs' | 'inbox';

export function agentSubject(managerId: string, agentId: string, channel: AgentChannel): string {
  return `agenstra.v1.managers.${managerId}.agents.${agentId}.${channel}`;
}

/** Every subject of one agent except its inbox, for a watcher of that agent. */
export function agentEventsWildcard(managerId: string, agentId: string): string {
  return `agenstra.v1.managers.${managerId}.agents.${agentId}.>`;
}
