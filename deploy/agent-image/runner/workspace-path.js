// Resolves a user-supplied relative path inside the workspace, refusing anything that could
// leave it: absolute paths, "..", NUL bytes, and symlinks (at any level) that point outside.
const fs = require('node:fs');
const path = require('node:path');

class WorkspacePathError extends Error {
  constructor(message) {
    super(message);
    this.name = 'WorkspacePathError';
  }
}

function isInside(root, candidate) {
  return (
    candidate === root || candidate.startsWith(root.endsWith(path.sep) ? root : root + path.sep)
  );
}

/** Syntactic checks only; returns the path's segments. */
function segmentsOf(relativePath) {
  if (typeof relativePath !== 'string' || relativePath.length === 0) {
    throw new WorkspacePathError('the path is empty');
  }
  if (relativePath.includes('\0')) throw new WorkspacePathError('the path contains a NUL byte');
  if (path.posix.isAbsolute(relativePath) || path.win32.isAbsolute(relativePath)) {
    throw new WorkspacePathError(
      `${JSON.stringify(relativePath)} is absolute; give a path relative to the workspace`,
    );
  }
  const segments = relativePath
    .split(/[\\/]+/)
    .filter((segment) => segment !== '' && segment !== '.');
  if (segments.includes('..')) {
    throw new WorkspacePathError(
      `${JSON.stringify(relativePath)} contains ".."; paths must stay inside the workspace`,
    );
  }
  if (segments.length === 0)
    throw new WorkspacePathError(`${JSON.stringify(relativePath)} names the workspace itself`);
  return segments;
}

/**
 * Writes content to relativePath inside workspaceRoot, creating missing parent directories.
 * Every existing component is resolved (symlinks followed) and must stay inside the workspace;
 * the file itself is opened with O_NOFOLLOW so a symlink planted at the last moment is refused.
 * Returns the number of bytes written.
 */
async function writeInsideWorkspace(workspaceRoot, relativePath, content) {
  const segments = segmentsOf(relativePath);
  const root = await fs.promises.realpath(workspaceRoot);
  let directory = root;
  for (const segment of segments.slice(0, -1)) {
    const next = path.join(directory, segment);
    let resolved;
    try {
      resolved = await fs.promises.realpath(next);
    } catch (error) {
      if (error.code !== 'ENOENT') throw error;
      await fs.promises.mkdir(next).catch((mkdirError) => {
        if (mkdirError.code !== 'EEXIST') throw mkdirError;
      });
      resolved = await fs.promises.realpath(next);
    }
    if (!isInside(root, resolved)) {
      throw new WorkspacePathError(
        `${JSON.stringify(relativePath)} leaves the workspace through a symlink`,
      );
    }
    directory = resolved;
  }
  const target = path.join(directory, segments[segments.length - 1]);
  let stat = null;
  try {
    stat = await fs.promises.lstat(target);
  } catch (error) {
    if (error.code !== 'ENOENT') throw error;
  }
  if (stat && stat.isSymbolicLink()) {
    throw new WorkspacePathError(
      `${JSON.stringify(relativePath)} is a symlink; refusing to write through it`,
    );
  }
  if (stat && stat.isDirectory())
    throw new WorkspacePathError(`${JSON.stringify(relativePath)} is a directory`);
  const bytes = Buffer.from(content, 'utf8');
  const flags =
    fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_NOFOLLOW;
  let handle;
  try {
    handle = await fs.promises.open(target, flags, 0o644);
  } catch (error) {
    if (error.code === 'ELOOP') {
      throw new WorkspacePathError(
        `${JSON.stringify(relativePath)} is a symlink; refusing to write through it`,
      );
    }
    throw error;
  }
  try {
    await handle.writeFile(bytes);
  } finally {
    await handle.close();
  }
  return bytes.length;
}

module.exports = { WorkspacePathError, writeInsideWorkspace };
