import { watch, promises as fs, type FSWatcher } from 'node:fs';
import type { Logger } from 'pino';
import { workspaceDirOf } from '../runtime/workspaces.js';
import { signatureOf } from './file-info.js';
import { AGENT_ACTOR, FileEventKind, type FileEvents, type FileChange } from './file-events.js';
import {
  TEMP_PREFIX,
  WorkspaceRoot,
  isErrno,
  joinPath,
  lstatAt,
  pathAt,
} from './workspace-path.js';

/** Quiet time after the last change before a path's event is published. */
const SETTLE_MS = 100;
/** Longest a busy workspace holds changes back. */
const MAX_HOLD_MS = 500;

/** What the file service did, so the watcher does not publish it a second time as the agent's. */
export type OwnChange =
  | { kind: 'present'; path: string }
  | { kind: 'deleted'; path: string }
  | { kind: 'moved'; from: string; to: string };

/** `.git` internals never produce events (a commit is reported by VcsEvents, not file by file). */
function isIgnored(path: string): boolean {
  const segments = path.split('/');
  return segments.includes('.git') || segments[segments.length - 1].startsWith(TEMP_PREFIX);
}

function isAtOrBelow(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(`${prefix}/`);
}

/**
 * Watches agents' workspaces and publishes the changes nobody announced (the agent's, inside its
 * container) as `.files` events with actor AGENT.
 *
 * One inotify watch per directory (fs.watch, non-recursive), added through the directory's own
 * descriptor so a directory swapped for a symlink is never watched outside the workspace.
 * Changes are coalesced per path: after SETTLE_MS of quiet (MAX_HOLD_MS at most) each changed
 * path is compared with the state last known for it (kind, inode, size, mtime, mode), so a
 * burst of writes is one CHANGED, a temporary file that came and went is nothing, and the
 * entries of a directory created or deleted as a whole are covered by that directory's one
 * event. The file service reports its own changes through `recordOwnChange`, which updates the
 * known state, so its changes are published once (by the service, with the user as actor).
 * Moves inside the container arrive as DELETED + CREATED (inotify's move cookies are not
 * exposed by fs.watch).
 */
export class WorkspaceWatchers {
  private readonly watches = new Map<string, WorkspaceWatch>();
  private readonly started = new WeakSet<WorkspaceWatch>();

  constructor(
    private readonly workspacesDir: string,
    private readonly events: FileEvents,
    private readonly logger: Logger,
  ) {}

  /** Starts watching an agent's workspace (idempotent). Call when the agent is created or found at start. */
  async watchWorkspace(agentId: string): Promise<void> {
    if (this.watches.has(agentId)) return;
    const watch = new WorkspaceWatch(
      agentId,
      workspaceDirOf(this.workspacesDir, agentId),
      this.events,
      this.logger.child({ agentId }),
    );
    this.watches.set(agentId, watch);
    try {
      await watch.start();
      this.started.add(watch);
    } catch (error) {
      this.watches.delete(agentId);
      await watch.stop();
      throw error;
    }
  }

  /** Stops watching (idempotent). Call before the agent's workspace is removed. */
  async unwatch(agentId: string): Promise<void> {
    const watch = this.watches.get(agentId);
    this.watches.delete(agentId);
    if (watch) this.started.delete(watch);
    await watch?.stop();
  }

  /** True once the workspace's watches are in place, so every later change is seen. */
  isWatching(agentId: string): boolean {
    const watch = this.watches.get(agentId);
    return watch !== undefined && this.started.has(watch);
  }

  async recordOwnChange(agentId: string, change: OwnChange): Promise<void> {
    await this.watches.get(agentId)?.recordOwnChange(change);
  }

  async close(): Promise<void> {
    await Promise.all([...this.watches.keys()].map((agentId) => this.unwatch(agentId)));
  }
}

class WorkspaceWatch {
  private root?: WorkspaceRoot;
  private readonly directoryWatchers = new Map<string, FSWatcher>();
  /** Last known signature of every entry below the root (except ignored ones). */
  private readonly known = new Map<string, string>();
  private readonly pending = new Set<string>();
  private settleTimer?: NodeJS.Timeout;
  private holdTimer?: NodeJS.Timeout;
  /** Serialises flushes and own-change records, so they see the known state one at a time. */
  private queue: Promise<void> = Promise.resolve();
  private stopped = false;
  private watchLimitWarned = false;

