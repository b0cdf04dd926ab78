import type { Logger } from 'pino';

/** Closes one resource. Returning `{ forced: true }` means it had to cut work short. */
export type Closer = () => Promise<void | { forced: boolean }>;

export interface ShutdownOptions {
  logger: Logger;
  /** How long the whole shutdown may take before the process exits anyway, in milliseconds. */
  deadlineMs: number;
  /** Ends the process; replaceable so tests can observe the exit code. */
  exit?: (code: number) => void;
}

/**
 * Runs registered closers in reverse order of registration on SIGTERM/SIGINT, so resources opened
 * first (the database) close last and the gRPC server, registered last, drains first.
 * Exits 0 when everything closed cleanly, 1 when something was forced or failed.
 */
export class Shutdown {
  private readonly closers: Array<{ name: string; close: Closer }> = [];
  private running: Promise<number> | undefined;

  constructor(private readonly options: ShutdownOptions) {}

  register(name: string, close: Closer): void {
    this.closers.push({ name, close });
  }

  /** Installs the signal handlers. A second signal while shutting down is logged and ignored. */
  listen(signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT']): void {
    for (const signal of signals) {
      process.on(signal, () => {
        if (this.running) {
          this.options.logger.warn({ signal }, 'already shutting down');
          return;
        }
        void this.run(signal).then((code) => (this.options.exit ?? process.exit)(code));
      });
    }
  }

  /** Closes everything once; later calls return the same result. Resolves with the exit code. */
  run(reason: string): Promise<number> {
    this.running ??= this.closeAll(reason);
    return this.running;
  }

  private async closeAll(reason: string): Promise<number> {
    const { logger, deadlineMs } = this.options;
    logger.info({ reason }, 'shutting down');
    const hardStop = setTimeout(() => {
      logger.error({ deadlineMs }, 'shutdown took too long, exiting');
      (this.options.exit ?? process.exit)(1);
    }, deadlineMs);
    hardStop.unref();

    let clean = true;
    for (const { name, close } of [...this.closers].reverse()) {
      logger.info({ step: name }, `closing ${name}`);
      try {
        const result = await close();
        if (result?.forced) {
          clean = false;
          logger.warn({ step: name }, `closed ${name} by force`);
        } else {
          logger.info({ step: name }, `closed ${name}`);
        }
      } catch (error) {
        clean = false;
        logger.error({ step: name, err: error }, `failed to close ${name}`);
      }
    }
    clearTimeout(hardStop);
    logger.info({ exitCode: clean ? 0 : 1 }, 'shut down');
    return clean ? 0 : 1;
  }
}
