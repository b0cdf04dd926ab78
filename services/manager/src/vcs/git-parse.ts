import { managerV1 } from '@agenstra/proto';

const { FileChange, RepositoryOperation, ConflictKind } = managerV1;

export const MAX_STATUS_ENTRIES = 10_000;

/** Reads NUL-terminated records one at a time (git's `-z` output). */
export class RecordCursor {
  private position = 0;
  constructor(private readonly text: string) {}

  get done(): boolean {
    return this.position >= this.text.length;
  }

  next(): string {
    const end = this.text.indexOf('\0', this.position);
    const stop = end === -1 ? this.text.length : end;
    const record = this.text.slice(this.position, stop);
    this.position = stop + 1;
    return record;
  }

  peek(): string {
    const end = this.text.indexOf('\0', this.position);
    return this.text.slice(this.position, end === -1 ? this.text.length : end);
  }
}

/** Splits `count` space-separated fields off the front; the rest (a path may hold spaces) is last. */
function fields(record: string, count: number): string[] {
  const parts: string[] = [];
  let rest = record;
  for (let index = 0; index < count; index += 1) {
    const space = rest.indexOf(' ');
    if (space === -1) break;
    parts.push(rest.slice(0, space));
    rest = rest.slice(space + 1);
  }
  parts.push(rest);
  return parts;
}

const CHANGES: Record<string, managerV1.FileChange> = {
  '.': FileChange.FILE_CHANGE_UNMODIFIED,
  M: FileChange.FILE_CHANGE_MODIFIED,
  A: FileChange.FILE_CHANGE_ADDED,
  D: FileChange.FILE_CHANGE_DELETED,
  R: FileChange.FILE_CHANGE_RENAMED,
  C: FileChange.FILE_CHANGE_COPIED,
  T: FileChange.FILE_CHANGE_TYPE_CHANGED,
  U: FileChange.FILE_CHANGE_CONFLICTED,
};

export function changeOf(letter: string): managerV1.FileChange {
  return CHANGES[letter] ?? FileChange.FILE_CHANGE_MODIFIED;
}

export const CONFLICT_KINDS: Record<string, managerV1.ConflictKind> = {
  UU: ConflictKind.CONFLICT_KIND_BOTH_MODIFIED,
  AA: ConflictKind.CONFLICT_KIND_BOTH_ADDED,
  DU: ConflictKind.CONFLICT_KIND_DELETED_BY_US,
  UD: ConflictKind.CONFLICT_KIND_DELETED_BY_THEM,
  DD: ConflictKind.CONFLICT_KIND_BOTH_DELETED,
  AU: ConflictKind.CONFLICT_KIND_ADDED_BY_US,
  UA: ConflictKind.CONFLICT_KIND_ADDED_BY_THEM,
};

export interface ParsedStatus {
  status: managerV1.RepositoryStatus;
  /** Conflict kind by path, from the `u` records. */
  conflicts: Map<string, managerV1.ConflictKind>;
}

/**
 * Parses `git status --porcelain=v2 -z --branch` records until `stopAt` (a record that cannot
 * start a status record) or the end.
 */
export function parseStatus(cursor: RecordCursor, stopAt?: string): ParsedStatus {
  const status: managerV1.RepositoryStatus = {
    branch: '',
    detached: false,
    headSha: '',
    upstream: '',
    ahead: 0,
    behind: 0,
    operation: RepositoryOperation.REPOSITORY_OPERATION_NONE,
    entries: [],
    truncated: false,
  };
  const conflicts = new Map<string, managerV1.ConflictKind>();
  const add = (entry: managerV1.StatusEntry) => {
    if (status.entries.length >= MAX_STATUS_ENTRIES) status.truncated = true;
    else status.entries.push(entry);
  };
  while (!cursor.done) {
    if (stopAt !== undefined && cursor.peek() === stopAt) {
      cursor.next();
      break;
    }
    const record = cursor.next();
    if (record === '') continue;
    const kind = record[0];
    if (kind === '#') {
      const [, key, value] = fields(record, 2);
      if (key === 'branch.oid') status.headSha = value === '(initial)' ? '' : value;
      else if (key === 'branch.head') {
        status.detached = value === '(detached)';
        status.branch = status.detached ? '' : value;
      } else if (key === 'branch.upstream') status.upstream = value;
      else if (key === 'branch.ab') {
        const [ahead, behind] = value.split(' ');
        status.ahead = Math.abs(Number(ahead));
        status.behind = Math.abs(Number(behind));
      }
    } else if (kind === '1' || kind === '2') {
      const parts = fields(record, kind === '1' ? 8 : 9);
      const xy = parts[1];
      const path = parts[parts.length - 1];
      const originalPath = kind === '2' ? cursor.next() : '';
      add(entryOf(path, originalPath, xy));
    } else if (kind === 'u') {
      const parts = fields(record, 10);
      const path = parts[10];
      conflicts.set(path, CONFLICT_KINDS[parts[1]] ?? ConflictKind.CONFLICT_KIND_BOTH_MODIFIED);
      add({
        path,
        originalPath: '',
        indexChange: FileChange.FILE_CHANGE_CONFLICTED,
        worktreeChange: FileChange.FILE_CHANGE_CONFLICTED,
        staged: false,
        unstaged: false,
        untracked: false,
        conflicted: true,
        isBinary: false,
      });
    } else if (kind === '?') {
      add({
        path: record.slice(2),
        originalPath: '',
        indexChange: FileChange.FILE_CHANGE_UNMODIFIED,
        worktreeChange: FileChange.FILE_CHANGE_UNTRACKED,
        staged: false,
        unstaged: false,
        untracked: true,
        conflicted: false,
        isBinary: false,
      });
    }
  }
  status.entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { status, conflicts };
}

