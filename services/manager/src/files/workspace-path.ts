import { constants, promises as fs, type BigIntStats } from 'node:fs';
import {
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
} from '@agenstra/shared';

/**
 * Workspace paths and how they are resolved on the host, safely against an agent that controls
 * the workspace's contents.
 *
 * A path is workspace-relative and '/'-separated: "src/main.ts"; "" is the workspace root.
 * Refused with INVALID_ARGUMENT: NUL bytes, a leading '/', empty segments ("a//b", a trailing
 * '/'), "." and ".." segments, more than 4096 bytes in all or 255 bytes in one segment.
 * Backslashes are ordinary file-name characters on Linux and carry no meaning here.
 *
 * Symlink rule: the host never follows a symbolic link inside a workspace, wherever it points.
 * A symlink as an intermediate segment, or as the file to read or write, is PERMISSION_DENIED;
 * listings and StatFile report symlinks as such (with their target), and DeleteFile/MoveFile
 * act on the link itself. Resolution walks one segment at a time from an open descriptor of the
 * workspace root, opening each segment through `/proc/self/fd/<dir fd>/<name>` with O_NOFOLLOW
 * (O_DIRECTORY for directories). Every step is bound to the directory already opened, so an
 * agent that swaps a directory for a symlink between calls, or while a call runs, can at most
 * make that call fail: nothing outside the workspace is ever opened.
 */

export const MAX_PATH_BYTES = 4096;
export const MAX_SEGMENT_BYTES = 255;
/** Prefix of the manager's temporary files inside a workspace; the watcher ignores them. */
export const TEMP_PREFIX = '.agenstra-tmp-';

const OPEN_DIRECTORY = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

export interface WorkspacePath {
  /** The path as given, e.g. "src/main.ts"; "" for the root. */
  text: string;
  segments: string[];
}

/** Validates a workspace-relative path; `field` names the request field in error messages. */
export function parseWorkspacePath(
  text: string,
  field = 'path',
  { allowRoot = true }: { allowRoot?: boolean } = {},
): WorkspacePath {
  if (text.includes('\0')) throw new InvalidArgumentError(`${field} must not contain a NUL byte`);
  if (text === '') {
    if (!allowRoot)
      throw new InvalidArgumentError(`${field} must name a file, not the workspace root ""`);
    return { text, segments: [] };
  }
  if (text.startsWith('/')) {
    throw new InvalidArgumentError(
      `${field} "${text}" is absolute; paths are relative to the workspace, e.g. "src/main.ts"`,
    );
  }
  if (Buffer.byteLength(text) > MAX_PATH_BYTES) {
    throw new InvalidArgumentError(`${field} is longer than ${MAX_PATH_BYTES} bytes`);
  }
  const segments = text.split('/');
  for (const segment of segments) {
    if (segment === '') {
      throw new InvalidArgumentError(
        `${field} "${text}" has an empty segment (a doubled or trailing "/")`,
      );
    }
    if (segment === '..') {
      throw new InvalidArgumentError(
        `${field} "${text}" contains "..": paths must stay inside the workspace`,
      );
    }
    if (segment === '.')
      throw new InvalidArgumentError(`${field} "${text}" contains a "." segment`);
    if (Buffer.byteLength(segment) > MAX_SEGMENT_BYTES) {
      throw new InvalidArgumentError(
        `${field} has a segment longer than ${MAX_SEGMENT_BYTES} bytes`,
      );
    }
  }
  return { text, segments };
}

export function joinPath(parent: string, name: string): string {
  return parent === '' ? name : `${parent}/${name}`;
}

/** The path of `name` inside the directory open as `dir`, resolved by the kernel through the descriptor. */
export function pathAt(dir: fs.FileHandle, name?: string): string {
  return name === undefined ? `/proc/self/fd/${dir.fd}` : `/proc/self/fd/${dir.fd}/${name}`;
}

export function isErrno(error: unknown, ...codes: string[]): error is NodeJS.ErrnoException {
  return error instanceof Error && codes.includes((error as NodeJS.ErrnoException).code ?? '');
}