  constructor(
    private readonly agentId: string,
    private readonly directory: string,
    private readonly events: FileEvents,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    this.root = await WorkspaceRoot.open(this.directory);
    await this.enqueue(() => this.scanDirectory(''));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.settleTimer);
    clearTimeout(this.holdTimer);
    for (const watcher of this.directoryWatchers.values()) watcher.close();
    this.directoryWatchers.clear();
    await this.queue;
    await this.root?.close();
    this.root = undefined;
  }

  recordOwnChange(change: OwnChange): Promise<void> {
    return this.enqueue(async () => {
      if (change.kind === 'moved') {
        this.forgetBelow(change.from);
        this.forgetBelow(change.to);
        await this.refresh(change.to);
      } else if (change.kind === 'deleted') {
        this.forgetBelow(change.path);
      } else {
        await this.refresh(change.path);
      }
    });
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.queue.then(async () => {
      if (!this.stopped) await task();
    });
    this.queue = run.catch((error: unknown) =>
      this.logger.warn({ err: error }, 'workspace watcher step failed'),
    );
    return run;
  }

  /** Records the current state of `path` (and, for a new directory, everything below) silently. */
  private async refresh(path: string): Promise<void> {
    const stats = await this.lstat(path);
    if (!stats) {
      this.forgetBelow(path);
      return;
    }
    const wasDirectory = this.known.get(path)?.startsWith('d:');
    this.known.set(path, signatureOf(stats));
    if (stats.isDirectory() && !wasDirectory) await this.scanDirectory(path);
  }

  /** Watches `path` (a directory) and everything below it, recording their state. */
  private async scanDirectory(path: string): Promise<void> {
    if (!this.root || isIgnored(path)) return;
    let handle;
    try {
      handle = await this.root.openDirectory(path === '' ? [] : path.split('/'));
    } catch {
      return; // gone or replaced meanwhile: the parent's events will tell
    }
    try {
      this.addWatch(path, pathAt(handle));
      for (const name of await fs.readdir(pathAt(handle))) {
        const child = joinPath(path, name);
        if (isIgnored(child)) continue;
        const stats = await lstatAt(handle, name);
        if (!stats) continue;
        this.known.set(child, signatureOf(stats));
        if (stats.isDirectory()) await this.scanDirectory(child);
      }
    } finally {
      await handle.close();
    }
  }

  private addWatch(path: string, descriptorPath: string): void {
    this.directoryWatchers.get(path)?.close();
    let watcher: FSWatcher;
    try {
      watcher = watch(descriptorPath, { persistent: false }, (_type, name) => {
        if (name === null) {
          this.changed(path, true);
          return;
        }
        this.changed(joinPath(path, name.toString()), false);
      });
    } catch (error) {
      if (isErrno(error, 'ENOSPC') && !this.watchLimitWarned) {
        this.watchLimitWarned = true;
        this.logger.warn(
          { path },
          'inotify watch limit reached (fs.inotify.max_user_watches): some directories are not watched',
        );
        return;
      }
      throw error;
    }
    watcher.on('error', () => {
      watcher.close();
      if (this.directoryWatchers.get(path) === watcher) this.directoryWatchers.delete(path);
    });
    this.directoryWatchers.set(path, watcher);
  }

  private changed(path: string, wholeDirectory: boolean): void {
    if (this.stopped || isIgnored(path)) return;
    if (wholeDirectory) {
      for (const known of this.known.keys()) if (isAtOrBelow(known, path)) this.pending.add(known);
    }
    this.pending.add(path);
    clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(() => this.scheduleFlush(), SETTLE_MS);
    this.holdTimer ??= setTimeout(() => this.scheduleFlush(), MAX_HOLD_MS);
  }

  private scheduleFlush(): void {
    clearTimeout(this.settleTimer);
    clearTimeout(this.holdTimer);
    this.settleTimer = undefined;
    this.holdTimer = undefined;
    void this.enqueue(() => this.flush());
  }

  private async flush(): Promise<void> {
    const paths = [...this.pending].sort();
    this.pending.clear();
    const covered: string[] = [];
    for (const path of paths) {
      if (covered.some((prefix) => path !== prefix && isAtOrBelow(path, prefix))) continue;
      const before = this.known.get(path);
      const stats = await this.lstat(path);
      const after = stats ? signatureOf(stats) : undefined;
      if (before === after) continue;
      const isDirectory = stats?.isDirectory() ?? false;
      const wasDirectory = before?.startsWith('d:') ?? false;
      if (before && (!after || wasDirectory !== isDirectory)) {
        this.forgetBelow(path);
        if (wasDirectory) covered.push(path);
        await this.publish({
          kind: FileEventKind.FILE_EVENT_KIND_DELETED,
          path,
          isDirectory: wasDirectory,
        });
      }
      if (!stats || !after) continue;
      this.known.set(path, after);
      if (!before || wasDirectory !== isDirectory) {
        if (isDirectory) {
          covered.push(path);
          await this.scanDirectory(path);
        }
        await this.publish({
          kind: FileEventKind.FILE_EVENT_KIND_CREATED,
          path,
          isDirectory,
          sizeBytes: stats.size,
        });
      } else if (isDirectory) {
        await this.scanDirectory(path); // same path, another directory: watch the new one
      } else {
        await this.publish({
          kind: FileEventKind.FILE_EVENT_KIND_CHANGED,
          path,
          sizeBytes: stats.size,
        });
      }
    }
  }

  private publish(change: FileChange): Promise<void> {
    return this.events.publish(this.agentId, change, AGENT_ACTOR);
  }

  private forgetBelow(path: string): void {
    for (const known of [...this.known.keys()])
      if (isAtOrBelow(known, path)) this.known.delete(known);
    for (const [watched, watcher] of [...this.directoryWatchers]) {
      if (isAtOrBelow(watched, path)) {
        watcher.close();
        this.directoryWatchers.delete(watched);
      }
    }
  }

  /** The entry's state, or undefined when it (or a directory on its way) is gone or not a directory. */
  private async lstat(path: string) {
    if (!this.root || path === '') return undefined;
    const segments = path.split('/');
    const name = segments.pop() as string;
    let parent;
    try {
      parent = await this.root.openDirectory(segments);
    } catch {
      return undefined;
    }
    try {
      return await lstatAt(parent, name);
    } finally {
      await parent.close();
    }
  }
}
