// The real runner as a child process (node main.js), spoken to over stdin and stdout.
const fs = require('node:fs');
const path = require('node:path');
const { expect } = require('chai');
const { RunnerProcess, shapeOf, temporaryDirectory } = require('./runner-harness');

describe('agent runner (node main.js)', function () {
  let workspace;
  let runner;

  function startRunner(env = {}) {
    runner = new RunnerProcess({
      env: { AGENSTRA_AGENT_TYPE: 'echo', AGENSTRA_WORKSPACE: workspace, ...env },
    });
    return runner;
  }

  beforeEach(function () {
    workspace = temporaryDirectory('agenstra-runner-ws-');
  });

  afterEach(async function () {
    if (runner) await runner.stop();
    runner = null;
    fs.rmSync(workspace, { recursive: true, force: true });
  });

  describe('protocol', function () {
    it('answers hello with ready, naming the protocol, agent type and version', async function () {
      startRunner().send({ type: 'hello', protocol: 1 });
      const [ready] = await runner.waitFor((lines) => lines.length >= 1, 'ready');
      expect(ready).to.deep.equal({
        type: 'ready',
        protocol: 1,
        agentType: 'echo',
        version: '0.1.0',
      });
    });

    it('reports a bad line as an error without id and keeps serving', async function () {
      startRunner();
      runner.send('{oops');
      runner.send({ type: 'message', id: 'after-bad', text: 'still here' });
      const lines = await runner.turn('after-bad');
      expect(runner.lines[0]).to.include({ type: 'error', code: 'bad_input' });
      expect(runner.lines[0]).not.to.have.property('id');
      expect(shapeOf(lines)).to.deep.equal([
        { type: 'message', text: 'echo: still here' },
        { type: 'done' },
      ]);
    });

    it('numbers the lines of each turn 1, 2, 3 … on their own', async function () {
      startRunner();
      runner.send({ type: 'message', id: 't1', text: '/parts 2 ab' });
      runner.send({ type: 'message', id: 't2', text: 'x' });
      expect((await runner.turn('t1')).map((line) => line.seq)).to.deep.equal([1, 2, 3, 4]);
      expect((await runner.turn('t2')).map((line) => line.seq)).to.deep.equal([1, 2]);
    });
  });

  describe('echo agent', function () {
    it('replies "echo: <text>" in one message', async function () {
      startRunner().send({ type: 'message', id: 'm1', text: 'hello there', author: 'ana' });
      expect(shapeOf(await runner.turn('m1'))).to.deep.equal([
        { type: 'message', text: 'echo: hello there' },
        { type: 'done' },
      ]);
    });

    it('/parts N streams the text as N deltas, then the whole text as the message', async function () {
      startRunner().send({ type: 'message', id: 'p', text: '/parts 3 streaming reply' });
      const lines = await runner.turn('p');
      const deltas = lines.filter((line) => line.type === 'delta').map((line) => line.text);
      expect(deltas).to.have.length(3);
      expect(deltas.join('')).to.equal('streaming reply');
      expect(shapeOf(lines.slice(3))).to.deep.equal([
        { type: 'message', text: 'streaming reply' },
        { type: 'done' },
      ]);
    });

    it('/sleep MS replies "slept MS ms"', async function () {
      startRunner().send({ type: 'message', id: 's', text: '/sleep 20' });
      expect(shapeOf(await runner.turn('s'))[0]).to.deep.equal({
        type: 'message',
        text: 'slept 20 ms',
      });
    });

    it('/write PATH writes the content inside the workspace, creating directories', async function () {
      startRunner().send({
        type: 'message',
        id: 'w',
        text: '/write notes/today.md line one\nline two',
      });
      expect(shapeOf(await runner.turn('w'))[0]).to.deep.equal({
        type: 'message',
        text: 'wrote notes/today.md (17 bytes)',
      });
      expect(fs.readFileSync(path.join(workspace, 'notes/today.md'), 'utf8')).to.equal(
        'line one\nline two',
      );
    });

    describe('refuses /write paths that leave the workspace', function () {
      let outside;
      beforeEach(function () {
        outside = temporaryDirectory('agenstra-runner-outside-');
        fs.symlinkSync(outside, path.join(workspace, 'escape-dir'));
        fs.symlinkSync(path.join(outside, 'target.txt'), path.join(workspace, 'escape-file'));
      });
      afterEach(function () {
        fs.rmSync(outside, { recursive: true, force: true });
      });

      for (const [hostilePath, reason] of [
        ['../evil.txt', /contains ".."/],
        ['a/../../evil.txt', /contains ".."/],
        ['/etc/evil.txt', /is absolute/],
        ['escape-dir/evil.txt', /through a symlink/],
        ['escape-dir/deeper/evil.txt', /through a symlink/],
        ['escape-file', /is a symlink/],
      ]) {
        it(`refuses ${hostilePath} and writes nothing outside`, async function () {
          startRunner().send({ type: 'message', id: 'bad', text: `/write ${hostilePath} pwned` });
          const [error, done] = await runner.turn('bad');
          expect(error).to.include({ type: 'error', code: 'bad_input' });
          expect(error.message).to.match(reason);
          expect(done.type).to.equal('done');
          expect(fs.readdirSync(outside)).to.deep.equal([]);
        });
      }
    });

    it('/fail ends the turn with a cli_failed error carrying the message', async function () {
      startRunner().send({ type: 'message', id: 'f', text: '/fail the build is broken' });
      expect(shapeOf(await runner.turn('f'))).to.deep.equal([
        { type: 'error', code: 'cli_failed', message: 'the build is broken' },
        { type: 'done' },
      ]);
    });

    it('/tool NAME emits a tool call, its result and a message', async function () {
      startRunner().send({ type: 'message', id: 't', text: '/tool run_tests' });
      expect(shapeOf(await runner.turn('t'))).to.deep.equal([
        { type: 'tool_call', callId: 'call-1', tool: 'run_tests', input: { name: 'run_tests' } },
        { type: 'tool_result', callId: 'call-1', output: 'run_tests ran', isError: false },
        { type: 'message', text: 'used tool run_tests' },
        { type: 'done' },
      ]);
    });

    it('refuses an unknown command or a malformed argument with bad_input', async function () {
      startRunner();
      runner.send({ type: 'message', id: 'u', text: '/dance now' });
      runner.send({ type: 'message', id: 'n', text: '/parts many words' });
      runner.send({ type: 'message', id: 'l', text: '/sleep 600001' });
      for (const [id, reason] of [
        ['u', /unknown echo command \/dance/],
        ['n', /whole number/],
        ['l', /at most 600000/],
      ]) {
        const [error] = await runner.turn(id);
        expect(error).to.include({ type: 'error', code: 'bad_input' });
        expect(error.message).to.match(reason);
      }
    });
  });

  describe('turns', function () {
    it('runs turns one at a time in arrival order', async function () {
      startRunner();
      runner.send({ type: 'message', id: 'slow', text: '/sleep 300' });
      runner.send({ type: 'message', id: 'fast', text: 'quick' });
      await runner.turn('fast');
      const order = runner.lines.map((line) => `${line.id}:${line.type}`);
      expect(order).to.deep.equal(['slow:message', 'slow:done', 'fast:message', 'fast:done']);
    });

    it('ignores a message whose id it already accepted', async function () {
      startRunner();
      runner.send({ type: 'message', id: 'same', text: 'first' });
      runner.send({ type: 'message', id: 'same', text: 'second' });
      runner.send({ type: 'message', id: 'marker', text: 'after' });
      await runner.turn('marker');
      expect(shapeOf(runner.linesOf('same'))).to.deep.equal([
        { type: 'message', text: 'echo: first' },
        { type: 'done' },
      ]);
    });

    it('re-sends every un-acked turn on hello, and forgets a turn once acked', async function () {
      startRunner();
      runner.send({ type: 'message', id: 'a', text: 'one' });
      runner.send({ type: 'message', id: 'b', text: 'two' });
      const firstA = await runner.turn('a');
      const firstB = await runner.turn('b');
      runner.send({ type: 'ack', id: 'a' });
      runner.send({ type: 'hello', protocol: 1 });
      await runner.waitFor((lines) => lines.length === 4 + 1 + 2, 'ready and the re-sent turn b');
      const [ready, ...resent] = runner.lines.slice(4);
      expect(ready.type).to.equal('ready');
      expect(resent).to.deep.equal(firstB);
      expect(firstA).to.have.length(2);
    });

    it('answers a hello that arrives mid-turn without disturbing the turn or its numbering', async function () {
      startRunner();
      runner.send({ type: 'message', id: 'long', text: '/sleep 400' });
      runner.send({ type: 'message', id: 'queued', text: 'later' });
      runner.send({ type: 'hello', protocol: 1 });
      await runner.turn('queued');
      expect(
        runner.lines.map((line) => `${line.type}:${line.id ?? ''}:${line.seq ?? ''}`),
      ).to.deep.equal([
        'ready::',
        'message:long:1',
        'done:long:2',
        'message:queued:1',
        'done:queued:2',
      ]);
    });

    it('cancels the running turn: error cancelled then done, and the next turn runs', async function () {
      startRunner();
      runner.send({ type: 'message', id: 'sleepy', text: '/sleep 600000' });
      runner.send({ type: 'message', id: 'next', text: 'go on' });
      runner.send({ type: 'cancel', id: 'sleepy' });
      expect(shapeOf(await runner.turn('sleepy'))).to.deep.equal([
        { type: 'error', code: 'cancelled', message: 'turn sleepy was cancelled' },
        { type: 'done' },
      ]);
      expect(shapeOf(await runner.turn('next'))[0]).to.deep.equal({
        type: 'message',
        text: 'echo: go on',
      });
    });

    it('cancels a waiting turn before it starts', async function () {
      startRunner();
      runner.send({ type: 'message', id: 'blocker', text: '/sleep 300' });
      runner.send({ type: 'message', id: 'waiting', text: 'never' });
      runner.send({ type: 'cancel', id: 'waiting' });
      const lines = await runner.turn('waiting');
      expect(lines[0]).to.include({ type: 'error', code: 'cancelled' });
      expect(lines.map((line) => line.type)).to.deep.equal(['error', 'done']);
      await runner.turn('blocker');
    });

    it('ends a turn that runs past AGENSTRA_TURN_TIMEOUT_MS with a timeout error', async function () {
      startRunner({ AGENSTRA_TURN_TIMEOUT_MS: '200' });
      runner.send({ type: 'message', id: 'too-long', text: '/sleep 600000' });
      const [error, done] = await runner.turn('too-long');
      expect(error).to.include({ type: 'error', code: 'timeout' });
      expect(done.type).to.equal('done');
    });

    it('on stdin EOF finishes the turns it received, then exits 0', async function () {
      startRunner();
      runner.send({ type: 'message', id: 'e1', text: '/sleep 100' });
      runner.send({ type: 'message', id: 'e2', text: 'bye' });
      runner.endInput();
      const { code } = await runner.exited;
      expect(code).to.equal(0);
      expect(
        runner.lines.filter((line) => line.type === 'done').map((line) => line.id),
      ).to.deep.equal(['e1', 'e2']);
    });

    it('on SIGTERM cancels the running turn and exits 0', async function () {
      startRunner();
      runner.send({ type: 'message', id: 'busy', text: '/sleep 600000' });
      runner.send({ type: 'message', id: 'dropped', text: 'never runs' });
      await runner.waitFor(() => runner.stderr.includes('agent type echo'), 'runner start-up');
      runner.child.kill('SIGTERM');
      const { code } = await runner.exited;
      expect(code).to.equal(0);
      expect(shapeOf(runner.linesOf('busy'))).to.deep.equal([
        {
          type: 'error',
          code: 'cancelled',
          message: 'turn busy was cancelled: the runner is stopping',
        },
        { type: 'done' },
      ]);
      expect(runner.linesOf('dropped')).to.deep.equal([]);
    });
  });

  describe('agent types', function () {
    it('fails every turn of an unknown agent type with a clear error instead of exiting', async function () {
      startRunner({ AGENSTRA_AGENT_TYPE: 'gpt-pilot' });
      runner.send({ type: 'message', id: 'x', text: 'hi' });
      const [error] = await runner.turn('x');
      expect(error).to.include({ type: 'error', code: 'cli_missing' });
      expect(error.message).to.match(/unknown agent type "gpt-pilot" \(known: echo, claude-code/);
    });
  });
});