function entryOf(path: string, originalPath: string, xy: string): managerV1.StatusEntry {
  const indexChange = changeOf(xy[0]);
  const worktreeChange = changeOf(xy[1]);
  return {
    path,
    originalPath,
    indexChange,
    worktreeChange,
    staged: indexChange !== FileChange.FILE_CHANGE_UNMODIFIED,
    unstaged: worktreeChange !== FileChange.FILE_CHANGE_UNMODIFIED,
    untracked: false,
    conflicted: false,
    isBinary: false,
  };
}

export interface NumstatEntry {
  path: string;
  originalPath: string;
  added: number;
  deleted: number;
  binary: boolean;
}

/** Parses `git diff --numstat -z`: "A\tD\tpath" or, for renames, "A\tD\t" then old and new path. */
export function parseNumstat(cursor: RecordCursor): NumstatEntry[] {
  const entries: NumstatEntry[] = [];
  while (!cursor.done) {
    const record = cursor.next();
    if (record === '') continue;
    const [added, deleted, ...rest] = record.split('\t');
    let path = rest.join('\t');
    let originalPath = '';
    if (path === '') {
      originalPath = cursor.next();
      path = cursor.next();
    }
    const binary = added === '-' && deleted === '-';
    entries.push({
      path,
      originalPath,
      added: binary ? 0 : Number(added),
      deleted: binary ? 0 : Number(deleted),
      binary,
    });
  }
  return entries;
}

export interface RawEntry {
  path: string;
  originalPath: string;
  oldSha: string;
  newSha: string;
  letter: string;
}

/** Parses `git diff --raw -z --no-abbrev`. */
export function parseRaw(cursor: RecordCursor): RawEntry[] {
  const entries: RawEntry[] = [];
  while (!cursor.done) {
    const record = cursor.next();
    if (record === '') continue;
    // ":100644 100644 <old> <new> M" then the path(s).
    const [, , oldSha, newSha, status] = record.slice(1).split(' ');
    const letter = status[0];
    let originalPath = '';
    let path = cursor.next();
    if (letter === 'R' || letter === 'C') {
      originalPath = path;
      path = cursor.next();
    }
    entries.push({ path, originalPath, oldSha, newSha, letter });
  }
  return entries;
}

export const COMMIT_FORMAT = ['%H', '%P', '%an', '%ae', '%aI', '%cn', '%ce', '%cI', '%B'].join(
  '%x00',
);
const COMMIT_FIELDS = 9;
const MAX_COMMIT_MESSAGE_BYTES = 64 * 1024;

/** Parses `git log -z --format=COMMIT_FORMAT`: nine NUL-separated fields per commit. */
export function parseCommits(text: string): managerV1.CommitInfo[] {
  if (text === '') return [];
  const parts = text.split('\0');
  const commits: managerV1.CommitInfo[] = [];
  for (let index = 0; index + COMMIT_FIELDS <= parts.length; index += COMMIT_FIELDS) {
    const [
      sha,
      parents,
      authorName,
      authorEmail,
      authorTime,
      committerName,
      committerEmail,
      commitTime,
      body,
    ] = parts.slice(index, index + COMMIT_FIELDS);
    const message = body.replace(/\n$/, '');
    commits.push({
      sha: sha.replace(/^\n/, ''),
      parentShas: parents === '' ? [] : parents.split(' '),
      subject: message.split('\n', 1)[0],
      message: Buffer.from(message).subarray(0, MAX_COMMIT_MESSAGE_BYTES).toString('utf8'),
      authorName,
      authorEmail,
      authorTime: new Date(authorTime).toISOString(),
      committerName,
      committerEmail,
      commitTime: new Date(commitTime).toISOString(),
    });
  }
  return commits;
}

/** Parses for-each-ref with BRANCH_FORMAT (fields separated by NUL, one ref per line). */
export const BRANCH_FORMAT =
  '%(refname)%00%(objectname)%00%(upstream:short)%00%(upstream:track,nobracket)%00%(HEAD)';

export function parseBranches(text: string): managerV1.Branch[] {
  const branches: managerV1.Branch[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const [refname, sha, upstream, track, head] = line.split('\0');
    const remote = refname.startsWith('refs/remotes/');
    const name = refname.replace(/^refs\/(heads|remotes)\//, '');
    if (remote && name.endsWith('/HEAD')) continue;
    branches.push({
      name,
      remote,
      current: head === '*',
      headSha: sha,
      upstream,
      ahead: Number(/ahead (\d+)/.exec(track)?.[1] ?? 0),
      behind: Number(/behind (\d+)/.exec(track)?.[1] ?? 0),
    });
  }
  return branches;
}
