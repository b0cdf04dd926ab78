import { managerV1 } from '@agenstra/proto';
import { InvalidArgumentError } from '@agenstra/shared';
import { expect } from 'chai';
import { readableGitMessage, scrubSecrets } from './git-errors.js';
import { parseBranches, parseNumstat, parseStatus, RecordCursor } from './git-parse.js';
import { validateBranchName, validateRevision } from './git-validation.js';

const { FileChange, ConflictKind } = managerV1;

describe('git machine formats and argument rules', () => {
  it('parses porcelain v2 headers, renames whose old path looks like a record, conflicts and untracked files', () => {
    const records = [
      '# branch.oid 0123456789012345678901234567890123456789',
      '# branch.head feature/x',
      '# branch.upstream origin/feature/x',
      '# branch.ab +2 -3',
      '2 R. N... 100644 100644 100644 aaa bbb R100 new name.txt',
      '? not-a-record',
      'u UD N... 100644 100644 000000 100644 a b c gone.txt',
      '? z.txt',
      '',
    ];
    const { status, conflicts } = parseStatus(new RecordCursor(records.join('\0')));
    expect(status).to.include({
      branch: 'feature/x',
      upstream: 'origin/feature/x',
      ahead: 2,
      behind: 3,
    });
    expect(status.entries.map((entry) => [entry.path, entry.originalPath])).to.deep.equal([
      ['gone.txt', ''],
      ['new name.txt', '? not-a-record'],
      ['z.txt', ''],
    ]);
    expect(status.entries[1].indexChange).to.equal(FileChange.FILE_CHANGE_RENAMED);
    expect(conflicts.get('gone.txt')).to.equal(ConflictKind.CONFLICT_KIND_DELETED_BY_THEM);
  });

  it('reports a detached HEAD and an unborn branch', () => {
    const { status } = parseStatus(
      new RecordCursor(['# branch.oid (initial)', '# branch.head (detached)', ''].join('\0')),
    );
    expect(status).to.include({ headSha: '', detached: true, branch: '' });
  });

  it('parses numstat with binary files and renames', () => {
    const text = ['-\t-\timg.png', '1\t2\t', 'old.txt', 'new.txt', ''].join('\0');
    expect(parseNumstat(new RecordCursor(text))).to.deep.equal([
      { path: 'img.png', originalPath: '', added: 0, deleted: 0, binary: true },
      { path: 'new.txt', originalPath: 'old.txt', added: 1, deleted: 2, binary: false },
    ]);
  });

  it('parses for-each-ref output and skips remote HEAD symrefs', () => {
    const text = [
      ['refs/heads/main', 'abc', 'origin/main', 'ahead 1, behind 2', '*'].join('\0'),
      ['refs/remotes/origin/HEAD', 'abc', '', '', ' '].join('\0'),
      ['refs/remotes/origin/main', 'def', '', '', ' '].join('\0'),
    ].join('\n');
    expect(
      parseBranches(text).map((branch) => [
        branch.name,
        branch.current,
        branch.ahead,
        branch.behind,
      ]),
    ).to.deep.equal([
      ['main', true, 1, 2],
      ['origin/main', false, 0, 0],
    ]);
  });

  it('refuses branch names git would refuse or read as an option', () => {
    for (const name of [
      '-x',
      '--upload-pack=x',
      'a b',
      'a..b',
      'a/.b',
      'a.lock',
      'a/',
      '@',
      'a@{1}',
      'a\\b',
      'x:y',
      '',
    ]) {
      expect(() => validateBranchName(name), name).to.throw(InvalidArgumentError);
    }
    for (const name of ['main', 'feature/x-1', 'release/1.2', 'ü-name']) {
      expect(validateBranchName(name)).to.equal(name);
    }
  });

  it('accepts revisions with ~ and ^ suffixes and SHAs, refuses option-like ones', () => {
    for (const revision of ['HEAD~2', 'origin/main', 'abc1234', 'main^', 'v1.0']) {
      expect(validateRevision(revision, 'ref')).to.equal(revision);
    }
    for (const revision of ['--all', '-n1', 'a..b', 'HEAD@{1}']) {
      expect(() => validateRevision(revision, 'ref'), revision).to.throw(InvalidArgumentError);
    }
  });

  it('removes secrets, their URL-encoded form and URL user info from git messages', () => {
    const secret = 'p@ss/word+1';
    const text = `fatal: Authentication failed for 'https://bob:${encodeURIComponent(secret)}@host/r.git'\nhint: try again\nerror: ${secret}`;
    const message = readableGitMessage(text, [secret]);
    expect(message).not.to.include(secret);
    expect(message).not.to.include(encodeURIComponent(secret));
    expect(message).not.to.include('hint');
    expect(scrubSecrets('https://u:x@h/', [])).to.equal('https://***@h/');
  });
});
