import { InvalidArgumentError } from '@agenstra/shared';

/** The {client} and {agent} segments of `clients/{client}/agents/{agent}`. */
export interface AgentTarget {
  clientId: string;
  agentId: string;
}

// Client ids follow ClientService (ids or UUIDs); agent ids the manager's rule. Both never
// contain '/', so a segment cannot smuggle in another resource.
const SEGMENT = '([a-z0-9]|[a-z0-9][a-z0-9-]{0,61}[a-z0-9])';
const CLIENT_NAME = new RegExp(`^clients/${SEGMENT}$`);
const AGENT_NAME = new RegExp(`^clients/${SEGMENT}/agents/${SEGMENT}$`);
const MANAGER_AGENT_NAME = new RegExp(`^agents/${SEGMENT}$`);

/** `clients/{client}` → {client}; INVALID_ARGUMENT naming `field` otherwise. */
export function clientIdOf(name: string, field: string): string {
  const match = CLIENT_NAME.exec(name);
  if (!match) throw new InvalidArgumentError(`${field} must be clients/{client}, got "${name}"`);
  return match[1];
}

/** `clients/{client}/agents/{agent}` → its segments; INVALID_ARGUMENT naming `field` otherwise. */
export function agentTargetOf(name: string, field: string): AgentTarget {
  const match = AGENT_NAME.exec(name);
  if (!match) {
    throw new InvalidArgumentError(
      `${field} must be clients/{client}/agents/{agent}, got "${name}"`,
    );
  }
  return { clientId: match[1], agentId: match[2] };
}

/** The manager's name for the agent, `agents/{agent}`. */
export const managerAgentName = (target: AgentTarget): string => `agents/${target.agentId}`;

/**
 * The controller's name for a manager name `agents/{agent}` of this client. A name the manager
 * did not form that way is returned unchanged rather than guessed at.
 */
export function controllerAgentName(clientId: string, managerName: string): string {
  return MANAGER_AGENT_NAME.test(managerName) ? `clients/${clientId}/${managerName}` : managerName;
}

/** The {agent} segment of a manager name `agents/{agent}`, or undefined. */
export function agentIdOfManagerName(managerName: string): string | undefined {
  return MANAGER_AGENT_NAME.exec(managerName)?.[1];
}
