import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Readable } from 'node:stream';
import { eventsV1 } from '@agenstra/proto';
import { AsyncQueue } from '@agenstra/shared';
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import { isNotFound } from './docker-client.js';
import { LineSplitter } from './lines.js';
import { AGENT_GID, AGENT_UID, CONTAINER_WORKSPACE, workspaceDirOf } from './workspaces.js';

const AgentState = eventsV1.AgentState;

export const AGENT_LABEL = 'agenstra.agent';
export const MANAGER_LABEL = 'agenstra.manager';
/** Fingerprint of what the container was created from; a restart recreates it when it differs. */
export const SPEC_LABEL = 'agenstra.spec';

/** Everything a container is created from; the environment holds decrypted secrets. */
export interface ContainerSpec {
  agentId: string;
  image: string;
  cpuMillis: number;
  memoryBytes: number;
  pidsLimit: number;
  environment: Record<string, string>;
}

export interface ContainerRuntimeOptions {
  docker: Docker;
  managerId: string;
  workspacesDir: string;
  logger: Logger;
  /**
   * INTERNAL, for tests only: replaces the image's command (the runner) so tests can attach to a
   * stand-in; never set from configuration.
   */
  commandOverride?: string[];
  /** Extra labels on every container, so tests can find and remove theirs. */
  extraLabels?: Record<string, string>;
}

/** What the engine says about an agent's container. */
export interface ContainerObservation {
  state: eventsV1.AgentState;
  reason: string;
  running: boolean;
  specFingerprint: string | undefined;
}

export interface ManagedContainer {
  containerId: string;
  agentId: string;
  running: boolean;
}

export interface ContainerLogLine {
  time: Date | undefined;
  stream: 'stdout' | 'stderr';
  text: string;
}

export interface ContainerStatsSample {
  time: Date;
  cpuMillis: number;
  cpuLimitMillis: number;
  memoryBytes: number;
  memoryLimitBytes: number;
  pids: number;
  networkRxBytes: number;
  networkTxBytes: number;
}

export type ContainerChange = 'start' | 'die' | 'stop' | 'restart' | 'destroy' | 'oom' | 'create';
const WATCHED_ACTIONS = new Set<string>([
  'start',
  'die',
  'stop',
  'restart',
  'destroy',
  'oom',
  'create',
]);

/** Docker logs and attach frame lines of up to 16 KiB; the contract allows lines up to 64 KiB. */
const MAX_LOG_LINE_CHARS = 64 * 1024;

/**
 * The Docker side of agents: one hardened container per agent, found again by its labels.
 *
 * Decisions:
 * - Restart policy `unless-stopped`: a crashed runner comes back by itself, and a container the
 *   manager stopped stays stopped, also across engine restarts.
 * - The root file system stays writable: the agent CLIs keep state under $HOME (e.g. ~/.claude) and
 *   the user (uid 1000, no capabilities, no-new-privileges) cannot write outside its home, /tmp and
 *   /workspace anyway. /tmp is a tmpfs.
 * - Network: the default bridge, because the agent CLIs call their providers' APIs. No Docker
 *   socket and no host paths other than the workspace are mounted.
 */
export class ContainerRuntime {
  constructor(private readonly options: ContainerRuntimeOptions) {}

  get docker(): Docker {
    return this.options.docker;
  }

  get managerId(): string {
    return this.options.managerId;
  }

  static containerNameOf(agentId: string): string {
    return `agenstra-agent-${agentId}`;
  }

  workspaceOf(agentId: string): string {
    return workspaceDirOf(this.options.workspacesDir, agentId);
  }

  /** Creates (or keeps) the agent's host workspace, owned by the container's agent user. */
  async prepareWorkspace(agentId: string): Promise<string> {
    const dir = this.workspaceOf(agentId);
    await fs.mkdir(dir, { recursive: true });
    await fs.chown(dir, AGENT_UID, AGENT_GID);
    await fs.chmod(dir, 0o750);
    return dir;
  }

