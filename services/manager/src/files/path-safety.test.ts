import { spawn, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { status, type ServiceError } from '@grpc/grpc-js';
import { expect } from 'chai';
import { startFilesFixture, type FilesFixture } from './files-fixture.js';
import { parseWorkspacePath } from './workspace-path.js';

const CANARY = 'canary: nothing outside the workspace may be read or written';

async function codeOf(promise: Promise<unknown>): Promise<number | 'OK'> {
  try {
    await promise;
    return 'OK';
  } catch (error) {
    const serviceError = error as ServiceError;
    expect(serviceError.details ?? '', 'no error message may reveal the canary').to.not.contain(
      'canary:',
    );
    return serviceError.code;
  }
}

describe('FileService path safety', () => {
  let fixture: FilesFixture;
  let agent: { agentId: string; name: string; dir: string };

  before(async () => {
    fixture = await startFilesFixture();
    agent = await fixture.newAgent();
    await fs.writeFile(path.join(fixture.outsideDir, 'canary.txt'), CANARY);
    await fs.writeFile(path.join(agent.dir, 'inside.txt'), 'inside');
    await fs.symlink('/etc', path.join(agent.dir, 'etc-link'));
    await fs.symlink(fixture.outsideDir, path.join(agent.dir, 'outside-link'));
    await fs.symlink('../', path.join(agent.dir, 'up-link'));
    await fs.symlink('chain-2', path.join(agent.dir, 'chain-1'));
    await fs.symlink(path.join(fixture.outsideDir, 'canary.txt'), path.join(agent.dir, 'chain-2'));
    await fs.symlink('inside.txt', path.join(agent.dir, 'inside-link'));
  });

  after(async () => {
    await fixture.close();
  });

  afterEach(async () => {
    expect(await fs.readdir(fixture.outsideDir), 'files outside the workspace').to.deep.equal([
      'canary.txt',
    ]);
    expect(await fs.readFile(path.join(fixture.outsideDir, 'canary.txt'), 'utf8')).to.equal(CANARY);
  });

  describe('refuses malformed paths with INVALID_ARGUMENT', () => {
    const hostile = [
      '../x',
      '/etc/passwd',
      'a/../../x',
      '..',
      'x\0y',
      'a//b',
      'a/',
      './a',
      `${'a'.repeat(256)}`,
      `${'a/'.repeat(2100)}b`,
    ];
    for (const hostilePath of hostile) {
      const shown = JSON.stringify(
        hostilePath.length > 40 ? `${hostilePath.slice(0, 20)}…` : hostilePath,
      );
      it(`refuses ${shown} in every method`, async () => {
        const name = agent.name;
        const calls = [
          fixture.call('statFile', { agent: name, path: hostilePath }),
          fixture.call('listFiles', { agent: name, path: hostilePath }),
          fixture.read({ agent: name, path: hostilePath }),
          fixture.call('writeFile', {
            agent: name,
            path: hostilePath,
            content: Buffer.from('x'),
            createParents: true,
          }),
          fixture.call('beginFileUpload', { agent: name, path: hostilePath, sizeBytes: '1' }),
          fixture.call('createDirectory', { agent: name, path: hostilePath, createParents: true }),
          fixture.call('deleteFile', { agent: name, path: hostilePath, recursive: true }),
          fixture.call('moveFile', {
            agent: name,
            sourcePath: 'inside.txt',
            destinationPath: hostilePath,
          }),
          fixture.call('moveFile', {
            agent: name,
            sourcePath: hostilePath,
            destinationPath: 'moved.txt',
          }),
        ];
        for (const call of calls) expect(await codeOf(call)).to.equal(status.INVALID_ARGUMENT);
      });
    }

    it('explains the problem in the message', async () => {
      const error = (await fixture
        .call('statFile', { agent: agent.name, path: 'a/../../x' })
        .catch((e) => e)) as ServiceError;
      expect(error.details).to.contain('".."');
      expect(() => parseWorkspacePath('/etc/passwd')).to.throw(/absolute/);
      expect(() => parseWorkspacePath('x\0y')).to.throw(/NUL/);
    });

    it('treats a backslash as an ordinary file-name character', async () => {
      await fixture.call('writeFile', {
        agent: agent.name,
        path: 'back\\slash.txt',
        content: Buffer.from('b'),
      });
      expect(await fs.readFile(path.join(agent.dir, 'back\\slash.txt'), 'utf8')).to.equal('b');
    });

    it('refuses an agent name that is not agents/{agent}', async () => {
      for (const bad of ['agents/../x', 'agents/', 'x/y', 'agents/a/b', 'agents/.uploads']) {
        expect(await codeOf(fixture.call('statFile', { agent: bad, path: '' })), bad).to.equal(
          status.INVALID_ARGUMENT,
        );
      }
      expect(await codeOf(fixture.call('statFile', { agent: 'agents/nobody', path: '' }))).to.equal(
        status.NOT_FOUND,
      );
    });
  });

  describe('never follows a symlink on the host (PERMISSION_DENIED)', () => {
    const refused: Array<[string, (f: FilesFixture, name: string) => Promise<unknown>]> = [
      [
        'reading through a symlink to /etc',
        (f, n) => f.read({ agent: n, path: 'etc-link/passwd' }),
      ],
      [
        'stat through a symlink to /etc',
        (f, n) => f.call('statFile', { agent: n, path: 'etc-link/passwd' }),
      ],
      [
        'listing through a symlink to /etc',
        (f, n) => f.call('listFiles', { agent: n, path: 'etc-link' }),
      ],
      [
        'reading a file in a linked directory outside',
        (f, n) => f.read({ agent: n, path: 'outside-link/canary.txt' }),
      ],
      [
        'reading through a symlink to the parent',
        (f, n) => f.read({ agent: n, path: 'up-link/outside/canary.txt' }),
      ],
      [
        'reading a symlink chain that ends outside',
        (f, n) => f.read({ agent: n, path: 'chain-1' }),
      ],
      [
        'reading a symlink even when it stays inside',
        (f, n) => f.read({ agent: n, path: 'inside-link' }),
      ],
      [
        'writing into a linked directory outside',
        (f, n) =>
          f.call('writeFile', {
            agent: n,
            path: 'outside-link/new.txt',
            content: Buffer.from('x'),
          }),
      ],
      [
        'writing over a symlink chain',
        (f, n) =>
          f.call('writeFile', { agent: n, path: 'chain-1', content: Buffer.from('overwritten') }),
      ],
      [
        'creating a directory in a linked directory',
        (f, n) =>
          f.call('createDirectory', { agent: n, path: 'outside-link/d', createParents: true }),
      ],
      [
        'deleting through a linked directory',
        (f, n) => f.call('deleteFile', { agent: n, path: 'outside-link/canary.txt' }),
      ],
      [
        'moving a file out through a symlink',
        (f, n) =>
          f.call('moveFile', {
            agent: n,
            sourcePath: 'inside.txt',
            destinationPath: 'outside-link/stolen.txt',
          }),
      ],
      [
        'moving a file in through a symlink',
        (f, n) =>
          f.call('moveFile', {
            agent: n,
            sourcePath: 'outside-link/canary.txt',
            destinationPath: 'got.txt',
          }),
      ],
      [
        'uploading into a linked directory',
        async (f, n) => {
          const upload = await f.call('beginFileUpload', {
            agent: n,
            path: 'outside-link/up.bin',
            sizeBytes: '3',
          });
          await f.call('writeFileChunk', {
            agent: n,
            uploadId: upload.uploadId,
            offset: '0',
            data: Buffer.from('abc'),
          });
          await f.call('commitFileUpload', { agent: n, uploadId: upload.uploadId });
        },
      ],
    ];
    for (const [what, run] of refused) {
      it(`refuses ${what}`, async () => {
        expect(await codeOf(run(fixture, agent.name))).to.equal(status.PERMISSION_DENIED);
      });
    }

    it('reports symlinks as symlinks with their target in listings and stat', async () => {
      const { file } = await fixture.call('statFile', { agent: agent.name, path: 'etc-link' });
      expect(file).to.include({ type: 3, symlinkTarget: '/etc', path: 'etc-link' });
      const { files } = await fixture.call('listFiles', { agent: agent.name, path: '' });
      const link = files.find((entry: { name: string }) => entry.name === 'outside-link');
      expect(link).to.include({ type: 3, symlinkTarget: fixture.outsideDir });
    });

    it('deletes a symlink itself, never what it points to', async () => {
      await fs.symlink(fixture.outsideDir, path.join(agent.dir, 'doomed-link'));
      await fixture.call('deleteFile', { agent: agent.name, path: 'doomed-link', recursive: true });
      await fs.mkdir(path.join(agent.dir, 'tree'));
      await fs.symlink(fixture.outsideDir, path.join(agent.dir, 'tree', 'link-inside-tree'));
      await fixture.call('deleteFile', { agent: agent.name, path: 'tree', recursive: true });
      expect(await fs.readdir(agent.dir)).to.not.include.members(['doomed-link', 'tree']);
    });
  });

  describe('special files the agent may plant', () => {
    it('refuses to read or replace a FIFO instead of blocking on it', async () => {
      const made = spawnSync('mkfifo', [path.join(agent.dir, 'pipe')]);
      expect(made.status).to.equal(0);
      expect(await codeOf(fixture.read({ agent: agent.name, path: 'pipe' }))).to.equal(
        status.FAILED_PRECONDITION,
      );
      expect(
        await codeOf(
          fixture.call('writeFile', { agent: agent.name, path: 'pipe', content: Buffer.from('x') }),
        ),
      ).to.equal(status.FAILED_PRECONDITION);
      const { file } = await fixture.call('statFile', { agent: agent.name, path: 'pipe' });
      expect(file.type).to.equal(4); // FILE_TYPE_OTHER
    });
  });

  describe('a directory swapped for a symlink', () => {
    it('is refused on the next call', async () => {
      await fixture.call('writeFile', {
        agent: agent.name,
        path: 'swapped/a.txt',
        content: Buffer.from('a'),
        createParents: true,
      });
      await fs.rename(path.join(agent.dir, 'swapped'), path.join(agent.dir, 'swapped-old'));
      await fs.symlink(fixture.outsideDir, path.join(agent.dir, 'swapped'));
      expect(
        await codeOf(fixture.read({ agent: agent.name, path: 'swapped/canary.txt' })),
      ).to.equal(status.PERMISSION_DENIED);
      expect(
        await codeOf(
          fixture.call('writeFile', {
            agent: agent.name,
            path: 'swapped/a.txt',
            content: Buffer.from('b'),
          }),
        ),
      ).to.equal(status.PERMISSION_DENIED);
    });

    it('cannot lead a call outside while the agent swaps it back and forth', async function () {
      this.timeout(60_000);
      // Another process flips `flip` between a real directory and a symlink to the outside
      // directory as fast as it can, while reads and writes go through it.
      const script = `cd "$1"; while :; do rm -rf flip; mkdir flip; echo inside > flip/canary.txt; rm -rf flip; ln -s "$2" flip; done`;
      const flipper = spawn('sh', ['-c', script, 'flipper', agent.dir, fixture.outsideDir], {
        stdio: 'ignore',
      });
      const codes = new Map<string, number>();
      try {
        for (let round = 0; round < 150; round++) {
          const read = fixture.read({ agent: agent.name, path: 'flip/canary.txt' }).then(
            (chunks) => {
              expect(Buffer.concat(chunks.map((chunk) => chunk.data)).toString()).to.equal(
                'inside\n',
              );
              return 'OK' as const;
            },
            (error: ServiceError) => error.code,
          );
          const write = codeOf(
            fixture.call('writeFile', {
              agent: agent.name,
              path: 'flip/written.txt',
              content: Buffer.from('w'),
            }),
          );
          const list = codeOf(fixture.call('listFiles', { agent: agent.name, path: 'flip' }));
          for (const code of await Promise.all([read, write, list])) {
            codes.set(String(code), (codes.get(String(code)) ?? 0) + 1);
            expect([
              'OK',
              status.PERMISSION_DENIED,
              status.NOT_FOUND,
              status.FAILED_PRECONDITION,
            ]).to.include(code);
          }
        }
      } finally {
        flipper.kill('SIGKILL');
        await new Promise((resolve) => flipper.once('exit', resolve));
      }
      // The race was real: some calls met the symlink.
      expect(codes.get(String(status.PERMISSION_DENIED)) ?? 0).to.be.greaterThan(0);
    });
  });
});
