import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { managerV1 } from '@agenstra/proto';
import { status, type ServiceError } from '@grpc/grpc-js';
import { expect } from 'chai';
import { startFilesFixture, type FilesFixture } from './files-fixture.js';

const { FileType } = managerV1;
const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

async function codeOf(promise: Promise<unknown>): Promise<number | 'OK'> {
  return promise.then(
    () => 'OK' as const,
    (error: ServiceError) => error.code,
  );
}

describe('FileService', () => {
  let fixture: FilesFixture;
  let agent: { agentId: string; name: string; dir: string };
  const MAX_FILE_BYTES = 20 * 1024 * 1024;

  before(async () => {
    fixture = await startFilesFixture({ maxFileBytes: MAX_FILE_BYTES, uploadIdleMs: 60_000 });
  });
  after(async () => {
    await fixture.close();
  });
  beforeEach(async () => {
    agent = await fixture.newAgent();
  });

  describe('chunked upload and streamed read', () => {
    it('round-trips a 10 MB random binary file bit for bit', async function () {
      this.timeout(60_000);
      const content = randomBytes(10 * 1024 * 1024);
      const upload = await fixture.call('beginFileUpload', {
        agent: agent.name,
        path: 'assets/blob.bin',
        sizeBytes: String(content.length),
        createParents: true,
      });
      expect(upload.maxChunkSizeBytes).to.equal(1024 * 1024);
      let received = 0;
      for (let offset = 0; offset < content.length; offset += upload.maxChunkSizeBytes) {
        const data = content.subarray(offset, offset + upload.maxChunkSizeBytes);
        const answer = await fixture.call('writeFileChunk', {
          agent: agent.name,
          uploadId: upload.uploadId,
          offset: String(offset),
          data,
        });
        received = Number(answer.receivedBytes);
      }
      expect(received).to.equal(content.length);
      const committed = await fixture.call('commitFileUpload', {
        agent: agent.name,
        uploadId: upload.uploadId,
        contentSha256: sha256(content),
      });
      expect(committed.sha256).to.equal(sha256(content));
      expect(committed.file).to.include({
        path: 'assets/blob.bin',
        sizeBytes: String(content.length),
      });

      const onDisk = await fs.stat(path.join(agent.dir, 'assets/blob.bin'));
      expect([onDisk.uid, onDisk.gid, onDisk.mode & 0o777]).to.deep.equal([1000, 1000, 0o644]);

      const chunks = await fixture.read({
        agent: agent.name,
        path: 'assets/blob.bin',
        chunkSizeBytes: 1024 * 1024,
      });
      const read = Buffer.concat(chunks.map((chunk) => chunk.data));
      expect(read.equals(content)).to.equal(true);
      expect(chunks[0]).to.include({
        isBinary: true,
        encoding: '',
        mediaType: 'application/octet-stream',
      });
      expect(chunks[0].totalSizeBytes).to.equal(String(content.length));
      expect(chunks.map((chunk) => chunk.last)).to.deep.equal([...Array(9).fill(false), true]);
      expect(chunks.map((chunk) => Number(chunk.offset))).to.deep.equal(
        Array.from({ length: 10 }, (_, i) => i * 1024 * 1024),
      );
      expect(await fs.readdir(path.join(fixture.workspacesDir, '.uploads'))).to.deep.equal([]);
    });

    it('checks chunk offsets, sizes, the content hash and the size limit', async () => {
      expect(
        await codeOf(
          fixture.call('beginFileUpload', {
            agent: agent.name,
            path: 'big',
            sizeBytes: String(MAX_FILE_BYTES + 1),
          }),
        ),
      ).to.equal(status.RESOURCE_EXHAUSTED);

      const upload = await fixture.call('beginFileUpload', {
        agent: agent.name,
        path: 'u.txt',
        sizeBytes: '6',
      });
      const chunk = (offset: number, data: string) =>
        fixture.call('writeFileChunk', {
          agent: agent.name,
          uploadId: upload.uploadId,
          offset: String(offset),
          data: Buffer.from(data),
        });
      const skipped = (await chunk(3, 'abc').catch((e) => e)) as ServiceError;
      expect(skipped.code).to.equal(status.FAILED_PRECONDITION);
      expect(skipped.details).to.contain('received_bytes=0');
      expect(await codeOf(chunk(0, 'abcdefg'))).to.equal(status.INVALID_ARGUMENT);
      await chunk(0, 'abc');
      expect(
        await codeOf(
          fixture.call('commitFileUpload', { agent: agent.name, uploadId: upload.uploadId }),
        ),
      ).to.equal(status.FAILED_PRECONDITION);
      await chunk(3, 'def');
      const wrongHash = await codeOf(
        fixture.call('commitFileUpload', {
          agent: agent.name,
          uploadId: upload.uploadId,
          contentSha256: sha256('x'),
        }),
      );
      expect(wrongHash).to.equal(status.DATA_LOSS);
      expect(await fs.readdir(agent.dir)).to.deep.equal([]);
      expect(
        await codeOf(
          fixture.call('abortFileUpload', { agent: agent.name, uploadId: upload.uploadId }),
        ),
      ).to.equal(status.NOT_FOUND);
    });

    it('aborts uploads on request and when they expire, removing their staged bytes', async () => {
      const first = await fixture.call('beginFileUpload', {
        agent: agent.name,
        path: 'a',
        sizeBytes: '1',
      });
      await fixture.call('abortFileUpload', { agent: agent.name, uploadId: first.uploadId });
      const second = await fixture.call('beginFileUpload', {
        agent: agent.name,
        path: 'b',
        sizeBytes: '1',
      });
      expect(await fixture.files.uploads.expire(new Date(Date.now() + 61_000))).to.equal(1);
      expect(
        await codeOf(
          fixture.call('writeFileChunk', {
            agent: agent.name,
            uploadId: second.uploadId,
            offset: '0',
            data: Buffer.from('b'),
          }),
        ),
      ).to.equal(status.NOT_FOUND);
      expect(await fs.readdir(path.join(fixture.workspacesDir, '.uploads'))).to.deep.equal([]);
    });

    it("does not let one agent touch another agent's upload", async () => {
      const other = await fixture.newAgent();
      const upload = await fixture.call('beginFileUpload', {
        agent: other.name,
        path: 'a',
        sizeBytes: '1',
      });
      expect(
        await codeOf(
          fixture.call('abortFileUpload', { agent: agent.name, uploadId: upload.uploadId }),
        ),
      ).to.equal(status.NOT_FOUND);
      await fixture.call('abortFileUpload', { agent: other.name, uploadId: upload.uploadId });
    });
  });

  describe('WriteFile', () => {
    it('writes atomically for the agent user and returns the content hash', async () => {
      const answer = await fixture.call('writeFile', {
        agent: agent.name,
        path: 'a.txt',
        content: Buffer.from('one'),
      });
      expect(answer.sha256).to.equal(sha256('one'));
      expect(answer.file).to.include({
        path: 'a.txt',
        name: 'a.txt',
        type: FileType.FILE_TYPE_FILE,
        sizeBytes: '3',
      });
      const stats = await fs.stat(path.join(agent.dir, 'a.txt'));
      expect([stats.uid, stats.gid]).to.deep.equal([1000, 1000]);
      expect(await fs.readdir(agent.dir)).to.deep.equal(['a.txt']);
    });

    it('refuses a stale expected version with FAILED_PRECONDITION and keeps the newer content', async () => {
      await fixture.call('writeFile', {
        agent: agent.name,
        path: 'doc.md',
        content: Buffer.from('v1'),
      });
      await fs.writeFile(path.join(agent.dir, 'doc.md'), 'v2 by the agent');
      const stale = (await fixture
        .call('writeFile', {
          agent: agent.name,
          path: 'doc.md',
          content: Buffer.from('v3'),
          expectedSha256: sha256('v1'),
        })
        .catch((e) => e)) as ServiceError;
      expect(stale.code).to.equal(status.FAILED_PRECONDITION);
      expect(stale.details).to.contain('changed since you read it');
      expect(await fs.readFile(path.join(agent.dir, 'doc.md'), 'utf8')).to.equal('v2 by the agent');
      await fixture.call('writeFile', {
        agent: agent.name,
        path: 'doc.md',
        content: Buffer.from('v3'),
        expectedSha256: sha256('v2 by the agent'),
      });
      expect(await fs.readFile(path.join(agent.dir, 'doc.md'), 'utf8')).to.equal('v3');
    });

    it('lets only one of two writers holding the same version win', async () => {
      await fixture.call('writeFile', {
        agent: agent.name,
        path: 'race.txt',
        content: Buffer.from('base'),
      });
      const write = (text: string) =>
        codeOf(
          fixture.call('writeFile', {
            agent: agent.name,
            path: 'race.txt',
            content: Buffer.from(text),
            expectedSha256: sha256('base'),
          }),
        );
      const codes = await Promise.all([write('first'), write('second')]);
      expect([...codes].sort()).to.deep.equal([status.FAILED_PRECONDITION, 'OK'].sort());
    });

    it('honours create_only, create_parents, the 2 MiB limit and refuses directories', async () => {
      await fixture.call('writeFile', { agent: agent.name, path: 'x', content: Buffer.from('x') });
      expect(
        await codeOf(
          fixture.call('writeFile', {
            agent: agent.name,
            path: 'x',
            content: Buffer.from('y'),
            createOnly: true,
          }),
        ),
      ).to.equal(status.ALREADY_EXISTS);
      expect(
        await codeOf(
          fixture.call('writeFile', {
            agent: agent.name,
            path: 'd/e/f',
            content: Buffer.from('f'),
          }),
        ),
      ).to.equal(status.NOT_FOUND);
      await fixture.call('writeFile', {
        agent: agent.name,
        path: 'd/e/f',
        content: Buffer.from('f'),
        createParents: true,
      });
      const parent = await fs.stat(path.join(agent.dir, 'd/e'));
      expect([parent.uid, parent.isDirectory()]).to.deep.equal([1000, true]);
      expect(
        await codeOf(
          fixture.call('writeFile', {
            agent: agent.name,
            path: 'big',
            content: Buffer.alloc(2 * 1024 * 1024 + 1),
          }),
        ),
      ).to.equal(status.RESOURCE_EXHAUSTED);
      expect(
        await codeOf(
          fixture.call('writeFile', { agent: agent.name, path: 'd', content: Buffer.from('x') }),
        ),
      ).to.equal(status.FAILED_PRECONDITION);
      expect(
        await codeOf(
          fixture.call('writeFile', { agent: agent.name, path: '', content: Buffer.from('x') }),
        ),
      ).to.equal(status.INVALID_ARGUMENT);
    });

    it('keeps the permission bits of the file it replaces', async () => {
      await fs.writeFile(path.join(agent.dir, 'run.sh'), 'echo 1', { mode: 0o755 });
      await fixture.call('writeFile', {
        agent: agent.name,
        path: 'run.sh',
        content: Buffer.from('echo 2'),
      });
      expect((await fs.stat(path.join(agent.dir, 'run.sh'))).mode & 0o777).to.equal(0o755);
    });
  });

  describe('ReadFile', () => {
    it('describes text, honours offset and limit, and answers an empty file with one chunk', async () => {
      await fs.writeFile(path.join(agent.dir, 'main.ts'), 'export const π = 3.14;\n');
      const [first] = await fixture.read({ agent: agent.name, path: 'main.ts' });
      expect(first).to.include({
        isBinary: false,
        encoding: 'utf-8',
        mediaType: 'text/x-typescript',
        last: true,
      });
      const part = await fixture.read({
        agent: agent.name,
        path: 'main.ts',
        offset: '7',
        limit: '5',
      });
      expect(Buffer.concat(part.map((c) => c.data)).toString()).to.equal('const');
      await fs.writeFile(path.join(agent.dir, 'empty'), '');
      const empty = await fixture.read({ agent: agent.name, path: 'empty' });
      expect(empty).to.have.length(1);
      expect(empty[0]).to.include({ last: true, totalSizeBytes: '0' });
      const beyond = await fixture.read({ agent: agent.name, path: 'main.ts', offset: '1000' });
      expect(beyond.map((c) => c.data.length)).to.deep.equal([0]);
    });

    it('refuses directories and missing files', async () => {
      await fs.mkdir(path.join(agent.dir, 'dir'));
      expect(await codeOf(fixture.read({ agent: agent.name, path: 'dir' }))).to.equal(
        status.FAILED_PRECONDITION,
      );
      expect(await codeOf(fixture.read({ agent: agent.name, path: 'missing' }))).to.equal(
        status.NOT_FOUND,
      );
    });
  });

  describe('ListFiles and StatFile', () => {
    it('lists depth-first, directories first, by name, without .git or hidden entries unless asked', async () => {
      for (const dir of ['src/lib', '.git/objects', '.config'])
        await fs.mkdir(path.join(agent.dir, dir), { recursive: true });
      for (const file of ['b.txt', 'A.txt', 'src/index.ts', 'src/lib/util.ts', '.env']) {
        await fs.writeFile(path.join(agent.dir, file), file);
      }
      const shallow = await fixture.call('listFiles', { agent: agent.name, path: '' });
      expect(shallow.files.map((f: managerV1.FileInfo) => f.path)).to.deep.equal([
        'src',
        'A.txt',
        'b.txt',
      ]);
      const deep = await fixture.call('listFiles', {
        agent: agent.name,
        path: '',
        depth: 3,
        includeHidden: true,
      });
      expect(deep.files.map((f: managerV1.FileInfo) => f.path)).to.deep.equal([
        '.config',
        'src',
        'src/lib',
        'src/lib/util.ts',
        'src/index.ts',
        '.env',
        'A.txt',
        'b.txt',
      ]);
      const file = deep.files.find((f: managerV1.FileInfo) => f.path === 'src/index.ts');
      expect(file).to.include({
        name: 'index.ts',
        type: FileType.FILE_TYPE_FILE,
        sizeBytes: '12',
        mode: 0o644,
      });
    });

    it('pages through a listing with page tokens', async () => {
      for (let i = 0; i < 5; i++) await fs.writeFile(path.join(agent.dir, `f${i}`), '');
      const seen: string[] = [];
      let pageToken = '';
      do {
        const page = await fixture.call('listFiles', {
          agent: agent.name,
          path: '',
          pageSize: 2,
          pageToken,
        });
        seen.push(...page.files.map((f: managerV1.FileInfo) => f.path));
        pageToken = page.nextPageToken;
      } while (pageToken);
      expect(seen).to.deep.equal(['f0', 'f1', 'f2', 'f3', 'f4']);
      expect(
        await codeOf(
          fixture.call('listFiles', { agent: agent.name, path: '', pageToken: 'bogus' }),
        ),
      ).to.equal(status.INVALID_ARGUMENT);
      expect(
        await codeOf(fixture.call('listFiles', { agent: agent.name, path: '', depth: 33 })),
      ).to.equal(status.INVALID_ARGUMENT);
    });

    it('describes the root and refuses listing a file', async () => {
      await fs.writeFile(path.join(agent.dir, 'f'), 'x');
      const { file } = await fixture.call('statFile', { agent: agent.name, path: '' });
      expect(file).to.include({
        path: '',
        name: '',
        type: FileType.FILE_TYPE_DIRECTORY,
        sizeBytes: '0',
      });
      expect(await codeOf(fixture.call('listFiles', { agent: agent.name, path: 'f' }))).to.equal(
        status.FAILED_PRECONDITION,
      );
      expect(await codeOf(fixture.call('statFile', { agent: agent.name, path: 'nope' }))).to.equal(
        status.NOT_FOUND,
      );
    });
  });

  describe('CreateDirectory, DeleteFile and MoveFile', () => {
    it('creates directories, refusing taken names and missing parents unless asked', async () => {
      const { directory } = await fixture.call('createDirectory', { agent: agent.name, path: 'a' });
      expect(directory).to.include({ path: 'a', type: FileType.FILE_TYPE_DIRECTORY });
      expect(
        await codeOf(fixture.call('createDirectory', { agent: agent.name, path: 'a' })),
      ).to.equal(status.ALREADY_EXISTS);
      expect(
        await codeOf(fixture.call('createDirectory', { agent: agent.name, path: 'x/y' })),
      ).to.equal(status.NOT_FOUND);
      await fixture.call('createDirectory', {
        agent: agent.name,
        path: 'x/y',
        createParents: true,
      });
      expect((await fs.stat(path.join(agent.dir, 'x/y'))).uid).to.equal(1000);
    });

    it('deletes files, empty directories, and non-empty ones only when recursive', async () => {
      await fs.mkdir(path.join(agent.dir, 'full/deeper'), { recursive: true });
      await fs.writeFile(path.join(agent.dir, 'full/deeper/f'), 'f');
      await fs.mkdir(path.join(agent.dir, 'empty'));
      await fs.writeFile(path.join(agent.dir, 'file'), 'f');
      expect(
        await codeOf(fixture.call('deleteFile', { agent: agent.name, path: 'full' })),
      ).to.equal(status.FAILED_PRECONDITION);
      await fixture.call('deleteFile', { agent: agent.name, path: 'full', recursive: true });
      await fixture.call('deleteFile', { agent: agent.name, path: 'empty' });
      await fixture.call('deleteFile', { agent: agent.name, path: 'file' });
      expect(await fs.readdir(agent.dir)).to.deep.equal([]);
      expect(
        await codeOf(fixture.call('deleteFile', { agent: agent.name, path: 'file' })),
      ).to.equal(status.NOT_FOUND);
      expect(await codeOf(fixture.call('deleteFile', { agent: agent.name, path: '' }))).to.equal(
        status.INVALID_ARGUMENT,
      );
    });

    it('moves and renames, replacing an existing destination only with overwrite', async () => {
      await fs.writeFile(path.join(agent.dir, 'a'), 'a');
      await fs.writeFile(path.join(agent.dir, 'b'), 'b');
      await fs.mkdir(path.join(agent.dir, 'dir/sub'), { recursive: true });
      await fs.writeFile(path.join(agent.dir, 'dir/sub/f'), 'f');
      const move = (sourcePath: string, destinationPath: string, overwrite = false) =>
        fixture.call('moveFile', { agent: agent.name, sourcePath, destinationPath, overwrite });

      expect(await codeOf(move('a', 'b'))).to.equal(status.ALREADY_EXISTS);
      const moved = await move('a', 'b', true);
      expect(moved.file).to.include({ path: 'b', sizeBytes: '1' });
      expect(await fs.readFile(path.join(agent.dir, 'b'), 'utf8')).to.equal('a');
      expect(await codeOf(move('a', 'c'))).to.equal(status.NOT_FOUND);
      expect(await codeOf(move('dir', 'dir/sub/inside'))).to.equal(status.INVALID_ARGUMENT);
      expect(await codeOf(move('b', 'dir', true))).to.equal(status.FAILED_PRECONDITION);
      expect(await codeOf(move('b', 'nowhere/b'))).to.equal(status.NOT_FOUND);
      await move('dir', 'renamed');
      expect(await fs.readFile(path.join(agent.dir, 'renamed/sub/f'), 'utf8')).to.equal('f');
      await fs.mkdir(path.join(agent.dir, 'target/full'), { recursive: true });
      expect(await codeOf(move('renamed', 'target', true))).to.equal(status.FAILED_PRECONDITION);
    });
  });
});