  /**
   * `git init` of a workspace the manager has just created, on the host, then handed to the agent
   * user. Git otherwise runs in the container because the agent controls the workspace (README,
   * Decisions); a directory created a moment ago holds nothing an agent wrote, so git reads no
   * agent content here, and creating an agent needs no docker exec round trip. Only for that case:
   * a workspace that already existed is initialised in the container. (Git runs as root because
   * the agent user may not traverse WORKSPACES_DIR on the host.)
   */
  async initFreshWorkspace(agentId: string): Promise<void> {
    const dir = this.workspaceOf(agentId);
    try {
      await execFileAsync('git', ['-c', 'init.defaultBranch=main', 'init', '-q', dir], {
        cwd: dir,
        // No configuration of the host's users or system reaches the agent's repository.
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: dir,
          GIT_CONFIG_NOSYSTEM: '1',
          GIT_CONFIG_GLOBAL: '/dev/null',
          LC_ALL: 'C',
        },
      });
    } catch (error) {
      const { stderr, code } = error as { stderr?: string; code?: unknown };
      // A plain Error: an ENOENT here means no git on the host, not an absent Docker Engine.
      throw new Error(
        `git init of the new workspace failed` +
          (code === 'ENOENT' ? ': git is not installed on the manager host' : '') +
          (stderr ? `: ${stderr.trim()}` : ''),
        { cause: error },
      );
    }
    const entries = await fs.readdir(path.join(dir, '.git'), { recursive: true });
    await Promise.all(
      ['.git', ...entries.map((entry) => path.join('.git', entry))].map((entry) =>
        fs.lchown(path.join(dir, entry), AGENT_UID, AGENT_GID),
      ),
    );
  }

  async removeWorkspace(agentId: string): Promise<void> {
    await fs.rm(this.workspaceOf(agentId), { recursive: true, force: true });
  }

  /** Creates the container (not started) and returns its id. */
  async create(spec: ContainerSpec): Promise<string> {
    const name = ContainerRuntime.containerNameOf(spec.agentId);
    const labels = {
      ...this.options.extraLabels,
      [AGENT_LABEL]: spec.agentId,
      [MANAGER_LABEL]: this.options.managerId,
      [SPEC_LABEL]: fingerprintOf(spec),
    };
    const options: Docker.ContainerCreateOptions = {
      name,
      Image: spec.image,
      Labels: labels,
      Env: Object.entries(spec.environment).map(([key, value]) => `${key}=${value}`),
      ...(this.options.commandOverride ? { Cmd: this.options.commandOverride } : {}),
      User: `${AGENT_UID}:${AGENT_GID}`,
      WorkingDir: CONTAINER_WORKSPACE,
      OpenStdin: true,
      StdinOnce: false,
      Tty: false,
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      HostConfig: {
        Binds: [`${this.workspaceOf(spec.agentId)}:${CONTAINER_WORKSPACE}`],
        RestartPolicy: { Name: 'unless-stopped' },
        NanoCpus: spec.cpuMillis * 1_000_000,
        Memory: spec.memoryBytes,
        PidsLimit: spec.pidsLimit,
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges:true'],
        Privileged: false,
        ReadonlyRootfs: false,
        Tmpfs: { '/tmp': 'rw,nosuid,nodev,size=512m' },
        NetworkMode: 'bridge',
        LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '3' } },
      },
    };
    try {
      return (await this.docker.createContainer(options)).id;
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 409) throw error;
      // A container of this name is left from a create whose id was never recorded (the manager
      // died in between). It is ours only if it carries our labels; then replace it, never duplicate.
      await this.removeLeftover(name, spec.agentId);
      return (await this.docker.createContainer(options)).id;
    }
  }

  private async removeLeftover(name: string, agentId: string): Promise<void> {
    const info = await this.docker.getContainer(name).inspect();
    const labels = info.Config.Labels ?? {};
    if (labels[AGENT_LABEL] !== agentId || labels[MANAGER_LABEL] !== this.options.managerId) {
      throw new Error(`a container named ${name} exists and does not belong to this manager`);
    }
    this.options.logger.warn({ agentId, containerId: info.Id }, 'removing a leftover container');
    await this.remove(info.Id);
  }

  async start(containerId: string): Promise<void> {
    try {
      await this.docker.getContainer(containerId).start();
    } catch (error) {
      // 304: already running.
      if ((error as { statusCode?: number }).statusCode !== 304) throw error;
    }
  }

  async stop(containerId: string, timeoutSeconds: number): Promise<void> {
    try {
      await this.docker.getContainer(containerId).stop({ t: timeoutSeconds });
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode !== 304) throw error;
    }
  }

  async restart(containerId: string, timeoutSeconds: number): Promise<void> {
    await this.docker.getContainer(containerId).restart({ t: timeoutSeconds });
  }

  /** Removes the container, running or not; a container that is already gone is fine. */
  async remove(containerId: string): Promise<void> {
    try {
      await this.docker.getContainer(containerId).remove({ force: true });
    } catch (error) {
      if (isNotFound(error)) return;
      // 409: removal already in progress.
      if ((error as { statusCode?: number }).statusCode !== 409) throw error;
    }
  }

  /** The container's state as the engine reports it; CONTAINER_MISSING when it does not exist. */
  async observe(
    containerId: string | null,
    desired: 'running' | 'stopped',
  ): Promise<ContainerObservation> {
    if (!containerId) return missing('the container does not exist');
    try {
      const info = await this.docker.getContainer(containerId).inspect();
      return {
        ...stateOfContainer(info.State, desired),
        specFingerprint: info.Config.Labels?.[SPEC_LABEL],
      };
    } catch (error) {
      if (isNotFound(error)) return missing('the container was removed outside the manager');
      throw error;
    }
  }

  /** Whether a container was created from exactly this spec. */
  static matchesSpec(observation: ContainerObservation, spec: ContainerSpec): boolean {
    return observation.specFingerprint === fingerprintOf(spec);
  }

  /** Every container this manager created, by label. */
  async listManaged(): Promise<ManagedContainer[]> {
    const containers = await this.docker.listContainers({
      all: true,
      filters: JSON.stringify({ label: [`${MANAGER_LABEL}=${this.options.managerId}`] }),
    });
    return containers.map((container) => ({
      containerId: container.Id,
      agentId: container.Labels[AGENT_LABEL] ?? '',
      running: container.State === 'running',
    }));
  }

  /** Runs a command in the running container as the agent user; resolves with its exit code and output. */
  async exec(
    containerId: string,
    command: string[],
  ): Promise<{ exitCode: number; output: string }> {
    const exec = await this.docker.getContainer(containerId).exec({
      Cmd: command,
      User: `${AGENT_UID}:${AGENT_GID}`,
      WorkingDir: CONTAINER_WORKSPACE,
      AttachStdout: true,
      AttachStderr: true,
    });
    const stream = await exec.start({ hijack: true, stdin: false });
    const output: Buffer[] = [];
    const sink = writeSink((chunk) => output.push(chunk));
    this.docker.modem.demuxStream(stream, sink, sink);
    await new Promise<void>((resolve, reject) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', reject);
    });
    const { ExitCode } = await exec.inspect();
    return { exitCode: ExitCode ?? -1, output: Buffer.concat(output).toString('utf8') };
  }

  /**
   * Calls `onChange` for every lifecycle event of this manager's containers until the returned
   * function is called; reconnects when the engine's event stream ends (e.g. engine restart).
   */
  watch(
    onChange: (agentId: string, containerId: string, change: ContainerChange) => void,
  ): () => void {
    let stopped = false;
    let current: Readable | undefined;
    let failing = false;
    const connect = async () => {
      while (!stopped) {
        try {
          current = (await this.docker.getEvents({
            filters: JSON.stringify({
              type: ['container'],
              label: [`${MANAGER_LABEL}=${this.options.managerId}`],
            }),
          })) as unknown as Readable;
          failing = false;
          const lines = new LineSplitter();
          for await (const chunk of current) {
            for (const line of lines.push(chunk as Buffer)) {
              const event = parseJsonObject(line) as DockerEvent | undefined;
              const action = event?.Action?.split(':')[0] ?? '';
              const agentId = event?.Actor?.Attributes?.[AGENT_LABEL];
              if (event && agentId && WATCHED_ACTIONS.has(action)) {
                onChange(agentId, event.Actor!.ID!, action as ContainerChange);
              }
            }
          }
        } catch (error) {
          // Once per outage, not once per retry.
          if (!stopped && !failing) {
            this.options.logger.warn({ err: error }, 'Docker event stream failed; retrying');
          }
          failing = true;
        }
        if (!stopped) await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    };
    void connect();
    return () => {
      stopped = true;
      current?.destroy();
    };
  }

  /** The container's log as batches of lines, oldest first; ends when the log ends or on abort. */
  async logs(
    containerId: string,
    options: { tailLines: number; follow: boolean; since: Date | undefined; signal: AbortSignal },
  ): Promise<AsyncIterable<ContainerLogLine[]>> {
    const container = this.docker.getContainer(containerId);
    const common = {
      stdout: true,
      stderr: true,
      timestamps: true,
      tail: options.tailLines > 0 ? options.tailLines : ('all' as unknown as number),
      since: options.since ? Math.floor(options.since.getTime() / 1000) : 0,
    };
    const queue = new AsyncQueue<ContainerLogLine[]>();
    const splitters = { stdout: new LineSplitter(), stderr: new LineSplitter() };
    const sinkOf = (stream: 'stdout' | 'stderr') =>
      writeSink((chunk) => {
        const lines = splitters[stream]
          .push(chunk)
          .flatMap((line) => logLinesOf(line, stream, options.since));
        if (lines.length > 0) queue.push(lines);
      });
    const flush = () => {
      const rest = (['stdout', 'stderr'] as const).flatMap((stream) =>
        splitters[stream].end().flatMap((line) => logLinesOf(line, stream, options.since)),
      );
      if (rest.length > 0) queue.push(rest);
    };
    if (options.follow) {
      const stream = (await container.logs({ ...common, follow: true })) as unknown as Readable;
      const onAbort = () => stream.destroy();
      options.signal.addEventListener('abort', onAbort, { once: true });
      this.docker.modem.demuxStream(stream, sinkOf('stdout'), sinkOf('stderr'));
      const finish = () => {
        options.signal.removeEventListener('abort', onAbort);
        flush();
        queue.end();
      };
      stream.on('end', finish);
      stream.on('close', finish);
      stream.on('error', finish);
    } else {
      const buffer = (await container.logs({ ...common, follow: false })) as unknown as Buffer;
      demuxBuffer(buffer, sinkOf('stdout'), sinkOf('stderr'));
      flush();
      queue.end();
    }
    return queue;
  }

  /**
   * Resource samples every `intervalSeconds`; CPU is measured between consecutive samples, memory
   * excludes the page cache. Ends when the container stops or on abort.
   */
  async *stats(
    containerId: string,
    intervalSeconds: number,
    signal: AbortSignal,
  ): AsyncIterable<ContainerStatsSample> {
    const container = this.docker.getContainer(containerId);
    const info = await container.inspect();
    const cpuLimitMillis = Math.round((info.HostConfig.NanoCpus ?? 0) / 1_000_000);
    const stream = (await container.stats({ stream: true })) as unknown as Readable;
    const onAbort = () => stream.destroy();
    signal.addEventListener('abort', onAbort, { once: true });
    let previous: DockerStats | undefined;
    const lines = new LineSplitter();
    try {
      for await (const chunk of stream) {
        for (const line of lines.push(chunk as Buffer)) {
          const sample = parseJsonObject(line) as DockerStats | undefined;
          if (!sample) continue;
          const read = new Date(sample.read);
          if (!(sample.pids_stats?.current ?? 0) || !(await this.isRunning(containerId))) return;
          if (
            previous &&
            read.getTime() - new Date(previous.read).getTime() < intervalSeconds * 1000 - 500
          ) {
            continue;
          }
          if (previous) yield sampleOf(sample, previous, cpuLimitMillis);
          previous = sample;
        }
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      stream.destroy();
    }
  }

  private async isRunning(containerId: string): Promise<boolean> {
    try {
      return (await this.docker.getContainer(containerId).inspect()).State.Running;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }
}

interface DockerEvent {
  Action?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

interface DockerStats {
  read: string;
  cpu_stats: {
    cpu_usage: { total_usage: number };
    system_cpu_usage?: number;
    online_cpus?: number;
  };
  memory_stats: { usage?: number; limit?: number; stats?: Record<string, number> };
  pids_stats?: { current?: number };
  networks?: Record<string, { rx_bytes: number; tx_bytes: number }>;
}

function sampleOf(
  sample: DockerStats,
  previous: DockerStats,
  cpuLimitMillis: number,
): ContainerStatsSample {
  const cpuDelta =
    sample.cpu_stats.cpu_usage.total_usage - previous.cpu_stats.cpu_usage.total_usage;
  const systemDelta =
    (sample.cpu_stats.system_cpu_usage ?? 0) - (previous.cpu_stats.system_cpu_usage ?? 0);
  const cpus = sample.cpu_stats.online_cpus ?? 1;
  const memoryStats = sample.memory_stats.stats ?? {};
  // cgroup v2 reports inactive_file, v1 total_inactive_file; both are reclaimable page cache.
  const cache =
    memoryStats.inactive_file ?? memoryStats.total_inactive_file ?? memoryStats.cache ?? 0;
  const networks = Object.values(sample.networks ?? {});
  return {
    time: new Date(sample.read),
    cpuMillis:
      systemDelta > 0 && cpuDelta > 0 ? Math.round((cpuDelta / systemDelta) * cpus * 1000) : 0,
    cpuLimitMillis,
    memoryBytes: Math.max(0, (sample.memory_stats.usage ?? 0) - cache),
    memoryLimitBytes: sample.memory_stats.limit ?? 0,
    pids: sample.pids_stats?.current ?? 0,
    networkRxBytes: networks.reduce((sum, network) => sum + network.rx_bytes, 0),
    networkTxBytes: networks.reduce((sum, network) => sum + network.tx_bytes, 0),
  };
}

/** Maps the engine's container state to the agent state, given what the user asked for. */
export function stateOfContainer(
  state: Docker.ContainerInspectInfo['State'],
  desired: 'running' | 'stopped',
): Omit<ContainerObservation, 'specFingerprint'> {
  if (state.Restarting)
    return { state: AgentState.AGENT_STATE_RESTARTING, reason: '', running: false };
  if (state.Running) return { state: AgentState.AGENT_STATE_RUNNING, reason: '', running: true };
  switch (state.Status) {
    case 'removing':
      return { state: AgentState.AGENT_STATE_DELETING, reason: '', running: false };
    case 'created':
      return {
        state: AgentState.AGENT_STATE_STOPPED,
        reason: 'created, not started',
        running: false,
      };
    case 'paused':
      return { state: AgentState.AGENT_STATE_STOPPED, reason: 'paused', running: false };
  }
  if (desired === 'stopped')
    return { state: AgentState.AGENT_STATE_STOPPED, reason: '', running: false };
  const reason = state.OOMKilled
    ? `exited with code ${state.ExitCode} (out of memory)`
    : state.Error
      ? `exited with code ${state.ExitCode}: ${state.Error}`
      : `exited with code ${state.ExitCode}`;
  return {
    state: state.ExitCode === 0 ? AgentState.AGENT_STATE_STOPPED : AgentState.AGENT_STATE_FAILED,
    reason,
    running: false,
  };
}

const execFileAsync = promisify(execFile);

function missing(reason: string): ContainerObservation {
  return {
    state: AgentState.AGENT_STATE_CONTAINER_MISSING,
    reason,
    running: false,
    specFingerprint: undefined,
  };
}

function fingerprintOf(spec: ContainerSpec): string {
  const environment = Object.entries(spec.environment).sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
  const canonical = JSON.stringify([
    spec.image,
    spec.cpuMillis,
    spec.memoryBytes,
    spec.pidsLimit,
    environment,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

/** `2026-11-27T10:00:00.123456789Z text` (timestamps: true) into log lines of at most 64 KiB. */
function logLinesOf(
  line: string,
  stream: 'stdout' | 'stderr',
  since: Date | undefined,
): ContainerLogLine[] {
  const space = line.indexOf(' ');
  const parsed = space > 0 ? new Date(line.slice(0, space)) : undefined;
  const time = parsed && !Number.isNaN(parsed.getTime()) ? parsed : undefined;
  // The engine filters `since` to whole seconds; drop the lines before the exact instant.
  if (since && time && time < since) return [];
  const text = time ? line.slice(space + 1) : line;
  const parts: ContainerLogLine[] = [];
  for (let offset = 0; offset === 0 || offset < text.length; offset += MAX_LOG_LINE_CHARS) {
    parts.push({ time, stream, text: text.slice(offset, offset + MAX_LOG_LINE_CHARS) });
  }
  return parts;
}

/** Splits a complete multiplexed log (8-byte frame headers: stream, 0, 0, 0, length BE) in order. */
function demuxBuffer(
  buffer: Buffer,
  stdout: NodeJS.WritableStream,
  stderr: NodeJS.WritableStream,
): void {
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const length = buffer.readUInt32BE(offset + 4);
    const payload = buffer.subarray(offset + 8, offset + 8 + length);
    (buffer[offset] === 2 ? stderr : stdout).write(payload);
    offset += 8 + length;
  }
}

/**
 * docker-modem's demuxStream only calls `write` on its targets; this adapts a callback to that
 * without the buffering of a real Writable.
 */
export function writeSink(write: (chunk: Buffer) => void): NodeJS.WritableStream {
  return {
    write: (chunk: Buffer) => {
      write(chunk);
      return true;
    },
  } as unknown as NodeJS.WritableStream;
}

export function parseJsonObject(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
