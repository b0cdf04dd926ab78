import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * A second person working on a remote from the host (test fixture only): clones the bare
 * repository at `barePath`, writes one file, commits it as Bob, pushes to `main` and returns the
 * new commit's sha. The scratch clone is removed again.
 */
export function commitToBareRepository(
  barePath: string,
  file: string,
  content: string,
  message: string,
): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agenstra-vcs-host-'));
  try {
    const git = (...args: string[]) =>
      execFileSync(
        'git',
        ['-C', dir, '-c', 'user.name=Bob', '-c', 'user.email=bob@example.com', ...args],
        { stdio: 'pipe' },
      )
        .toString()
        .trim();
    execFileSync('git', ['clone', '-q', barePath, dir], { stdio: 'pipe' });
    writeFileSync(path.join(dir, file), content);
    git('add', '--', file);
    git('commit', '-q', '-m', message);
    git('push', '-q', 'origin', 'HEAD:refs/heads/main');
    return git('rev-parse', 'HEAD');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
