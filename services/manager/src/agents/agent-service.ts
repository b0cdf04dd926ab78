import { managerV1 } from '@agenstra/proto';
import { InvalidArgumentError, serverStream, unary } from '@agenstra/shared';
import type { Logger } from 'pino';
import type { ServerWritableStream } from '@grpc/grpc-js';
import {
  agentIdOfName,
  mutableFieldsOf,
  validateAgentId,
  validateDisplayName,
  validateEnvironment,
  validateEnvironments,
  validateImage,
  validateModel,
  validateRepository,
  type RepositoryRules,
  validateResources,
  validateType,
} from './agent-validation.js';
import type { Agents } from './agents.js';

const MAX_LOG_BATCH = 1000;

/** manager.v1.AgentService: validate, call the agents capability, map errors (by the wrappers). */
export function agentService(
  agents: Agents,
  repositoryRules: RepositoryRules,
  logger: Logger,
): managerV1.AgentServiceServer {
  return {
    createAgent: unary(async (request: managerV1.CreateAgentRequest) => {
      const agent = request.agent;
      if (!agent) throw new InvalidArgumentError('agent: required');
      if (request.agentId) validateAgentId(request.agentId);
      validateDisplayName(agent.displayName);
      validateType(agent.type);
      validateImage(agent.image);
      validateResources(agent.resources);
      validateModel(agent.model);
      validateEnvironments(agent.environment, agent.secretEnvironment);
      validateRepository(agent.repository, repositoryRules);
      return agents.create({
        agentId: request.agentId,
        displayName: agent.displayName,
        type: agent.type,
        image: agent.image,
        resources: agent.resources,
        repository: agent.repository,
        model: agent.model,
        environment: agent.environment,
        secretEnvironment: agent.secretEnvironment,
      });
    }, logger),

    getAgent: unary(
      async (request: managerV1.GetAgentRequest) => ({
        agent: await agents.get(agentIdOfName(request.name)),
      }),
      logger,
    ),

    listAgents: unary(async (request: managerV1.ListAgentsRequest) => {
      if (request.pageSize < 0) throw new InvalidArgumentError('page_size: must not be negative');
      return agents.list(request.pageSize, request.pageToken);
    }, logger),

    updateAgent: unary(async (request: managerV1.UpdateAgentRequest) => {
      const agent = request.agent;
      if (!agent) throw new InvalidArgumentError('agent: required');
      const agentId = agentIdOfName(agent.name, 'agent.name');
      const fields = mutableFieldsOf(request.updateMask);
      if (fields.has('display_name')) validateDisplayName(agent.displayName);
      if (fields.has('image')) validateImage(agent.image);
      if (fields.has('resources')) validateResources(agent.resources);
      if (fields.has('model')) validateModel(agent.model);
      if (fields.has('environment')) validateEnvironment(agent.environment, 'agent.environment');
      if (fields.has('secret_environment')) {
        validateEnvironment(agent.secretEnvironment, 'agent.secret_environment');
      }
      return { agent: await agents.update(agentId, fields, agent) };
    }, logger),

    deleteAgent: unary(async (request: managerV1.DeleteAgentRequest) => {
      await agents.delete(agentIdOfName(request.name), request.keepWorkspace);
      return {};
    }, logger),

    startAgent: unary(
      async (request: managerV1.StartAgentRequest) => ({
        agent: await agents.start(agentIdOfName(request.name)),
      }),
      logger,
    ),

    stopAgent: unary(
      async (request: managerV1.StopAgentRequest) => ({
        agent: await agents.stop(
          agentIdOfName(request.name),
          stopTimeoutOf(request.timeoutSeconds),
        ),
      }),
      logger,
    ),

    restartAgent: unary(
      async (request: managerV1.RestartAgentRequest) => ({
        agent: await agents.restart(
          agentIdOfName(request.name),
          stopTimeoutOf(request.timeoutSeconds),
        ),
      }),
      logger,
    ),

    streamAgentLogs: serverStream(async function* (
      request: managerV1.StreamAgentLogsRequest,
      call: ServerWritableStream<
        managerV1.StreamAgentLogsRequest,
        managerV1.StreamAgentLogsResponse
      >,
    ) {
      const containerId = await agents.containerOf(agentIdOfName(request.name));
      const abort = abortOnCancel(call);
      const since = request.sinceTime ? new Date(request.sinceTime) : undefined;
      const batches = await agents.containerLogs(containerId, {
        tailLines: request.tailLines,
        follow: request.follow,
        since,
        signal: abort.signal,
      });
      for await (const batch of batches) {
        for (let offset = 0; offset < batch.length; offset += MAX_LOG_BATCH) {
          yield {
            lines: batch.slice(offset, offset + MAX_LOG_BATCH).map((line) => ({
              time: line.time?.toISOString(),
              stream:
                line.stream === 'stderr'
                  ? managerV1.LogStream.LOG_STREAM_STDERR
                  : managerV1.LogStream.LOG_STREAM_STDOUT,
              text: line.text,
            })),
          };
        }
      }
    }, logger),

    streamAgentStats: serverStream(async function* (
      request: managerV1.StreamAgentStatsRequest,
      call: ServerWritableStream<
        managerV1.StreamAgentStatsRequest,
        managerV1.StreamAgentStatsResponse
      >,
    ) {
      const interval = request.intervalSeconds === 0 ? 2 : request.intervalSeconds;
      if (interval < 1 || interval > 60) {
        throw new InvalidArgumentError('interval_seconds: 0 (2 seconds) or 1 to 60');
      }
      const containerId = await agents.containerOf(agentIdOfName(request.name));
      const abort = abortOnCancel(call);
      for await (const sample of agents.containerStats(containerId, interval, abort.signal)) {
        yield {
          time: sample.time.toISOString(),
          cpuMillis: sample.cpuMillis,
          cpuLimitMillis: sample.cpuLimitMillis,
          memoryBytes: String(sample.memoryBytes),
          memoryLimitBytes: String(sample.memoryLimitBytes),
          pids: sample.pids,
          networkRxBytes: String(sample.networkRxBytes),
          networkTxBytes: String(sample.networkTxBytes),
        };
      }
    }, logger),
  };
}

function stopTimeoutOf(timeoutSeconds: number): number {
  if (timeoutSeconds > 300) throw new InvalidArgumentError('timeout_seconds: at most 300');
  return timeoutSeconds === 0 ? 10 : timeoutSeconds;
}

function abortOnCancel(call: {
  on(event: 'cancelled', listener: () => void): unknown;
}): AbortController {
  const abort = new AbortController();
  call.on('cancelled', () => abort.abort());
  return abort;
}
