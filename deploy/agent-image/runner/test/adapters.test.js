// The CLI adapters: parsers against sample outputs in each CLI's documented format, the
// invocations they build, and the plumbing (missing binary, missing key, failures, cancel)
// through the real runner with a stand-in executable on PATH.
const fs = require('node:fs');
const path = require('node:path');
const { expect } = require('chai');
const { parseOutput, scrubSecrets } = require('../agents/cli');
const { RunnerProcess, shapeOf, temporaryDirectory } = require('./runner-harness');

/** True while pid runs; a killed process not yet reaped by its new parent (a zombie) is not running. */
function isRunning(pid) {
  try {
    return !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

function fixture(name) {
  return fs.readFileSync(path.join(__dirname, 'fixtures', name), 'utf8').split('\n');
}

const adapters = {
  'claude-code': require('../agents/claude-code').adapter,
  codex: require('../agents/codex').adapter,
  opencode: require('../agents/opencode').adapter,
  cursor: require('../agents/cursor').adapter,
};

describe('CLI output parsers', function () {
  it('Claude Code: partial text deltas, thinking, tool call and result, final result as message', function () {
    const skipped = [];
    const { emitted, sessionId, failure } = parseOutput(
      adapters['claude-code'],
      fixture('claude-code.jsonl'),
      (m) => skipped.push(m),
    );
    expect(failure).to.equal(undefined);
    expect(sessionId).to.equal('5f1c2d7e-8a1b-4c1e-9f3a-2b7d9e0c4a11');
    expect(emitted).to.deep.equal([
      { type: 'delta', text: 'Let me look ' },
      { type: 'delta', text: 'at the files.' },
      { type: 'thinking', text: 'The user wants a listing.' },
      { type: 'tool_call', callId: 'toolu_01', tool: 'Bash', input: { command: 'ls' } },
      { type: 'tool_result', callId: 'toolu_01', output: 'README.md\nsrc', isError: false },
      { type: 'delta', text: 'There are two entries: README.md and src.' },
      { type: 'message', text: 'There are two entries: README.md and src.' },
    ]);
    expect(skipped).to.have.length(2);
  });

  it('Claude Code: an error result fails the turn', function () {
    const { failure, sessionId } = parseOutput(
      adapters['claude-code'],
      fixture('claude-code-error.jsonl'),
    );
    expect(failure).to.match(/Claude Code failed \(error_max_turns\)/);
    expect(sessionId).to.equal('9a0b1c2d-0000-4000-8000-000000000001');
  });

  it('Codex: reasoning, commands, file changes and plan, last agent message as message', function () {
    const skipped = [];
    const { emitted, sessionId, failure } = parseOutput(
      adapters.codex,
      fixture('codex.jsonl'),
      (m) => skipped.push(m),
    );
    expect(failure).to.equal(undefined);
    expect(sessionId).to.equal('0199a213-81c0-7800-8aa1-bbab2a035a53');
    expect(emitted).to.deep.equal([
      { type: 'thinking', text: '**Checking the tests**' },
      {
        type: 'tool_call',
        callId: 'item_1',
        tool: 'shell',
        input: { command: "bash -lc 'npm test'" },
      },
      { type: 'tool_result', callId: 'item_1', output: '1 failing\n', isError: true },
      {
        type: 'tool_call',
        callId: 'item_2',
        tool: 'file_change',
        input: { changes: [{ path: 'src/sum.js', kind: 'update' }] },
      },
      { type: 'tool_result', callId: 'item_2', output: 'update src/sum.js', isError: false },
      { type: 'status', text: '[x] fix sum\n[ ] run tests' },
      { type: 'delta', text: 'Fixed the off-by-one in src/sum.js.' },
      { type: 'message', text: 'Fixed the off-by-one in src/sum.js.' },
    ]);
    expect(skipped).to.have.length(1);
  });

  it('Codex: turn.failed fails the turn with its message', function () {
    const { failure } = parseOutput(adapters.codex, fixture('codex-error.jsonl'));
    expect(failure).to.equal(
      'Codex failed: stream disconnected before completion: error sending request',
    );
  });

  it('OpenCode: reasoning, finished tools (ok and error), text parts as message', function () {
    const { emitted, sessionId, failure } = parseOutput(
      adapters.opencode,
      fixture('opencode.jsonl'),
    );
    expect(failure).to.equal(undefined);
    expect(sessionId).to.equal('ses_4b2c9f1a3ffeQ1');
    expect(emitted).to.deep.equal([
      { type: 'thinking', text: 'I should read the file first.' },
      {
        type: 'tool_call',
        callId: 'call_read_1',
        tool: 'read',
        input: { filePath: '/workspace/README.md' },
      },
      { type: 'tool_result', callId: 'call_read_1', output: '# Demo\n', isError: false },
      { type: 'tool_call', callId: 'call_bash_1', tool: 'bash', input: { command: 'false' } },
      { type: 'tool_result', callId: 'call_bash_1', output: 'exit code 1', isError: true },
      { type: 'delta', text: 'The README has one heading: Demo.' },
      { type: 'message', text: 'The README has one heading: Demo.' },
    ]);
  });

  it('OpenCode: an error event fails the turn with the provider message', function () {
    expect(parseOutput(adapters.opencode, fixture('opencode-error.jsonl')).failure).to.equal(
      'OpenCode failed: invalid x-api-key',
    );
  });

  it('Cursor: thinking gathered, tool call started/completed, streamed text, result as message', function () {
    const { emitted, sessionId } = parseOutput(adapters.cursor, fixture('cursor.jsonl'));
    expect(sessionId).to.equal('c6b62c6f-7ead-4fd6-9922-e952131177ff');
    expect(emitted).to.deep.equal([
      { type: 'thinking', text: 'Read index.js then answer.' },
      { type: 'tool_call', callId: 'toolu_vrtx_01', tool: 'read', input: { path: 'index.js' } },
      {
        type: 'tool_result',
        callId: 'toolu_vrtx_01',
        output: '{"content":"module.exports = { sum };","isEmpty":false,"totalLines":1}',
        isError: false,
      },
      { type: 'delta', text: 'It exports ' },
      { type: 'delta', text: '`sum`.' },
      { type: 'message', text: 'It exports `sum`.' },
    ]);
  });
});

describe('CLI invocations', function () {
  it('Claude Code: print mode with stream-json, partial messages, model and resumed session; prompt on stdin', function () {
    const invocation = adapters['claude-code'].buildInvocation({
      text: '-rf /',
      model: 'opus',
      sessionId: 's1',
      env: {},
    });
    expect(invocation.args).to.deep.equal([
      '-p',
      '--output-format',
      'stream-json',
      '--verbose',
      '--include-partial-messages',
      '--permission-mode',
      'bypassPermissions',
      '--model',
      'opus',
      '--resume',
      's1',
    ]);
    expect(invocation.stdinText).to.equal('-rf /');
  });

  it('Codex: exec --json, resume by thread id, prompt on stdin, OPENAI_API_KEY handed over as CODEX_API_KEY', function () {
    const invocation = adapters.codex.buildInvocation({
      text: 'fix it',
      sessionId: 'th-1',
      env: { OPENAI_API_KEY: 'k' },
    });
    expect(invocation.args).to.deep.equal([
      'exec',
      '--json',
      '--skip-git-repo-check',
      '--dangerously-bypass-approvals-and-sandbox',
      'resume',
      'th-1',
      '-',
    ]);
    expect(invocation.env).to.deep.equal({ CODEX_API_KEY: 'k' });
  });

  it('OpenCode and Cursor: the prompt cannot be mistaken for a flag', function () {
    expect(
      adapters.opencode.buildInvocation({ text: '--help', env: {} }).args.slice(-2),
    ).to.deep.equal(['--', '--help']);
    expect(adapters.cursor.buildInvocation({ text: '--help', env: {} }).args.at(-1)).to.equal(
      ' --help',
    );
  });

  it('scrubs secret environment values and key-shaped strings from CLI errors', function () {
    const env = { ANTHROPIC_API_KEY: 'super-secret-value', HOME: '/home/agent' };
    expect(
      scrubSecrets('bad key super-secret-value, also sk-abcdefghijklmnopqrstu in /home/agent', env),
    ).to.equal('bad key [redacted], also [redacted] in /home/agent');
  });
});

describe('CLI adapters in the runner', function () {
  let workspace;
  let binDir;
  let runner;

  beforeEach(function () {
    workspace = temporaryDirectory('agenstra-runner-cli-ws-');
    binDir = temporaryDirectory('agenstra-runner-cli-bin-');
  });
  afterEach(async function () {
    if (runner) await runner.stop();
    runner = null;
    fs.rmSync(workspace, { recursive: true, force: true });
    fs.rmSync(binDir, { recursive: true, force: true });
  });

  /** A stand-in for the CLI: a shell script, so the runner's spawn, pipes and signals are real. */
  function installStandIn(command, script) {
    fs.writeFileSync(path.join(binDir, command), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
  }

  function start(agentType, env) {
    runner = new RunnerProcess({
      env: {
        AGENSTRA_AGENT_TYPE: agentType,
        AGENSTRA_WORKSPACE: workspace,
        AGENSTRA_STATE_DIR: path.join(workspace, '.state'),
        PATH: `${binDir}:/usr/bin:/bin`,
        ANTHROPIC_API_KEY: '',
        OPENAI_API_KEY: '',
        CODEX_API_KEY: '',
        CURSOR_API_KEY: '',
        ...env,
      },
    });
    return runner;
  }

  it('reports cli_missing when the CLI is not installed', async function () {
    start('cursor', { CURSOR_API_KEY: 'cursor-key-123' }).send({
      type: 'message',
      id: 'c',
      text: 'hi',
    });
    const [error] = await runner.turn('c');
    expect(error).to.deep.include({ type: 'error', code: 'cli_missing' });
    expect(error.message).to.equal(
      'Cursor Agent is not installed in this agent image (no cursor-agent on PATH)',
    );
  });

  it('reports missing_api_key, naming the variables, before starting the CLI', async function () {
    installStandIn('claude', 'echo started > "$PWD/started"');
    start('claude-code').send({ type: 'message', id: 'k', text: 'hi' });
    const [error] = await runner.turn('k');
    expect(error).to.deep.include({ type: 'error', code: 'missing_api_key' });
    expect(error.message).to.match(/ANTHROPIC_API_KEY or CLAUDE_CODE_OAUTH_TOKEN/);
    expect(fs.existsSync(path.join(workspace, 'started'))).to.equal(false);
  });

  it('runs the CLI in the workspace with the prompt on stdin, streams its events and resumes its session next turn', async function () {
    const fixturePath = path.join(__dirname, 'fixtures', 'claude-code.jsonl');
    installStandIn(
      'claude',
      `printf '%s\\n' "$*" >> "$PWD/args.log"; cat > "$PWD/prompt.txt"; cat '${fixturePath}'`,
    );
    start('claude-code', { ANTHROPIC_API_KEY: 'sk-ant-test-key-0123456789' });
    runner.send({ type: 'message', id: 'one', text: 'list the files' });
    const lines = await runner.turn('one');
    expect(shapeOf(lines).map((line) => line.type)).to.deep.equal([
      'delta',
      'delta',
      'thinking',
      'tool_call',
      'tool_result',
      'delta',
      'message',
      'done',
    ]);
    expect(fs.readFileSync(path.join(workspace, 'prompt.txt'), 'utf8')).to.equal('list the files');
    runner.send({ type: 'message', id: 'two', text: 'and now?' });
    await runner.turn('two');
    const argLines = fs.readFileSync(path.join(workspace, 'args.log'), 'utf8').trim().split('\n');
    expect(argLines[0]).not.to.include('--resume');
    expect(argLines[1]).to.include('--resume 5f1c2d7e-8a1b-4c1e-9f3a-2b7d9e0c4a11');
  });

  it('reports cli_failed with the last stderr lines, secrets scrubbed, when the CLI exits non-zero', async function () {
    installStandIn(
      'codex',
      'echo "warming up" >&2; echo "401 Unauthorized for key $CODEX_API_KEY" >&2; exit 3',
    );
    start('codex', { OPENAI_API_KEY: 'sk-proj-verysecretvalue1234' });
    runner.send({ type: 'message', id: 'x', text: 'hi' });
    const [error] = await runner.turn('x');
    expect(error).to.deep.include({ type: 'error', code: 'cli_failed' });
    expect(error.message).to.equal(
      'Codex exited with code 3: warming up\n401 Unauthorized for key [redacted]',
    );
    expect(runner.stderr).not.to.include('verysecretvalue');
  });

  it('cancel stops the CLI and the processes it started (SIGTERM, then SIGKILL)', async function () {
    installStandIn(
      'opencode',
      `trap '' TERM; sleep 600 & echo $! > "$PWD/child.pid"; echo "child started" >&2; wait`,
    );
    start('opencode', { OPENROUTER_API_KEY: 'or-key-123456', AGENSTRA_KILL_GRACE_MS: '300' });
    runner.send({ type: 'message', id: 'stuck', text: 'hi' });
    const pidFile = path.join(workspace, 'child.pid');
    await runner.waitFor(() => runner.stderr.includes('child started'), 'the CLI child');
    const childPid = Number(fs.readFileSync(pidFile, 'utf8'));
    runner.send({ type: 'cancel', id: 'stuck' });
    expect(shapeOf(await runner.turn('stuck'))[0]).to.include({ type: 'error', code: 'cancelled' });
    expect(isRunning(childPid)).to.equal(false);
  });
});
