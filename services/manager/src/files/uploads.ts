import { createHash, randomUUID, type Hash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import {
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  ResourceExhaustedError,
} from '@agenstra/shared';

export const MAX_CHUNK_BYTES = 1024 * 1024;
export const DEFAULT_UPLOAD_IDLE_MS = 10 * 60_000;
/** Open uploads per agent; each holds a staging file until committed, aborted or expired. */
export const MAX_UPLOADS_PER_AGENT = 16;

export interface UploadTarget {
  path: string;
  sizeBytes: number;
  createParents: boolean;
  createOnly: boolean;
  expectedSha256: string;
}

export interface Upload {
  id: string;
  agentId: string;
  target: UploadTarget;
  /** Staging file outside every workspace, so the agent can neither see nor touch it. */
  stagingFile: string;
  receivedBytes: number;
  expiresAt: Date;
  hash: Hash;
  handle: fs.FileHandle;
  /** Chunks of one upload are written one after another. */
  queue: Promise<unknown>;
}

/**
 * Chunked uploads in progress. Chunks are appended in order (each offset must equal the bytes
 * received so far) to a staging file under `<WORKSPACES_DIR>/.uploads`, hashing as they come;
 * an upload idle for `idleMs` is aborted and its file removed.
 */
export class Uploads {
  private readonly uploads = new Map<string, Upload>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly stagingDir: string,
    private readonly idleMs = DEFAULT_UPLOAD_IDLE_MS,
  ) {
    this.sweeper = setInterval(() => void this.expire(), Math.min(idleMs, 60_000));
    this.sweeper.unref();
  }

  async begin(agentId: string, target: UploadTarget): Promise<Upload> {
    const open = [...this.uploads.values()].filter((upload) => upload.agentId === agentId);
    if (open.length >= MAX_UPLOADS_PER_AGENT) {
      throw new ResourceExhaustedError(
        `agent ${agentId} already has ${MAX_UPLOADS_PER_AGENT} uploads open; commit or abort one first`,
      );
    }
    await fs.mkdir(this.stagingDir, { recursive: true, mode: 0o700 });
    const id = randomUUID();
    const stagingFile = path.join(this.stagingDir, `${agentId}-${id}`);
    const handle = await fs.open(stagingFile, 'wx', 0o600);
    const upload: Upload = {
      id,
      agentId,
      target,
      stagingFile,
      receivedBytes: 0,
      expiresAt: new Date(Date.now() + this.idleMs),
      hash: createHash('sha256'),
      handle,
      queue: Promise.resolve(),
    };
    this.uploads.set(id, upload);
    return upload;
  }

  /** The open upload, or NOT_FOUND (also for another agent's upload id). */
  get(agentId: string, uploadId: string): Upload {
    const upload = this.uploads.get(uploadId);
    if (!upload || upload.agentId !== agentId) {
      throw new NotFoundError(`upload "${uploadId}" does not exist (finished, aborted or expired)`);
    }
    return upload;
  }

  async writeChunk(
    agentId: string,
    uploadId: string,
    offset: number,
    data: Buffer,
  ): Promise<Upload> {
    const upload = this.get(agentId, uploadId);
    const write = upload.queue.then(async () => {
      if (this.uploads.get(uploadId) !== upload) this.get(agentId, uploadId);
      if (data.length === 0 || data.length > MAX_CHUNK_BYTES) {
        throw new InvalidArgumentError(
          `a chunk holds 1 to ${MAX_CHUNK_BYTES} bytes, got ${data.length}`,
        );
      }
      if (offset !== upload.receivedBytes) {
        throw new FailedPreconditionError(
          `chunk offset ${offset} does not follow the bytes received so far; received_bytes=${upload.receivedBytes}`,
        );
      }
      if (offset + data.length > upload.target.sizeBytes) {
        throw new InvalidArgumentError(
          `chunk ends at byte ${offset + data.length}, beyond the announced size of ${upload.target.sizeBytes} bytes`,
        );
      }
      await upload.handle.write(data, 0, data.length, offset);
      upload.hash.update(data);
      upload.receivedBytes += data.length;
      upload.expiresAt = new Date(Date.now() + this.idleMs);
    });
    upload.queue = write.catch(() => undefined);
    await write;
    return upload;
  }

  /** Takes the upload out of the registry for committing; the caller then owns its staging file. */
  async take(agentId: string, uploadId: string): Promise<Upload> {
    const upload = this.get(agentId, uploadId);
    await upload.queue;
    if (upload.receivedBytes !== upload.target.sizeBytes) {
      throw new FailedPreconditionError(
        `upload is incomplete: received ${upload.receivedBytes} of ${upload.target.sizeBytes} bytes`,
      );
    }
    this.uploads.delete(uploadId);
    await upload.handle.close();
    return upload;
  }

  async abort(agentId: string, uploadId: string): Promise<void> {
    const upload = this.get(agentId, uploadId);
    await this.discard(upload);
  }

  async discard(upload: Upload): Promise<void> {
    this.uploads.delete(upload.id);
    await upload.queue;
    await upload.handle.close().catch(() => undefined);
    await fs.rm(upload.stagingFile, { force: true });
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    await Promise.all([...this.uploads.values()].map((upload) => this.discard(upload)));
  }

  /** Aborts uploads idle past their expiry; also runs on a timer. */
  async expire(now = new Date()): Promise<number> {
    const stale = [...this.uploads.values()].filter((upload) => upload.expiresAt <= now);
    await Promise.all(stale.map((upload) => this.discard(upload)));
    return stale.length;
  }
}
