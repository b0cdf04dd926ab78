import { createHash, randomBytes } from 'node:crypto';
import { constants, promises as fs, type BigIntStats } from 'node:fs';
import path from 'node:path';
import { managerV1 } from '@agenstra/proto';
import {
  AlreadyExistsError,
  DomainError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  ResourceExhaustedError,
} from '@agenstra/shared';
import { status } from '@grpc/grpc-js';
import { AGENT_GID, AGENT_UID, workspaceDirOf } from '../runtime/workspaces.js';
import { BINARY_SNIFF_BYTES, fileInfoOf, looksBinary, mediaTypeOf } from './file-info.js';
import { FileEventKind, type ChangeActor, type FileEvents } from './file-events.js';
import { MAX_CHUNK_BYTES, Uploads, type Upload, type UploadTarget } from './uploads.js';
import {
  TEMP_PREFIX,
  WorkspaceRoot,
  explainOpenFailure,
  isErrno,
  joinPath,
  lstatAt,
  openDirectoryAt,
  parseWorkspacePath,
  pathAt,
  symlinkRefused,
  type WorkspacePath,
} from './workspace-path.js';
import type { OwnChange, WorkspaceWatchers } from './workspace-watcher.js';

export const MAX_WRITE_FILE_BYTES = 2 * 1024 * 1024;
export const DEFAULT_READ_CHUNK_BYTES = 256 * 1024;
export const MAX_READ_CHUNK_BYTES = 1024 * 1024;
export const MAX_LIST_DEPTH = 32;
export const DEFAULT_PAGE_SIZE = 1000;
export const MAX_PAGE_SIZE = 10_000;

const OWNER = { uid: AGENT_UID, gid: AGENT_GID };
const OPEN_READ = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const OPEN_TEMP = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const SHA256_HEX = /^[0-9a-f]{64}$/;

export class DataLossError extends DomainError {
  readonly code = status.DATA_LOSS;
}

export interface WorkspaceFilesOptions {
  workspacesDir: string;
  /** Largest file written or uploaded through the service (FILES_MAX_BYTES). */
  maxFileBytes: number;
  events: FileEvents;
  watchers?: WorkspaceWatchers;
  /** Throws NotFoundError for an unknown agent; by default an agent exists when its workspace does. */
  requireAgent?: (agentId: string) => Promise<void>;
  uploadIdleMs?: number;
}

export interface WriteOptions {
  createParents: boolean;
  createOnly: boolean;
  expectedSha256: string;
}

export interface ListOptions {
  depth: number;
  includeHidden: boolean;
  pageSize: number;
  pageToken: string;
}

/**
 * The files of agents' workspaces: every operation resolves its paths with WorkspaceRoot (see
 * workspace-path.ts for the symlink rule), changes files atomically (a temporary file in the
 * same directory, then rename), gives new entries to the agent's user (uid/gid 1000) and
 * publishes one `.files` event per change, telling the watcher so it does not publish it again.
 *
 * A file's version is the SHA-256 of its content, as the contract says: WriteFile and uploads
 * compare `expected_sha256` with the current content under a per-path lock, so two writers
 * through this manager never both win. An agent writing the same file at the same instant can
 * still slip between the check and the rename; its next write is then the newer version.
 */
export class WorkspaceFiles {
  readonly uploads: Uploads;
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(private readonly options: WorkspaceFilesOptions) {
    this.uploads = new Uploads(
      path.join(path.resolve(options.workspacesDir), '.uploads'),
      options.uploadIdleMs,
    );
  }

  async close(): Promise<void> {
    await this.uploads.close();
  }

