import { controllerV1, managerV1 } from '@agenstra/proto';
import { InvalidArgumentError, type Database } from '@agenstra/shared';
import type { AuthenticatedHandlers } from '../auth/authenticated.js';
import { agentPasswordSecret, type Vault } from '../vault/vault.js';
import type { ManagerProxy } from './manager-proxy.js';
import { agentIdOfManagerName } from './resource-names.js';
import { agentOf, byAgentName, byName, byParent, unchanged, withAgent } from './routes.js';

const manager = managerV1.AgentServiceService;

/**
 * controller.v1.AgentService: every method is the manager's, forwarded. CreateAgent keeps the
 * agent's password in the vault instead of returning it; DeleteAgent removes it.
 */
export function agentProxyService(
  database: Database,
  proxy: ManagerProxy,
  vault: Vault,
  handlers: AuthenticatedHandlers,
): controllerV1.AgentServiceServer {
  return {
    createAgent: handlers.unary(async (request: controllerV1.CreateAgentRequest, caller, call) => {
      const routed = byParent(request);
      const em = database.fork();
      const link = await proxy.link(em, caller, routed.clientId);
      const created = await proxy.call(link, manager.createAgent, routed.request, call);
      const agentId = agentIdOfManagerName(created.agent?.name ?? '');
      if (!agentId) {
        throw new InvalidArgumentError(
          `the manager of clients/${link.client.id} answered CreateAgent without an agent name`,
        );
      }
      await vault.put(em, link.client.id, agentPasswordSecret(agentId), created.password);
      await em.flush();
      // Sessions log in with the vaulted password; the person never needs to see it.
      return { agent: agentOf(created.agent, link.client.id), password: '' };
    }),

    getAgent: proxy.unary(manager.getAgent, byName<controllerV1.GetAgentRequest>, withAgent),

    listAgents: proxy.unary(
      manager.listAgents,
      byParent<controllerV1.ListAgentsRequest>,
      (response, clientId): controllerV1.ListAgentsResponse => ({
        ...response,
        agents: response.agents.map((agent) => agentOf(agent, clientId)!),
      }),
    ),

    updateAgent: proxy.unary(
      manager.updateAgent,
      byAgentName<controllerV1.UpdateAgentRequest>,
      withAgent,
    ),

    deleteAgent: handlers.unary(async (request: controllerV1.DeleteAgentRequest, caller, call) => {
      const routed = byName(request);
      const em = database.fork();
      const link = await proxy.link(em, caller, routed.clientId);
      const deleted = await proxy.call(link, manager.deleteAgent, routed.request, call);
      const agentId = agentIdOfManagerName(routed.request.name)!;
      await vault.remove(em, link.client.id, agentPasswordSecret(agentId));
      return deleted;
    }),

    startAgent: proxy.unary(manager.startAgent, byName<controllerV1.StartAgentRequest>, withAgent),
    stopAgent: proxy.unary(manager.stopAgent, byName<controllerV1.StopAgentRequest>, withAgent),
    restartAgent: proxy.unary(
      manager.restartAgent,
      byName<controllerV1.RestartAgentRequest>,
      withAgent,
    ),
    streamAgentLogs: proxy.serverStream(
      manager.streamAgentLogs,
      byName<controllerV1.StreamAgentLogsRequest>,
      unchanged,
    ),
    streamAgentStats: proxy.serverStream(
      manager.streamAgentStats,
      byName<controllerV1.StreamAgentStatsRequest>,
      unchanged,
    ),
  };
}