/** lstat of `name` in `dir`, or undefined when it does not exist. Never follows a symlink. */
export async function lstatAt(dir: fs.FileHandle, name: string): Promise<BigIntStats | undefined> {
  try {
    return await fs.lstat(pathAt(dir, name), { bigint: true });
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return undefined;
    throw error;
  }
}

/** Opens the directory `name` in `dir` without following a symlink. */
export async function openDirectoryAt(
  dir: fs.FileHandle,
  name: string,
  shownPath: string,
): Promise<fs.FileHandle> {
  try {
    return await fs.open(pathAt(dir, name), OPEN_DIRECTORY);
  } catch (error) {
    throw await explainOpenFailure(error, dir, name, shownPath, 'a directory');
  }
}

/**
 * Turns a failed no-follow open into the error the caller should see: a symlink is
 * PERMISSION_DENIED, a missing entry NOT_FOUND, the wrong kind FAILED_PRECONDITION.
 */
export async function explainOpenFailure(
  error: unknown,
  dir: fs.FileHandle,
  name: string,
  shownPath: string,
  expected: string,
): Promise<unknown> {
  if (isErrno(error, 'ENOENT')) return new NotFoundError(`"${shownPath}" does not exist`);
  if (isErrno(error, 'ELOOP', 'ENOTDIR')) {
    const stats = await lstatAt(dir, name).catch(() => undefined);
    if (!stats) return new NotFoundError(`"${shownPath}" does not exist`);
    if (stats.isSymbolicLink()) return symlinkRefused(shownPath);
    return new FailedPreconditionError(`"${shownPath}" is not ${expected}`);
  }
  return error;
}

export function symlinkRefused(shownPath: string): PermissionDeniedError {
  return new PermissionDeniedError(
    `"${shownPath}" is a symbolic link; the file service does not follow symbolic links`,
  );
}

/** An open workspace root; every resolution starts from its descriptor. */
export class WorkspaceRoot {
  private constructor(readonly root: fs.FileHandle) {}

  static async open(directory: string): Promise<WorkspaceRoot> {
    return new WorkspaceRoot(await fs.open(directory, OPEN_DIRECTORY));
  }

  async close(): Promise<void> {
    await this.root.close();
  }

  /**
   * Opens the directory made of the first `segments`, one no-follow step at a time. With
   * `create`, missing directories are made (owned by `owner`) and reported to `onCreate`.
   * The caller closes the handle.
   */
  async openDirectory(
    segments: string[],
    options: {
      create?: boolean;
      owner?: { uid: number; gid: number };
      onCreate?: (path: string, handle: fs.FileHandle) => Promise<void> | void;
    } = {},
  ): Promise<fs.FileHandle> {
    // A fresh descriptor of the root itself: the /proc magic link must be followed here.
    let current = await fs.open(pathAt(this.root), constants.O_RDONLY | constants.O_DIRECTORY);
    let shown = '';
    try {
      for (const segment of segments) {
        shown = joinPath(shown, segment);
        let next: fs.FileHandle;
        try {
          next = await openDirectoryAt(current, segment, shown);
        } catch (error) {
          if (!(options.create && error instanceof NotFoundError)) throw error;
          next = await this.makeDirectoryAt(current, segment, shown, options);
        }
        await current.close();
        current = next;
      }
      return current;
    } catch (error) {
      await current.close();
      throw error;
    }
  }

  private async makeDirectoryAt(
    parent: fs.FileHandle,
    name: string,
    shown: string,
    options: {
      owner?: { uid: number; gid: number };
      onCreate?: (path: string, handle: fs.FileHandle) => Promise<void> | void;
    },
  ): Promise<fs.FileHandle> {
    let created = true;
    try {
      await fs.mkdir(pathAt(parent, name), { mode: 0o755 });
    } catch (error) {
      if (!isErrno(error, 'EEXIST')) throw error;
      created = false; // someone else made it meanwhile; use theirs if it is a directory
    }
    const handle = await openDirectoryAt(parent, name, shown);
    if (created) {
      if (options.owner) await handle.chown(options.owner.uid, options.owner.gid);
      await options.onCreate?.(shown, handle);
    }
    return handle;
  }
}
