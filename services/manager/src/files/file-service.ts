import { managerV1 } from '@agenstra/proto';
import { InvalidArgumentError, serverStream, unary } from '@agenstra/shared';
import type { Metadata } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { FileActor, type ChangeActor } from './file-events.js';
import { MAX_UPLOAD_CHUNK_BYTES, type WorkspaceFiles } from './workspace-files.js';

const AGENT_NAME = /^agents\/([A-Za-z0-9][A-Za-z0-9_-]{0,127})$/;

/** The agent id from a resource name `agents/{agent}`. */
export function agentIdOf(name: string): string {
  const match = AGENT_NAME.exec(name);
  if (!match) {
    throw new InvalidArgumentError(
      `agent must be a resource name "agents/{agent}" (letters, digits, "-" and "_"), got "${name}"`,
    );
  }
  return match[1];
}

function toCount(value: string, field: string): number {
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number < 0) {
    throw new InvalidArgumentError(`${field} must be a non-negative integer below 2^53`);
  }
  return number;
}

/**
 * Who a call acts for, for the `actor_subject` of file events. Until callers authenticate to
 * the manager this is empty: a subject taken from request metadata could be forged.
 */
export type CallerSubject = (metadata: Metadata) => string;

export function createFileService(
  files: WorkspaceFiles,
  logger: Logger,
  callerSubject: CallerSubject = () => '',
): managerV1.FileServiceServer {
  const userOf = (metadata: Metadata): ChangeActor => ({
    actor: FileActor.FILE_ACTOR_USER,
    subject: callerSubject(metadata),
  });

  return {
    listFiles: unary(
      (request: managerV1.ListFilesRequest) =>
        files.list(agentIdOf(request.agent), request.path, {
          depth: request.depth,
          includeHidden: request.includeHidden,
          pageSize: request.pageSize,
          pageToken: request.pageToken,
        }),
      logger,
    ),

    statFile: unary(
      async (request: managerV1.StatFileRequest) => ({
        file: await files.stat(agentIdOf(request.agent), request.path),
      }),
      logger,
    ),

    readFile: serverStream(
      (request: managerV1.ReadFileRequest) =>
        files.read(agentIdOf(request.agent), request.path, {
          offset: toCount(request.offset, 'offset'),
          limit: toCount(request.limit, 'limit'),
          chunkSize: request.chunkSizeBytes,
        }),
      logger,
    ),

    writeFile: unary(
      (request: managerV1.WriteFileRequest, call) =>
        files.write(
          agentIdOf(request.agent),
          request.path,
          request.content,
          {
            createParents: request.createParents,
            createOnly: request.createOnly,
            expectedSha256: request.expectedSha256,
          },
          userOf(call.metadata),
        ),
      logger,
    ),

    beginFileUpload: unary(async (request: managerV1.BeginFileUploadRequest) => {
      const upload = await files.beginUpload(agentIdOf(request.agent), {
        path: request.path,
        sizeBytes: toCount(request.sizeBytes, 'size_bytes'),
        createParents: request.createParents,
        createOnly: request.createOnly,
        expectedSha256: request.expectedSha256,
      });
      return {
        uploadId: upload.id,
        maxChunkSizeBytes: MAX_UPLOAD_CHUNK_BYTES,
        expireTime: upload.expiresAt.toISOString(),
      };
    }, logger),

    writeFileChunk: unary(
      async (request: managerV1.WriteFileChunkRequest) => ({
        receivedBytes: String(
          await files.writeChunk(
            agentIdOf(request.agent),
            request.uploadId,
            toCount(request.offset, 'offset'),
            request.data,
          ),
        ),
      }),
      logger,
    ),

    commitFileUpload: unary(
      (request: managerV1.CommitFileUploadRequest, call) =>
        files.commitUpload(
          agentIdOf(request.agent),
          request.uploadId,
          request.contentSha256,
          userOf(call.metadata),
        ),
      logger,
    ),

    abortFileUpload: unary(async (request: managerV1.AbortFileUploadRequest) => {
      await files.abortUpload(agentIdOf(request.agent), request.uploadId);
      return {};
    }, logger),

    createDirectory: unary(
      async (request: managerV1.CreateDirectoryRequest, call) => ({
        directory: await files.createDirectory(
          agentIdOf(request.agent),
          request.path,
          request.createParents,
          userOf(call.metadata),
        ),
      }),
      logger,
    ),

    deleteFile: unary(async (request: managerV1.DeleteFileRequest, call) => {
      await files.delete(
        agentIdOf(request.agent),
        request.path,
        request.recursive,
        userOf(call.metadata),
      );
      return {};
    }, logger),

    moveFile: unary(
      async (request: managerV1.MoveFileRequest, call) => ({
        file: await files.move(
          agentIdOf(request.agent),
          request.sourcePath,
          request.destinationPath,
          request.overwrite,
          userOf(call.metadata),
        ),
      }),
      logger,
    ),
  };
}
