// The runner inside the real agent image, started the way the manager starts agent containers.
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { expect } = require('chai');
const { RunnerProcess, shapeOf } = require('./runner-harness');

const buildScript = path.join(__dirname, '..', '..', 'build.sh');
const hardened = [
  '--cap-drop',
  'ALL',
  '--security-opt',
  'no-new-privileges',
  '--user',
  '1000:1000',
];
const testLabel = 'agenstra.test=agent-runner';

describe('agent runner in the agent image', function () {
  let image;
  let runner;

  before(function () {
    this.timeout(20 * 60 * 1000);
    const build = spawnSync('bash', [buildScript], { encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`build.sh exited ${build.status}:\n${build.stderr}`);
    image = build.stdout.trim();
  });

  afterEach(async function () {
    if (runner) await runner.stop();
    runner = null;
  });

  after(function () {
    const leftovers = spawnSync('docker', ['ps', '-aq', '--filter', `label=${testLabel}`], {
      encoding: 'utf8',
    });
    const ids = leftovers.stdout.trim().split('\n').filter(Boolean);
    if (ids.length > 0) spawnSync('docker', ['rm', '-f', ...ids]);
  });

  function dockerRunner(env) {
    const envArgs = Object.entries(env).flatMap(([name, value]) => ['-e', `${name}=${value}`]);
    runner = new RunnerProcess({
      command: 'docker',
      args: ['run', '-i', '--rm', '--label', testLabel, ...hardened, ...envArgs, image],
    });
    return runner;
  }

  it('speaks the protocol as uid 1000 with no capabilities: ready, streamed parts, a file in /workspace', async function () {
    dockerRunner({ AGENSTRA_AGENT_TYPE: 'echo' });
    runner.send({ type: 'hello', protocol: 1 });
    runner.send({ type: 'message', id: 'p', text: '/parts 2 from the box' });
    runner.send({ type: 'message', id: 'w', text: '/write out/hello.txt hi' });
    runner.send({ type: 'message', id: 'esc', text: '/write ../../etc/evil x' });
    runner.endInput();
    const { code } = await runner.exited;
    expect(code).to.equal(0);
    expect(runner.lines[0]).to.deep.equal({
      type: 'ready',
      protocol: 1,
      agentType: 'echo',
      version: '0.1.0',
    });
    expect(shapeOf(runner.linesOf('p'))).to.deep.equal([
      { type: 'delta', text: 'from t' },
      { type: 'delta', text: 'he box' },
      { type: 'message', text: 'from the box' },
      { type: 'done' },
    ]);
    expect(shapeOf(runner.linesOf('w'))[0]).to.deep.equal({
      type: 'message',
      text: 'wrote out/hello.txt (2 bytes)',
    });
    expect(runner.linesOf('esc')[0]).to.include({ type: 'error', code: 'bad_input' });
  });

  it('fails a CLI agent turn without its API key with missing_api_key', async function () {
    dockerRunner({ AGENSTRA_AGENT_TYPE: 'claude-code' });
    runner.send({ type: 'message', id: 'k', text: 'hi' });
    runner.endInput();
    await runner.exited;
    expect(runner.linesOf('k')[0]).to.include({ type: 'error', code: 'missing_api_key' });
  });

  it("reports cursor-agent as cli_missing: only Cursor's online installer ships it", async function () {
    dockerRunner({ AGENSTRA_AGENT_TYPE: 'cursor', CURSOR_API_KEY: 'not-a-real-key' });
    runner.send({ type: 'message', id: 'c', text: 'hi' });
    runner.endInput();
    await runner.exited;
    expect(runner.linesOf('c')[0]).to.include({ type: 'error', code: 'cli_missing' });
  });

  it("puts every CLI listed as installed on the agent user's PATH, runnable", function () {
    const result = spawnSync(
      'docker',
      [
        'run',
        '--rm',
        '--label',
        testLabel,
        ...hardened,
        image,
        'sh',
        '-c',
        'while read -r cli package command; do printf "%s " "$cli"; "$command" --version >/dev/null 2>&1 && echo ok || echo broken; done < /opt/agenstra/clis/installed.txt',
      ],
      { encoding: 'utf8' },
    );
    expect(result.status).to.equal(0);
    const lines = result.stdout.trim().split('\n').filter(Boolean);
    for (const line of lines) expect(line).to.match(/ ok$/);
  });
});
