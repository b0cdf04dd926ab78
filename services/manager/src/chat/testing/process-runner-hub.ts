import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { FailedPreconditionError } from '@agenstra/shared';
import {
  RUNNER_PROTOCOL_VERSION,
  type RunnerHub,
  type RunnerInput,
  type RunnerOutput,
} from '../../runtime/runner-protocol.js';

/** The real agent runner from the agent image's sources. */
export const RUNNER_MAIN = path.resolve(
  __dirname,
  '../../../../../deploy/agent-image/runner/main.js',
);

/** A runner running as a child process of the test, outliving the hubs attached to it. */
export interface RunnerProcess {
  child: ChildProcessWithoutNullStreams;
  stop: () => Promise<void>;
}

export function spawnEchoRunner(workspaceDir: string): RunnerProcess {
  const child = spawn(process.execPath, [RUNNER_MAIN], {
    env: { ...process.env, AGENSTRA_AGENT_TYPE: 'echo', AGENSTRA_WORKSPACE: workspaceDir },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stderr.resume();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * A RunnerHub over runner processes started by a test, for testing chat without Docker: the
 * same protocol the container runtime speaks over `docker attach`. Attaching says `hello`, as
 * the runtime does after every attach. A second hub can attach to the same process after the
 * first is abandoned, which is what a manager restart looks like to the runner.
 */
export class ProcessRunnerHub implements RunnerHub {
  private readonly attached = new Map<string, { runner: RunnerProcess; detach: () => void }>();
  private readonly listeners = new Set<(agentId: string, output: RunnerOutput) => void>();

  attach(agentId: string, runner: RunnerProcess): void {
    const lines = createInterface({ input: runner.child.stdout });
    lines.on('line', (line) => {
      let output: RunnerOutput;
      try {
        output = JSON.parse(line) as RunnerOutput;
      } catch {
        return;
      }
      for (const listener of this.listeners) listener(agentId, output);
    });
    this.attached.set(agentId, {
      runner,
      detach: () => {
        lines.close();
        runner.child.stdout.resume();
      },
    });
    this.write(runner, { type: 'hello', protocol: RUNNER_PROTOCOL_VERSION });
  }

  /** Stops reading the runner without stopping it, as a killed manager would. */
  detach(agentId: string): void {
    this.attached.get(agentId)?.detach();
    this.attached.delete(agentId);
  }

  detachAll(): void {
    for (const agentId of [...this.attached.keys()]) this.detach(agentId);
  }

  send(agentId: string, input: RunnerInput): Promise<void> {
    const attachment = this.attached.get(agentId);
    if (!attachment) {
      return Promise.reject(new FailedPreconditionError(`agent ${agentId} has no attached runner`));
    }
    this.write(attachment.runner, input);
    return Promise.resolve();
  }

  subscribe(listener: (agentId: string, output: RunnerOutput) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private write(runner: RunnerProcess, input: RunnerInput): void {
    runner.child.stdin.write(`${JSON.stringify(input)}\n`);
  }
}
