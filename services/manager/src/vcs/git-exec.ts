import type Docker from 'dockerode';
import type { CommandRunner } from './container-sessions.js';
import { FailedPreconditionError, NotFoundError } from '@agenstra/shared';
import { writeSink } from '../runtime/container-runtime.js';
import { AGENT_GID, AGENT_UID, CONTAINER_WORKSPACE } from '../runtime/workspaces.js';

export interface ExecResult {
  exitCode: number;
  stdout: Buffer;
  stderr: string;
}

export interface ExecOptions {
  /** Written to the process's stdin, then closed. */
  stdin?: Buffer | string;
  /** Extra environment of this process only (how secrets reach git: never argv). */
  env?: Record<string, string>;
}

/**
 * The environment of every git process: no prompts (a missing credential fails instead of
 * hanging), C locale so messages can be recognised, pathspecs taken literally so a path like
 * "*" or ":(glob)x" names exactly that file, and transports limited to what a user could mean.
 */
export const GIT_ENV: Record<string, string> = {
  GIT_TERMINAL_PROMPT: '0',
  GIT_ASKPASS: '/bin/false',
  SSH_ASKPASS: '/bin/false',
  LC_ALL: 'C',
  LANG: 'C',
  GIT_LITERAL_PATHSPECS: '1',
  GIT_PROTOCOL_FROM_USER: '0',
  GIT_ALLOW_PROTOCOL: 'http:https:ssh:git:file',
  GIT_PAGER: 'cat',
  GIT_EDITOR: 'true',
  GIT_SEQUENCE_EDITOR: 'true',
  GIT_MERGE_AUTOEDIT: 'no',
  GIT_OPTIONAL_LOCKS: '0',
};

/**
 * Runs commands inside an agent's container as the agent user in /workspace (docker exec via the
 * Engine API). Argument vectors go to the engine as a list: no shell parses user input.
 */
export class ContainerExec implements CommandRunner {
  constructor(private readonly docker: Docker) {}

  async run(
    containerId: string,
    command: string[],
    options: ExecOptions = {},
  ): Promise<ExecResult> {
    const env = { ...GIT_ENV, ...options.env };
    let exec: Docker.Exec;
    try {
      exec = await this.docker.getContainer(containerId).exec({
        Cmd: command,
        User: `${AGENT_UID}:${AGENT_GID}`,
        WorkingDir: CONTAINER_WORKSPACE,
        Env: Object.entries(env).map(([key, value]) => `${key}=${value}`),
        AttachStdin: options.stdin !== undefined,
        AttachStdout: true,
        AttachStderr: true,
      });
    } catch (error) {
      const status = (error as { statusCode?: number }).statusCode;
      if (status === 404)
        throw new NotFoundError("the agent's container does not exist; start the agent");
      if (status === 409) {
        throw new FailedPreconditionError("the agent's container is not running; start the agent");
      }
      throw error;
    }
    const stream = await exec.start({ hijack: true, stdin: options.stdin !== undefined });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    this.docker.modem.demuxStream(
      stream,
      writeSink((chunk) => stdout.push(chunk)),
      writeSink((chunk) => stderr.push(chunk)),
    );
    const ended = new Promise<void>((resolve, reject) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', reject);
    });
    if (options.stdin !== undefined) stream.end(options.stdin);
    await ended;
    const { ExitCode } = await exec.inspect();
    return {
      exitCode: ExitCode ?? -1,
      stdout: Buffer.concat(stdout),
      stderr: Buffer.concat(stderr).toString('utf8'),
    };
  }
}