  async list(
    agentId: string,
    rawPath: string,
    options: ListOptions,
  ): Promise<managerV1.ListFilesResponse> {
    const target = parseWorkspacePath(rawPath);
    if (options.depth > MAX_LIST_DEPTH) {
      throw new InvalidArgumentError(
        `depth must be at most ${MAX_LIST_DEPTH}, got ${options.depth}`,
      );
    }
    if (options.pageSize < 0) throw new InvalidArgumentError('page_size must not be negative');
    const depth = Math.max(1, options.depth);
    const pageSize = Math.min(options.pageSize || DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
    const query = `${agentId}\n${target.text}\n${depth}\n${options.includeHidden}`;
    const offset = decodePageToken(options.pageToken, query);

    return this.withRoot(agentId, async (root) => {
      const directory = await root.openDirectory(target.segments);
      const files: managerV1.FileInfo[] = [];
      try {
        const wanted = offset + pageSize + 1;
        await collectEntries(directory, target.text, depth, options.includeHidden, files, wanted);
      } finally {
        await directory.close();
      }
      const page = files.slice(offset, offset + pageSize);
      const more = files.length > offset + pageSize;
      return { files: page, nextPageToken: more ? encodePageToken(offset + pageSize, query) : '' };
    });
  }

  async stat(agentId: string, rawPath: string): Promise<managerV1.FileInfo> {
    const target = parseWorkspacePath(rawPath);
    return this.withRoot(agentId, async (root) => {
      if (target.segments.length === 0) {
        const rootDir = await root.openDirectory([]);
        try {
          return fileInfoOf('', await rootDir.stat({ bigint: true }));
        } finally {
          await rootDir.close();
        }
      }
      return this.inParent(root, target, async (parent, name) => {
        const stats = await lstatAt(parent, name);
        if (!stats) throw new NotFoundError(`"${target.text}" does not exist`);
        return describe(parent, name, target.text, stats);
      });
    });
  }

  /** Streams a regular file's bytes from one open descriptor, so a rename meanwhile cannot mix two files. */
  async *read(
    agentId: string,
    rawPath: string,
    range: { offset: number; limit: number; chunkSize: number },
  ): AsyncGenerator<managerV1.ReadFileResponse> {
    const target = parseWorkspacePath(rawPath);
    if (target.segments.length === 0)
      throw new FailedPreconditionError('"" is the workspace root, not a file');
    const chunkSize = Math.min(range.chunkSize || DEFAULT_READ_CHUNK_BYTES, MAX_READ_CHUNK_BYTES);
    const root = await this.openRoot(agentId);
    let file: fs.FileHandle;
    try {
      file = await this.inParent(root, target, (parent, name) =>
        openRegularFile(parent, name, target.text),
      );
    } catch (error) {
      throw translateFsError(error);
    } finally {
      await root.close();
    }
    try {
      const stats = await file.stat({ bigint: true });
      const total = Number(stats.size);
      const sample = Buffer.alloc(Math.min(BINARY_SNIFF_BYTES, total));
      const { bytesRead } = await file.read(sample, 0, sample.length, 0);
      const head = sample.subarray(0, bytesRead);
      const binary = looksBinary(head);
      const described = {
        file: fileInfoOf(target.text, stats),
        isBinary: binary,
        encoding: binary ? '' : 'utf-8',
        mediaType: mediaTypeOf(target.segments[target.segments.length - 1], head, binary),
      };
      const end = range.limit > 0 ? Math.min(total, range.offset + range.limit) : total;
      let position = range.offset;
      let first = true;
      do {
        const length = Math.max(0, Math.min(chunkSize, end - position));
        const data = Buffer.alloc(length);
        const read = length > 0 ? (await file.read(data, 0, length, position)).bytesRead : 0;
        const last = read === 0 || position + read >= end;
        yield {
          offset: String(position),
          data: read === length ? data : data.subarray(0, read),
          totalSizeBytes: String(total),
          file: first ? described.file : undefined,
          isBinary: first ? described.isBinary : false,
          encoding: first ? described.encoding : '',
          mediaType: first ? described.mediaType : '',
          last,
        };
        first = false;
        position += read;
        if (last) break;
      } while (position < end);
    } finally {
      await file.close();
    }
  }

  async write(
    agentId: string,
    rawPath: string,
    content: Buffer,
    options: WriteOptions,
    by: ChangeActor,
  ): Promise<{ file: managerV1.FileInfo; sha256: string }> {
    const target = parseWorkspacePath(rawPath, 'path', { allowRoot: false });
    checkExpectedSha256(options.expectedSha256);
    const limit = Math.min(MAX_WRITE_FILE_BYTES, this.options.maxFileBytes);
    if (content.length > limit) {
      throw new ResourceExhaustedError(
        `content is ${content.length} bytes; WriteFile takes at most ${limit} bytes (use BeginFileUpload for larger files)`,
      );
    }
    const sha256 = createHash('sha256').update(content).digest('hex');
    const file = await this.replaceFile(agentId, target, options, by, async (temp) => {
      await temp.writeFile(content);
    });
    return { file, sha256 };
  }

  async beginUpload(agentId: string, target: UploadTarget): Promise<Upload> {
    parseWorkspacePath(target.path, 'path', { allowRoot: false });
    checkExpectedSha256(target.expectedSha256);
    if (target.sizeBytes > this.options.maxFileBytes) {
      throw new ResourceExhaustedError(
        `the file would be ${target.sizeBytes} bytes; this manager accepts files of at most ${this.options.maxFileBytes} bytes`,
      );
    }
    await this.requireAgent(agentId);
    return this.uploads.begin(agentId, target);
  }

  async writeChunk(
    agentId: string,
    uploadId: string,
    offset: number,
    data: Buffer,
  ): Promise<number> {
    return (await this.uploads.writeChunk(agentId, uploadId, offset, data)).receivedBytes;
  }

  async commitUpload(
    agentId: string,
    uploadId: string,
    contentSha256: string,
    by: ChangeActor,
  ): Promise<{ file: managerV1.FileInfo; sha256: string }> {
    if (contentSha256 !== '' && !SHA256_HEX.test(contentSha256)) {
      throw new InvalidArgumentError('content_sha256 must be 64 lowercase hex characters or empty');
    }
    const upload = await this.uploads.take(agentId, uploadId);
    try {
      const sha256 = upload.hash.digest('hex');
      if (contentSha256 !== '' && contentSha256 !== sha256) {
        throw new DataLossError(
          `the uploaded content has SHA-256 ${sha256}, not ${contentSha256}; the upload was discarded`,
        );
      }
      const target = parseWorkspacePath(upload.target.path, 'path', { allowRoot: false });
      const file = await this.replaceFile(
        agentId,
        target,
        upload.target,
        by,
        async (temp, parent, name) => {
          // The staging file becomes the temporary file by rename; a copy only across file systems.
          await temp.close();
          try {
            await fs.rename(upload.stagingFile, pathAt(parent, name));
          } catch (error) {
            if (!isErrno(error, 'EXDEV')) throw error;
            await fs.copyFile(upload.stagingFile, pathAt(parent, name));
          }
        },
      );
      return { file, sha256 };
    } finally {
      await fs.rm(upload.stagingFile, { force: true });
    }
  }

  async abortUpload(agentId: string, uploadId: string): Promise<void> {
    await this.uploads.abort(agentId, uploadId);
  }

  async createDirectory(
    agentId: string,
    rawPath: string,
    createParents: boolean,
    by: ChangeActor,
  ): Promise<managerV1.FileInfo> {
    const target = parseWorkspacePath(rawPath, 'path', { allowRoot: false });
    return this.withRoot(agentId, (root) =>
      this.inParent(
        root,
        target,
        async (parent, name) => {
          try {
            await fs.mkdir(pathAt(parent, name), { mode: 0o755 });
          } catch (error) {
            if (isErrno(error, 'EEXIST'))
              throw new AlreadyExistsError(`"${target.text}" already exists`);
            throw error;
          }
          const directory = await openDirectoryAt(parent, name, target.text);
          try {
            await directory.chown(OWNER.uid, OWNER.gid);
            const stats = await directory.stat({ bigint: true });
            await this.announce(agentId, { kind: 'present', path: target.text }, by, {
              kind: FileEventKind.FILE_EVENT_KIND_CREATED,
              path: target.text,
              isDirectory: true,
            });
            return fileInfoOf(target.text, stats);
          } finally {
            await directory.close();
          }
        },
        { createParents, by, agentId },
      ),
    );
  }

  async delete(
    agentId: string,
    rawPath: string,
    recursive: boolean,
    by: ChangeActor,
  ): Promise<void> {
    const target = parseWorkspacePath(rawPath, 'path', { allowRoot: false });
    await this.withRoot(agentId, (root) =>
      this.inParent(root, target, async (parent, name) => {
        const stats = await lstatAt(parent, name);
        if (!stats) throw new NotFoundError(`"${target.text}" does not exist`);
        if (stats.isDirectory()) {
          try {
            await fs.rmdir(pathAt(parent, name));
          } catch (error) {
            if (!isErrno(error, 'ENOTEMPTY', 'EEXIST')) throw error;
            if (!recursive) {
              throw new FailedPreconditionError(
                `"${target.text}" is a directory that is not empty; set recursive to delete it with its contents`,
              );
            }
            await removeTree(parent, name);
          }
        } else {
          await fs.unlink(pathAt(parent, name));
        }
        await this.announce(agentId, { kind: 'deleted', path: target.text }, by, {
          kind: FileEventKind.FILE_EVENT_KIND_DELETED,
          path: target.text,
          isDirectory: stats.isDirectory(),
        });
      }),
    );
  }

  async move(
    agentId: string,
    rawSource: string,
    rawDestination: string,
    overwrite: boolean,
    by: ChangeActor,
  ): Promise<managerV1.FileInfo> {
    const source = parseWorkspacePath(rawSource, 'source_path', { allowRoot: false });
    const destination = parseWorkspacePath(rawDestination, 'destination_path', {
      allowRoot: false,
    });
    if (destination.text.startsWith(`${source.text}/`)) {
      throw new InvalidArgumentError(
        `cannot move "${source.text}" into itself ("${destination.text}")`,
      );
    }
    return this.withRoot(agentId, (root) =>
      this.inParent(root, source, (sourceParent, sourceName) =>
        this.inParent(root, destination, async (destinationParent, destinationName) => {
          const moving = await lstatAt(sourceParent, sourceName);
          if (!moving) throw new NotFoundError(`"${source.text}" does not exist`);
          if (source.text === destination.text)
            return describe(sourceParent, sourceName, source.text, moving);
          const existing = await lstatAt(destinationParent, destinationName);
          if (existing && !overwrite) {
            throw new AlreadyExistsError(
              `"${destination.text}" already exists; set overwrite to replace it`,
            );
          }
          if (existing?.isDirectory() && !moving.isDirectory()) {
            throw new FailedPreconditionError(
              `"${destination.text}" is a directory; a file cannot replace it`,
            );
          }
          try {
            await fs.rename(
              pathAt(sourceParent, sourceName),
              pathAt(destinationParent, destinationName),
            );
          } catch (error) {
            if (isErrno(error, 'ENOTEMPTY', 'EEXIST')) {
              throw new FailedPreconditionError(
                `"${destination.text}" is a directory that is not empty`,
              );
            }
            if (isErrno(error, 'ENOTDIR', 'EISDIR')) {
              throw new FailedPreconditionError(
                `cannot replace "${destination.text}" with "${source.text}": one is a directory, the other is not`,
              );
            }
            if (isErrno(error, 'EINVAL'))
              throw new InvalidArgumentError(`cannot move "${source.text}" into itself`);
            throw error;
          }
          const moved = await lstatAt(destinationParent, destinationName);
          if (!moved)
            throw new NotFoundError(`"${destination.text}" disappeared right after the move`);
          await this.announce(
            agentId,
            { kind: 'moved', from: source.text, to: destination.text },
            by,
            {
              kind: FileEventKind.FILE_EVENT_KIND_MOVED,
              path: destination.text,
              oldPath: source.text,
              isDirectory: moved.isDirectory(),
              sizeBytes: moved.size,
            },
          );
          return describe(destinationParent, destinationName, destination.text, moved);
        }),
      ),
    );
  }

  /**
   * Writes a file atomically: `fill` puts the content into a fresh temporary file beside the
   * target, which is then renamed over it (or linked, for create_only, which fails if the name
   * was taken meanwhile). The checks on the current file run under the path's lock.
   */
  private async replaceFile(
    agentId: string,
    target: WorkspacePath,
    options: WriteOptions,
    by: ChangeActor,
    fill: (temp: fs.FileHandle, parent: fs.FileHandle, tempName: string) => Promise<void>,
  ): Promise<managerV1.FileInfo> {
    return this.withRoot(agentId, (root) =>
      this.inParent(
        root,
        target,
        (parent, name) =>
          this.locked(`${agentId}\n${target.text}`, async () => {
            const existing = await lstatAt(parent, name);
            if (existing?.isSymbolicLink()) throw symlinkRefused(target.text);
            if (existing && !existing.isFile()) {
              throw new FailedPreconditionError(
                `"${target.text}" exists and is not a regular file`,
              );
            }
            if (existing && options.createOnly)
              throw new AlreadyExistsError(`"${target.text}" already exists`);
            if (options.expectedSha256)
              await checkCurrentVersion(parent, name, target.text, options.expectedSha256);

            const tempName = `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`;
            const temp = await fs.open(pathAt(parent, tempName), OPEN_TEMP, 0o644);
            let tempExists = true;
            try {
              await fill(temp, parent, tempName);
              const written = await fs.open(pathAt(parent, tempName), OPEN_READ);
              try {
                await written.chown(OWNER.uid, OWNER.gid);
                // Keep an edited script executable; never carry set-id bits over.
                await written.chmod(existing ? Number(existing.mode & 0o777n) : 0o644);
                if (options.createOnly) {
                  try {
                    await fs.link(pathAt(parent, tempName), pathAt(parent, name));
                  } catch (error) {
                    if (isErrno(error, 'EEXIST'))
                      throw new AlreadyExistsError(`"${target.text}" already exists`);
                    throw error;
                  }
                  await fs.unlink(pathAt(parent, tempName));
                } else {
                  await fs.rename(pathAt(parent, tempName), pathAt(parent, name));
                }
                tempExists = false;
                const stats = await written.stat({ bigint: true });
                await this.announce(agentId, { kind: 'present', path: target.text }, by, {
                  kind: existing
                    ? FileEventKind.FILE_EVENT_KIND_CHANGED
                    : FileEventKind.FILE_EVENT_KIND_CREATED,
                  path: target.text,
                  sizeBytes: stats.size,
                });
                return fileInfoOf(target.text, stats);
              } finally {
                await written.close();
              }
            } finally {
              await temp.close().catch(() => undefined);
              if (tempExists) await fs.unlink(pathAt(parent, tempName)).catch(() => undefined);
            }
          }),
        { createParents: options.createParents, by, agentId },
      ),
    );
  }

  /** Runs `action` with the open parent directory of `target` and the target's last segment. */
  private async inParent<T>(
    root: WorkspaceRoot,
    target: WorkspacePath,
    action: (parent: fs.FileHandle, name: string) => Promise<T>,
    create?: { createParents: boolean; by: ChangeActor; agentId: string },
  ): Promise<T> {
    const parentSegments = target.segments.slice(0, -1);
    const parent = await root.openDirectory(parentSegments, {
      create: create?.createParents,
      owner: OWNER,
      onCreate: (createdPath) =>
        this.announce(create!.agentId, { kind: 'present', path: createdPath }, create!.by, {
          kind: FileEventKind.FILE_EVENT_KIND_CREATED,
          path: createdPath,
          isDirectory: true,
        }),
    });
    try {
      return await action(parent, target.segments[target.segments.length - 1]);
    } finally {
      await parent.close();
    }
  }

  /** Tells the watcher first (so it will not echo the change), then publishes the event. */
  private async announce(
    agentId: string,
    ownChange: OwnChange,
    by: ChangeActor,
    change: Parameters<FileEvents['publish']>[1],
  ): Promise<void> {
    await this.options.watchers?.recordOwnChange(agentId, ownChange);
    await this.options.events.publish(agentId, change, by);
  }

  private async locked<T>(key: string, action: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(key) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(action);
    const settled = run.catch(() => undefined);
    this.locks.set(key, settled);
    try {
      return await run;
    } finally {
      if (this.locks.get(key) === settled) this.locks.delete(key);
    }
  }

  private async requireAgent(agentId: string): Promise<void> {
    if (this.options.requireAgent) {
      await this.options.requireAgent(agentId);
      return;
    }
    const stats = await fs
      .lstat(workspaceDirOf(this.options.workspacesDir, agentId))
      .catch(() => undefined);
    if (!stats?.isDirectory()) throw new NotFoundError(`agent "${agentId}" does not exist`);
  }

  private async openRoot(agentId: string): Promise<WorkspaceRoot> {
    await this.requireAgent(agentId);
    try {
      return await WorkspaceRoot.open(workspaceDirOf(this.options.workspacesDir, agentId));
    } catch (error) {
      if (isErrno(error, 'ENOENT'))
        throw new NotFoundError(`the workspace of agent "${agentId}" does not exist`);
      throw error;
    }
  }

  private async withRoot<T>(
    agentId: string,
    action: (root: WorkspaceRoot) => Promise<T>,
  ): Promise<T> {
    const root = await this.openRoot(agentId);
    try {
      return await action(root);
    } catch (error) {
      throw translateFsError(error);
    } finally {
      await root.close();
    }
  }
}

export const MAX_UPLOAD_CHUNK_BYTES = MAX_CHUNK_BYTES;

/**
 * What is left of file-system errors once the expected ones are mapped: the agent changed the
 * tree under a running call (a directory removed or replaced), or the disk is full.
 */
function translateFsError(error: unknown): unknown {
  if (isErrno(error, 'ENOENT')) {
    return new NotFoundError(
      'the path was removed or replaced in the workspace while the call ran',
    );
  }
  if (isErrno(error, 'ENOTDIR'))
    return new FailedPreconditionError('a directory in the path is not a directory');
  if (isErrno(error, 'ELOOP'))
    return new PermissionDeniedError('the path leads through a symbolic link');
  if (isErrno(error, 'ENOSPC', 'EDQUOT'))
    return new ResourceExhaustedError('no space left for the workspace');
  if (isErrno(error, 'ENAMETOOLONG')) return new InvalidArgumentError('the path is too long');
  return error;
}

function checkExpectedSha256(expected: string): void {
  if (expected !== '' && !SHA256_HEX.test(expected)) {
    throw new InvalidArgumentError('expected_sha256 must be 64 lowercase hex characters or empty');
  }
}

async function openRegularFile(
  parent: fs.FileHandle,
  name: string,
  shown: string,
): Promise<fs.FileHandle> {
  let file: fs.FileHandle;
  try {
    file = await fs.open(pathAt(parent, name), OPEN_READ);
  } catch (error) {
    throw await explainOpenFailure(error, parent, name, shown, 'a regular file');
  }
  const stats = await file.stat();
  if (!stats.isFile()) {
    await file.close();
    throw new FailedPreconditionError(
      `"${shown}" is ${stats.isDirectory() ? 'a directory' : 'not a regular file'}; only regular files can be read`,
    );
  }
  return file;
}

async function checkCurrentVersion(
  parent: fs.FileHandle,
  name: string,
  shown: string,
  expected: string,
): Promise<void> {
  let file: fs.FileHandle;
  try {
    file = await openRegularFile(parent, name, shown);
  } catch (error) {
    if (error instanceof NotFoundError) {
      throw new FailedPreconditionError(`"${shown}" was deleted since the version you expected`);
    }
    throw error;
  }
  const hash = createHash('sha256');
  try {
    for await (const chunk of file.createReadStream({ autoClose: false }))
      hash.update(chunk as Buffer);
  } finally {
    await file.close();
  }
  const current = hash.digest('hex');
  if (current !== expected) {
    throw new FailedPreconditionError(
      `"${shown}" changed since you read it (its SHA-256 is now ${current}, not ${expected}); reload it and retry`,
    );
  }
}

async function describe(
  parent: fs.FileHandle,
  name: string,
  shown: string,
  stats: BigIntStats,
): Promise<managerV1.FileInfo> {
  const target = stats.isSymbolicLink()
    ? await fs.readlink(pathAt(parent, name)).catch(() => '')
    : '';
  return fileInfoOf(shown, stats, target);
}

/** Depth-first, directories first, then by name in byte order; never `.git`, never our temporaries. */
async function collectEntries(
  directory: fs.FileHandle,
  directoryPath: string,
  depth: number,
  includeHidden: boolean,
  into: managerV1.FileInfo[],
  wanted: number,
): Promise<void> {
  const names = (await fs.readdir(pathAt(directory))).filter(
    (name) =>
      name !== '.git' && !name.startsWith(TEMP_PREFIX) && (includeHidden || !name.startsWith('.')),
  );
  const entries: Array<{ name: string; stats: BigIntStats }> = [];
  for (const name of names) {
    const stats = await lstatAt(directory, name);
    if (stats) entries.push({ name, stats });
  }
  entries.sort(
    (a, b) =>
      Number(b.stats.isDirectory()) - Number(a.stats.isDirectory()) ||
      Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)),
  );
  for (const { name, stats } of entries) {
    if (into.length >= wanted) return;
    const entryPath = joinPath(directoryPath, name);
    into.push(await describe(directory, name, entryPath, stats));
    if (stats.isDirectory() && depth > 1) {
      let child: fs.FileHandle;
      try {
        child = await openDirectoryAt(directory, name, entryPath);
      } catch {
        continue; // replaced meanwhile (e.g. by a symlink): list it as it was, do not descend
      }
      try {
        await collectEntries(child, entryPath, depth - 1, includeHidden, into, wanted);
      } finally {
        await child.close();
      }
    }
  }
}

