import type { Duplex } from 'node:stream';
import { FailedPreconditionError } from '@agenstra/shared';
import type Docker from 'dockerode';
import type { Logger } from 'pino';
import { parseJsonObject, writeSink } from './container-runtime.js';
import { LineSplitter } from './lines.js';
import {
  RUNNER_PROTOCOL_VERSION,
  type RunnerHub,
  type RunnerInput,
  type RunnerOutput,
} from './runner-protocol.js';

interface Attachment {
  containerId: string;
  stream: Duplex;
}

type Listener = (agentId: string, output: RunnerOutput) => void;

/**
 * Keeps one attachment to the runner of each running agent container: stdin for `send`, stdout
 * split into JSON lines for subscribers (stderr is diagnostics, already in the container log).
 * `attach` is called by the runtime after every start; it sends `hello`, so the runner answers
 * `ready` and re-sends what the manager has not acknowledged.
 */
export class DockerRunnerHub implements RunnerHub {
  private readonly attachments = new Map<string, Attachment>();
  private readonly pending = new Map<string, Promise<void>>();
  private readonly listeners = new Set<Listener>();

  constructor(
    private readonly docker: Docker,
    private readonly logger: Logger,
  ) {}

  isAttached(agentId: string): boolean {
    return this.attachments.has(agentId);
  }

  /** Attaches to the agent's container unless already attached to that very container. */
  attach(agentId: string, containerId: string): Promise<void> {
    const existing = this.attachments.get(agentId);
    if (existing?.containerId === containerId && !existing.stream.destroyed)
      return Promise.resolve();
    const inFlight = this.pending.get(agentId);
    if (inFlight) return inFlight;
    const attaching = this.connect(agentId, containerId).finally(() =>
      this.pending.delete(agentId),
    );
    this.pending.set(agentId, attaching);
    return attaching;
  }

  private async connect(agentId: string, containerId: string): Promise<void> {
    this.detach(agentId);
    const stream = (await this.docker.getContainer(containerId).attach({
      stream: true,
      stdin: true,
      stdout: true,
      stderr: true,
      hijack: true,
    })) as Duplex;
    const attachment = { containerId, stream };
    this.attachments.set(agentId, attachment);
    const lines = new LineSplitter();
    const stdout = writeSink((chunk) => {
      for (const line of lines.push(chunk)) this.dispatch(agentId, line);
    });
    const stderr = writeSink(() => undefined);
    this.docker.modem.demuxStream(stream, stdout, stderr);
    const forget = () => {
      if (this.attachments.get(agentId) === attachment) this.attachments.delete(agentId);
    };
    stream.on('end', forget);
    stream.on('close', forget);
    stream.on('error', (error) => {
      this.logger.warn({ agentId, err: error }, 'runner attachment failed');
      forget();
    });
    this.logger.debug({ agentId, containerId }, 'attached to the agent runner');
    await this.send(agentId, { type: 'hello', protocol: RUNNER_PROTOCOL_VERSION });
  }

  /** Drops the attachment (the container keeps running). */
  detach(agentId: string): void {
    const attachment = this.attachments.get(agentId);
    if (!attachment) return;
    this.attachments.delete(agentId);
    attachment.stream.destroy();
  }

  detachAll(): void {
    for (const agentId of [...this.attachments.keys()]) this.detach(agentId);
  }

  send(agentId: string, input: RunnerInput): Promise<void> {
    const attachment = this.attachments.get(agentId);
    if (!attachment || !attachment.stream.writable) {
      return Promise.reject(
        new FailedPreconditionError(`agent ${agentId} is not running (no runner is attached)`),
      );
    }
    return new Promise((resolve, reject) =>
      attachment.stream.write(`${JSON.stringify(input)}\n`, (error) =>
        error
          ? reject(new FailedPreconditionError(`agent ${agentId}: ${error.message}`))
          : resolve(),
      ),
    );
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private dispatch(agentId: string, line: string): void {
    if (line.trim() === '') return;
    const output = parseJsonObject(line);
    if (!output || typeof output.type !== 'string') {
      // Never log the line itself: it may carry what the agent printed, secrets included.
      this.logger.warn(
        { agentId, length: line.length },
        'ignored a runner line that is not a JSON object',
      );
      return;
    }
    for (const listener of this.listeners) {
      try {
        listener(agentId, output as unknown as RunnerOutput);
      } catch (error) {
        this.logger.error({ agentId, err: error }, 'a runner subscriber failed');
      }
    }
  }
}
