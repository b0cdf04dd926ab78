import type { BigIntStats } from 'node:fs';
import path from 'node:path';
import { managerV1 } from '@agenstra/proto';

const { FileType } = managerV1;

export function fileTypeOf(stats: BigIntStats): managerV1.FileType {
  if (stats.isFile()) return FileType.FILE_TYPE_FILE;
  if (stats.isDirectory()) return FileType.FILE_TYPE_DIRECTORY;
  if (stats.isSymbolicLink()) return FileType.FILE_TYPE_SYMLINK;
  return FileType.FILE_TYPE_OTHER;
}

export function fileInfoOf(
  workspacePath: string,
  stats: BigIntStats,
  symlinkTarget = '',
): managerV1.FileInfo {
  return {
    path: workspacePath,
    name: workspacePath === '' ? '' : path.posix.basename(workspacePath),
    type: fileTypeOf(stats),
    sizeBytes: stats.isDirectory() ? '0' : stats.size.toString(),
    mode: Number(stats.mode & 0o7777n),
    modifyTime: new Date(Number(stats.mtimeMs)).toISOString(),
    symlinkTarget,
  };
}

/**
 * Identity of an entry's current state: kind, inode, size, modification time (ns) and mode.
 * The watcher compares these to tell real changes from its own echoes; a directory is only its
 * inode because its mtime moves with every entry added or removed.
 */
export function signatureOf(stats: BigIntStats): string {
  if (stats.isDirectory()) return `d:${stats.ino}`;
  const kind = stats.isFile() ? 'f' : stats.isSymbolicLink() ? 'l' : 'o';
  return `${kind}:${stats.ino}:${stats.size}:${stats.mtimeNs}:${stats.mode}`;
}

export const BINARY_SNIFF_BYTES = 8192;

/** A NUL byte or invalid UTF-8 in the sample; a multi-byte sequence cut off at its end is fine. */
export function looksBinary(sample: Buffer): boolean {
  if (sample.includes(0)) return true;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(sample, { stream: true });
    return false;
  } catch {
    return true;
  }
}

const MEDIA_TYPES_BY_EXTENSION: Record<string, string> = {
  '.ts': 'text/x-typescript',
  '.tsx': 'text/x-typescript',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.cjs': 'text/javascript',
  '.json': 'application/json',
  '.md': 'text/markdown',
  '.html': 'text/html',
  '.css': 'text/css',
  '.scss': 'text/x-scss',
  '.py': 'text/x-python',
  '.go': 'text/x-go',
  '.rs': 'text/x-rust',
  '.java': 'text/x-java',
  '.c': 'text/x-c',
  '.h': 'text/x-c',
  '.cpp': 'text/x-c++',
  '.sh': 'text/x-shellscript',
  '.yaml': 'application/yaml',
  '.yml': 'application/yaml',
  '.xml': 'application/xml',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain',
  '.csv': 'text/csv',
  '.proto': 'text/x-protobuf',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.pdf': 'application/pdf',
  '.zip': 'application/zip',
  '.gz': 'application/gzip',
  '.wasm': 'application/wasm',
};

const MAGIC_NUMBERS: Array<[Buffer, string]> = [
  [Buffer.from([0x89, 0x50, 0x4e, 0x47]), 'image/png'],
  [Buffer.from([0xff, 0xd8, 0xff]), 'image/jpeg'],
  [Buffer.from('GIF8'), 'image/gif'],
  [Buffer.from('%PDF-'), 'application/pdf'],
  [Buffer.from([0x50, 0x4b, 0x03, 0x04]), 'application/zip'],
  [Buffer.from([0x1f, 0x8b]), 'application/gzip'],
  [Buffer.from([0x00, 0x61, 0x73, 0x6d]), 'application/wasm'],
];

/** Media type from the content's magic number, else the extension, else text/plain or octet-stream. */
export function mediaTypeOf(name: string, sample: Buffer, binary: boolean): string {
  const magic = MAGIC_NUMBERS.find(([prefix]) => sample.subarray(0, prefix.length).equals(prefix));
  if (magic) return magic[1];
  const byExtension = MEDIA_TYPES_BY_EXTENSION[path.posix.extname(name).toLowerCase()];
  if (byExtension) return byExtension;
  return binary ? 'application/octet-stream' : 'text/plain';
}