/** Removes a directory tree through descriptors only, so a subdirectory swapped for a symlink is unlinked, not followed. */
async function removeTree(parent: fs.FileHandle, name: string): Promise<void> {
  let directory: fs.FileHandle;
  try {
    directory = await fs.open(
      pathAt(parent, name),
      constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW,
    );
  } catch (error) {
    if (isErrno(error, 'ELOOP', 'ENOTDIR')) {
      await fs.unlink(pathAt(parent, name));
      return;
    }
    if (isErrno(error, 'ENOENT')) return;
    throw error;
  }
  try {
    for (const child of await fs.readdir(pathAt(directory))) {
      const stats = await lstatAt(directory, child);
      if (!stats) continue;
      if (stats.isDirectory()) await removeTree(directory, child);
      else
        await fs.unlink(pathAt(directory, child)).catch((error: unknown) => {
          if (!isErrno(error, 'ENOENT')) throw error;
        });
    }
  } finally {
    await directory.close();
  }
  await fs.rmdir(pathAt(parent, name));
}

function encodePageToken(offset: number, query: string): string {
  const check = createHash('sha256').update(query).digest('hex').slice(0, 16);
  return Buffer.from(JSON.stringify({ offset, check })).toString('base64url');
}

function decodePageToken(token: string, query: string): number {
  if (token === '') return 0;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString()) as {
      offset?: unknown;
      check?: unknown;
    };
    const check = createHash('sha256').update(query).digest('hex').slice(0, 16);
    if (
      typeof parsed.offset === 'number' &&
      Number.isSafeInteger(parsed.offset) &&
      parsed.offset >= 0 &&
      parsed.check === check
    ) {
      return parsed.offset;
    }
  } catch {
    // fall through to the error below
  }
  throw new InvalidArgumentError(
    'page_token is not a token of this listing; start again with an empty page_token',
  );
}
