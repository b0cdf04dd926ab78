import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { eventsV1 } from '@agenstra/proto';
import { createLogger } from '@agenstra/shared';
import { expect } from 'chai';
import { EventPublisher } from '../events/publisher.js';
import { startFilesFixture, type FilesFixture } from './files-fixture.js';
import { followAgentLifecycle } from './watch-agents.js';

const { FileActor, FileEventKind } = eventsV1;
const run = promisify(execFile);
/** Longer than the watcher's coalescing window, so anything still coming has arrived. */
const QUIET_MS = 1500;
const TEST_LABEL = 'agenstra.test=files-events';
const silent = createLogger({ service: 'files-test', level: 'silent' });

type FileEvent = eventsV1.FileEvent;
const fileOf = (event: eventsV1.Event): FileEvent =>
  (event.payload as { $case: 'file'; value: FileEvent }).value;

/** Runs a shell command as the agent's user (uid/gid 1000), as the agent in its container would. */
async function asAgent(dir: string, script: string): Promise<void> {
  script = `set -e; ${script}`;
  await run('setpriv', ['--reuid=1000', '--regid=1000', '--clear-groups', 'sh', '-c', script], {
    cwd: dir,
  });
}

describe('file events', () => {
  let fixture: FilesFixture;
  let agent: { agentId: string; name: string; dir: string };

  before(async () => {
    fixture = await startFilesFixture();
  });
  after(async () => {
    await fixture.close();
  });
  beforeEach(async () => {
    agent = await fixture.newAgent();
    await fixture.watchers.watchWorkspace(agent.agentId);
  });
  afterEach(async () => {
    await fixture.watchers.unwatch(agent.agentId);
  });

  const eventsOf = (agentId: string) => (event: eventsV1.Event) => event.agentId === agentId;
  const settle = (agentId: string) =>
    fixture.waitForEvents(eventsOf(agentId), Number.MAX_SAFE_INTEGER, QUIET_MS);

  it('publishes exactly one event, by the user, for a file written through the service', async () => {
    await fixture.call('writeFile', {
      agent: agent.name,
      path: 'src/new.ts',
      content: Buffer.from('x'),
      createParents: true,
    });
    await fixture.call('writeFile', {
      agent: agent.name,
      path: 'src/new.ts',
      content: Buffer.from('xy'),
    });
    const events = (await settle(agent.agentId)).map(fileOf);
    expect(events.map((e) => [e.kind, e.path, e.actor, e.sizeBytes, e.isDirectory])).to.deep.equal([
      [FileEventKind.FILE_EVENT_KIND_CREATED, 'src', FileActor.FILE_ACTOR_USER, '0', true],
      [FileEventKind.FILE_EVENT_KIND_CREATED, 'src/new.ts', FileActor.FILE_ACTOR_USER, '1', false],
      [FileEventKind.FILE_EVENT_KIND_CHANGED, 'src/new.ts', FileActor.FILE_ACTOR_USER, '2', false],
    ]);
  });

  it('publishes moves, deletes and new directories made through the service once each', async () => {
    await fixture.call('createDirectory', { agent: agent.name, path: 'd' });
    await fixture.call('writeFile', { agent: agent.name, path: 'd/f', content: Buffer.from('f') });
    await fixture.call('moveFile', { agent: agent.name, sourcePath: 'd', destinationPath: 'e' });
    await fixture.call('deleteFile', { agent: agent.name, path: 'e', recursive: true });
    const events = (await settle(agent.agentId)).map(fileOf);
    expect(events.map((e) => [e.kind, e.path, e.oldPath, e.actor])).to.deep.equal([
      [FileEventKind.FILE_EVENT_KIND_CREATED, 'd', '', FileActor.FILE_ACTOR_USER],
      [FileEventKind.FILE_EVENT_KIND_CREATED, 'd/f', '', FileActor.FILE_ACTOR_USER],
      [FileEventKind.FILE_EVENT_KIND_MOVED, 'e', 'd', FileActor.FILE_ACTOR_USER],
      [FileEventKind.FILE_EVENT_KIND_DELETED, 'e', '', FileActor.FILE_ACTOR_USER],
    ]);
  });

  it('publishes a file written by another process in the workspace as the agent’s', async () => {
    await asAgent(agent.dir, 'printf hello > notes.txt');
    const [created] = await fixture.waitForEvents(eventsOf(agent.agentId), 1);
    expect(fileOf(created)).to.deep.include({
      agentId: agent.agentId,
      kind: FileEventKind.FILE_EVENT_KIND_CREATED,
      path: 'notes.txt',
      actor: FileActor.FILE_ACTOR_AGENT,
      sizeBytes: '5',
    });
    await asAgent(
      agent.dir,
      'printf more >> notes.txt; rm notes.txt; mkdir -p pkg/lib; echo x > pkg/lib/a.js',
    );
    const events = (await settle(agent.agentId)).map(fileOf).slice(1);
    // One coalesced batch: the appended-then-removed file is just deleted, and the new tree is
    // one event for its top directory.
    expect(events.map((e) => [e.kind, e.path, e.isDirectory])).to.have.deep.members([
      [FileEventKind.FILE_EVENT_KIND_CREATED, 'pkg', true],
      [FileEventKind.FILE_EVENT_KIND_DELETED, 'notes.txt', false],
    ]);
  });

  it('coalesces a burst of writes to one file into one event and ignores temporary files', async () => {
    await asAgent(agent.dir, ': > log.txt');
    await settle(agent.agentId);
    const before = fixture.events.filter(eventsOf(agent.agentId)).length;
    await asAgent(
      agent.dir,
      'for i in 1 2 3 4 5 6 7 8 9 10; do echo $i >> log.txt; done; echo t > tmp.swp; rm tmp.swp',
    );
    const events = (await settle(agent.agentId)).slice(before).map(fileOf);
    expect(events.map((e) => [e.kind, e.path])).to.deep.equal([
      [FileEventKind.FILE_EVENT_KIND_CHANGED, 'log.txt'],
    ]);
  });

  it('reports files in directories the agent creates later, but nothing inside .git', async () => {
    await asAgent(agent.dir, 'mkdir later');
    await fixture.waitForEvents(eventsOf(agent.agentId), 1);
    await asAgent(agent.dir, 'echo a > later/a.txt');
    const events = await fixture.waitForEvents(
      (e) => e.agentId === agent.agentId && fileOf(e).path === 'later/a.txt',
      1,
    );
    expect(events.map(fileOf).map((e) => e.kind)).to.deep.equal([
      FileEventKind.FILE_EVENT_KIND_CREATED,
    ]);

    const git = spawnSync('git', ['--version']);
    if (git.status !== 0) return;
    const before = fixture.events.filter(eventsOf(agent.agentId)).length;
    await asAgent(
      agent.dir,
      'git init -q . && git add -A && git -c user.name=a -c user.email=a@b commit -qm one',
    );
    const after = (await settle(agent.agentId)).slice(before).map(fileOf);
    expect(after.map((e) => e.path)).to.deep.equal([]);
  });

  it('stops publishing once unwatched', async () => {
    await fixture.watchers.unwatch(agent.agentId);
    await asAgent(agent.dir, 'echo x > quiet.txt');
    expect(await settle(agent.agentId)).to.deep.equal([]);
  });

  it('starts watching on an agent status event and stops on DELETING', async () => {
    const waitUntil = async (condition: () => boolean) => {
      for (let attempt = 0; attempt < 200 && !condition(); attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      expect(condition()).to.equal(true);
    };
    const other = await fixture.newAgent();
    const lifecycle = followAgentLifecycle(
      fixture.nats,
      fixture.managerId,
      fixture.watchers,
      silent,
    );
    const publisher = new EventPublisher(fixture.nats, fixture.managerId);
    const announce = async (state: eventsV1.AgentState) => {
      await publisher.publish(
        publisher.envelope(other.agentId, {
          $case: 'status',
          value: { agentId: other.agentId, state, previousState: 0, reason: '' },
        }),
      );
      await fixture.nats.flush();
    };
    try {
      await announce(eventsV1.AgentState.AGENT_STATE_RUNNING);
      await waitUntil(() => fixture.watchers.isWatching(other.agentId));
      await asAgent(other.dir, 'echo hi > seen.txt');
      const seen = await fixture.waitForEvents((e) => e.agentId === other.agentId, 1);
      expect(seen.map(fileOf).map((e) => e.path)).to.deep.equal(['seen.txt']);
      await announce(eventsV1.AgentState.AGENT_STATE_DELETING);
      await waitUntil(() => !fixture.watchers.isWatching(other.agentId));
      await asAgent(other.dir, 'echo hi > unseen.txt');
      expect((await settle(other.agentId)).map(fileOf).map((e) => e.path)).to.deep.equal([
        'seen.txt',
      ]);
      expect(fixture.watchers.isWatching(other.agentId)).to.equal(false);
    } finally {
      lifecycle.unsubscribe();
      await fixture.watchers.unwatch(other.agentId);
    }
  });

  describe('from the agent container', () => {
    let image = false;
    const containers: string[] = [];
    before(async function () {
      const inspect = spawnSync('docker', ['image', 'inspect', 'agenstra/agent:latest'], {
        stdio: 'ignore',
      });
      image = inspect.status === 0;
      if (!image) this.skip();
    });
    after(async () => {
      if (containers.length)
        await run('docker', ['rm', '-f', ...containers]).catch(() => undefined);
      const { stdout } = await run('docker', [
        'ps',
        '-aq',
        '--filter',
        `label=${TEST_LABEL}`,
      ]).catch(() => ({ stdout: '' }));
      const leftovers = stdout.split('\n').filter(Boolean);
      if (leftovers.length) await run('docker', ['rm', '-f', ...leftovers]);
    });

    it('publishes a file the agent writes inside its container', async function () {
      this.timeout(60_000);
      const { stdout } = await run('docker', [
        'run',
        '-d',
        '-i',
        '--label',
        TEST_LABEL,
        '--user',
        '1000:1000',
        '--cap-drop',
        'ALL',
        '--security-opt',
        'no-new-privileges',
        '-v',
        `${agent.dir}:/workspace`,
        'agenstra/agent:latest',
      ]);
      const container = stdout.trim();
      containers.push(container);
      await run('docker', [
        'exec',
        '-u',
        '1000:1000',
        container,
        'sh',
        '-c',
        'echo from-agent > /workspace/written-in-container.txt',
      ]);
      const [event] = await fixture.waitForEvents(
        (e) => e.agentId === agent.agentId && fileOf(e).path === 'written-in-container.txt',
        1,
        10_000,
      );
      expect(event, 'a files event for the container’s write').to.not.equal(undefined);
      expect(fileOf(event)).to.deep.include({
        kind: FileEventKind.FILE_EVENT_KIND_CREATED,
        actor: FileActor.FILE_ACTOR_AGENT,
        sizeBytes: '11',
      });
      expect(event.managerId).to.equal(fixture.managerId);
    });
  });
});
