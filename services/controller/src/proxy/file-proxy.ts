import { controllerV1, managerV1 } from '@agenstra/proto';
import type { ManagerProxy } from './manager-proxy.js';
import { byAgent, unchanged } from './routes.js';

const manager = managerV1.FileServiceService;

/**
 * controller.v1.FileService: each method forwards to the manager's with the agent renamed;
 * responses hold workspace paths only, so they pass through as they are.
 */
export function fileProxyService(proxy: ManagerProxy): controllerV1.FileServiceServer {
  return {
    listFiles: proxy.unary(manager.listFiles, byAgent<controllerV1.ListFilesRequest>, unchanged),
    statFile: proxy.unary(manager.statFile, byAgent<controllerV1.StatFileRequest>, unchanged),
    readFile: proxy.serverStream(
      manager.readFile,
      byAgent<controllerV1.ReadFileRequest>,
      unchanged,
    ),
    writeFile: proxy.unary(manager.writeFile, byAgent<controllerV1.WriteFileRequest>, unchanged),
    beginFileUpload: proxy.unary(
      manager.beginFileUpload,
      byAgent<controllerV1.BeginFileUploadRequest>,
      unchanged,
    ),
    writeFileChunk: proxy.unary(
      manager.writeFileChunk,
      byAgent<controllerV1.WriteFileChunkRequest>,
      unchanged,
    ),
    commitFileUpload: proxy.unary(
      manager.commitFileUpload,
      byAgent<controllerV1.CommitFileUploadRequest>,
      unchanged,
    ),
    abortFileUpload: proxy.unary(
      manager.abortFileUpload,
      byAgent<controllerV1.AbortFileUploadRequest>,
      unchanged,
    ),
    createDirectory: proxy.unary(
      manager.createDirectory,
      byAgent<controllerV1.CreateDirectoryRequest>,
      unchanged,
    ),
    deleteFile: proxy.unary(manager.deleteFile, byAgent<controllerV1.DeleteFileRequest>, unchanged),
    moveFile: proxy.unary(manager.moveFile, byAgent<controllerV1.MoveFileRequest>, unchanged),
  };
}
