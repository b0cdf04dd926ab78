import type { managerV1 } from '@agenstra/proto';
import { InvalidArgumentError } from '@agenstra/shared';
import type { Routed } from './manager-proxy.js';
import {
  agentTargetOf,
  clientIdOf,
  controllerAgentName,
  managerAgentName,
} from './resource-names.js';

// How each request shape finds its client and becomes the manager's request: the messages
// mirror the manager's field for field, so only the resource name changes.

/** Requests naming the agent in `name` (AgentService). */
export function byName<R extends { name: string }>(request: R): Routed<R> {
  const target = agentTargetOf(request.name, 'name');
  return { clientId: target.clientId, request: { ...request, name: managerAgentName(target) } };
}

/** Requests naming the agent in `agent` (FileService, VcsService). */
export function byAgent<R extends { agent: string }>(request: R): Routed<R> {
  const target = agentTargetOf(request.agent, 'agent');
  return { clientId: target.clientId, request: { ...request, agent: managerAgentName(target) } };
}

/** Create and List: the client is `parent`, which the manager (having one parent) has not. */
export function byParent<R extends { parent: string }>(request: R): Routed<Omit<R, 'parent'>> {
  const { parent, ...managerRequest } = request;
  return { clientId: clientIdOf(parent, 'parent'), request: managerRequest };
}

/** UpdateAgent: the agent names itself in `agent.name`. */
export function byAgentName<R extends { agent?: managerV1.Agent | undefined }>(
  request: R,
): Routed<R> {
  if (!request.agent) throw new InvalidArgumentError('agent is required');
  const target = agentTargetOf(request.agent.name, 'agent.name');
  return {
    clientId: target.clientId,
    request: { ...request, agent: { ...request.agent, name: managerAgentName(target) } },
  };
}

/** Responses that hold no resource name pass through as they are. */
export const unchanged = <R>(response: R): R => response;

/** An agent as the controller names it. */
export function agentOf(
  agent: managerV1.Agent | undefined,
  clientId: string,
): managerV1.Agent | undefined {
  return agent && { ...agent, name: controllerAgentName(clientId, agent.name) };
}

/** Responses carrying one `agent`. */
export const withAgent = <R extends { agent?: managerV1.Agent | undefined }>(
  response: R,
  clientId: string,
): R => ({ ...response, agent: agentOf(response.agent, clientId) });
