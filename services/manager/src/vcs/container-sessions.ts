import type Docker from 'dockerode';
import { UnavailableError } from '@agenstra/shared';
import type { Logger } from 'pino';
import { writeSink } from '../runtime/container-runtime.js';
import { AGENT_GID, AGENT_UID, CONTAINER_WORKSPACE } from '../runtime/workspaces.js';
import { GIT_ENV, type ContainerExec, type ExecOptions, type ExecResult } from './git-exec.js';

/** Runs a command in an agent's container as the agent user in /workspace. */
export interface CommandRunner {
  run(containerId: string, command: string[], options?: ExecOptions): Promise<ExecResult>;
}

/**
 * The helper one long-lived exec runs (the image's Node): it reads one JSON request per line
 * (argv, environment, base64 stdin), spawns the command without a shell and answers one JSON
 * line (exit code, base64 stdout, stderr). It exits when its stdin closes.
 */
const HELPER_SCRIPT = `
const { spawn } = require('child_process');
let buffered = '';
const reply = (message) => process.stdout.write(JSON.stringify(message) + '\\n');
function handle(request) {
  let done = false;
  const out = [];
  const err = [];
  const finish = (code) => {
    if (done) return;
    done = true;
    reply({ id: request.id, code, out: Buffer.concat(out).toString('base64'), err: Buffer.concat(err).toString('utf8') });
  };
  const child = spawn(request.cmd[0], request.cmd.slice(1), {
    cwd: '${CONTAINER_WORKSPACE}',
    env: Object.assign({}, process.env, request.env),
  });
  child.stdout.on('data', (chunk) => out.push(chunk));
  child.stderr.on('data', (chunk) => err.push(chunk));
  child.on('error', (error) => { err.push(Buffer.from(error.message)); finish(127); });
  child.on('close', (code) => finish(code === null ? 128 : code));
  child.stdin.on('error', () => {});
  child.stdin.end(request.stdin === undefined ? undefined : Buffer.from(request.stdin, 'base64'));
}
process.stdin.on('data', (chunk) => {
  buffered += chunk.toString('utf8');
  let newline;
  while ((newline = buffered.indexOf('\\n')) !== -1) {
    const line = buffered.slice(0, newline);
    buffered = buffered.slice(newline + 1);
    if (line) handle(JSON.parse(line));
  }
});
process.stdin.on('end', () => process.exit(0));
`;

interface Pending {
  resolve: (result: ExecResult) => void;
  reject: (error: Error) => void;
}

/** One helper process in one container. */
class Session {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly chunks: Buffer[] = [];

  constructor(
    private readonly stream: NodeJS.ReadWriteStream,
    private readonly idleMs: number,
    private readonly onClose: () => void,
  ) {
    stream.on('end', () => this.lost());
    stream.on('close', () => this.lost());
    stream.on('error', () => this.lost());
    this.armIdle();
  }

  onStdout(chunk: Buffer): void {
    let start = 0;
    let newline = chunk.indexOf(10);
    while (newline !== -1) {
      this.chunks.push(chunk.subarray(start, newline));
      const line = Buffer.concat(this.chunks).toString('utf8');
      this.chunks.length = 0;
      this.answer(line);
      start = newline + 1;
      newline = chunk.indexOf(10, start);
    }
    if (start < chunk.length) this.chunks.push(chunk.subarray(start));
  }

  private answer(line: string): void {
    const message = JSON.parse(line) as { id: number; code: number; out: string; err: string };
    const waiter = this.pending.get(message.id);
    if (!waiter) return;
    this.pending.delete(message.id);
    waiter.resolve({
      exitCode: message.code,
      stdout: Buffer.from(message.out, 'base64'),
      stderr: message.err,
    });
    this.armIdle();
  }

  call(command: string[], options: ExecOptions): Promise<ExecResult> {
    if (this.closed) return Promise.reject(new SessionClosed());
    const id = this.nextId++;
    const stdin =
      options.stdin === undefined ? undefined : Buffer.from(options.stdin).toString('base64');
    clearTimeout(this.idleTimer);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.stream.write(`${JSON.stringify({ id, cmd: command, env: options.env ?? {}, stdin })}\n`);
    });
  }

  private armIdle(): void {
    clearTimeout(this.idleTimer);
    if (this.pending.size > 0 || this.closed) return;
    this.idleTimer = setTimeout(() => this.close(), this.idleMs);
    this.idleTimer.unref();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.idleTimer);
    this.onClose();
    this.stream.end();
  }

  private lost(): void {
    this.close();
    for (const waiter of this.pending.values()) {
      waiter.reject(new UnavailableError("the agent's container stopped while git was running"));
    }
    this.pending.clear();
  }
}

class SessionClosed extends Error {}

/**
 * Runs commands through one long-lived helper exec per container instead of one `docker exec`
 * per command: an exec costs ~70 ms of runc start-up, a spawn inside the container a few ms, and
 * GetStatus is called on every console refresh. Secrets travel in the request on the helper's
 * stdin, never in an argv or an exec's configuration. The helper ends after `idleMs` without
 * calls or when the container stops; a session that cannot be opened falls back to a plain exec.
 */
export class ContainerSessions implements CommandRunner {
  private readonly sessions = new Map<string, Promise<Session | undefined>>();

  constructor(
    private readonly docker: Docker,
    private readonly fallback: ContainerExec,
    private readonly logger: Logger,
    private readonly idleMs = 60_000,
  ) {}

  async run(
    containerId: string,
    command: string[],
    options: ExecOptions = {},
  ): Promise<ExecResult> {
    let opening = this.sessions.get(containerId);
    if (!opening) {
      opening = this.open(containerId);
      this.sessions.set(containerId, opening);
    }
    const session = await opening;
    if (!session) {
      this.sessions.delete(containerId);
      return this.fallback.run(containerId, command, options);
    }
    try {
      return await session.call(command, options);
    } catch (error) {
      // Closed by its idle timer between lookup and call: nothing ran, so run it on a new one.
      if (error instanceof SessionClosed) return this.run(containerId, command, options);
      throw error;
    }
  }

  private async open(containerId: string): Promise<Session | undefined> {
    try {
      const exec = await this.docker.getContainer(containerId).exec({
        Cmd: ['node', '-e', HELPER_SCRIPT],
        User: `${AGENT_UID}:${AGENT_GID}`,
        WorkingDir: CONTAINER_WORKSPACE,
        Env: Object.entries(GIT_ENV).map(([key, value]) => `${key}=${value}`),
        AttachStdin: true,
        AttachStdout: true,
        AttachStderr: true,
      });
      const stream = (await exec.start({ hijack: true, stdin: true })) as NodeJS.ReadWriteStream;
      const session = new Session(stream, this.idleMs, () => this.sessions.delete(containerId));
      this.docker.modem.demuxStream(
        stream,
        writeSink((chunk) => session.onStdout(chunk)),
        writeSink((chunk) =>
          this.logger.warn(
            { containerId, stderr: chunk.toString('utf8') },
            'git helper wrote to stderr',
          ),
        ),
      );
      return session;
    } catch (error) {
      this.logger.debug({ err: error, containerId }, 'no git helper session; using a plain exec');
      return undefined;
    }
  }

  close(): void {
    for (const opening of this.sessions.values()) void opening.then((session) => session?.close());
    this.sessions.clear();
  }
}
