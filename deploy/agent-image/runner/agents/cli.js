// Runs an agent CLI for one turn: in the workspace, with the container's environment, its
// streamed JSON stdout parsed line by line into turn lines. Shared by every CLI adapter.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { TurnError, createLineSplitter } = require('../protocol');

const STDERR_TAIL_LINES = 15;
const STDERR_LINE_MAX_CHARS = 500;
const DEFAULT_KILL_GRACE_MS = 5000;
const SECRET_NAME = /KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL|AUTH/i;
// Provider keys that show up in CLI errors even when they are not in our environment.
const SECRET_SHAPES = [/\bsk-[A-Za-z0-9_-]{16,}/g, /\bkey_[A-Za-z0-9]{24,}/g];

/** Replaces the values of secret-looking environment variables (and key-shaped strings). */
function scrubSecrets(text, env) {
  let scrubbed = text;
  for (const [name, value] of Object.entries(env)) {
    if (SECRET_NAME.test(name) && typeof value === 'string' && value.length >= 6) {
      scrubbed = scrubbed.split(value).join('[redacted]');
    }
  }
  for (const shape of SECRET_SHAPES) scrubbed = scrubbed.replace(shape, '[redacted]');
  return scrubbed;
}

/** The absolute path of command on env.PATH, or null. */
function findOnPath(command, env) {
  if (command.includes('/')) return isExecutable(command) ? command : null;
  for (const directory of (env.PATH || '').split(':')) {
    if (!directory) continue;
    const candidate = path.join(directory, command);
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

function isExecutable(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Feeds JSON lines to a parser; a line that is not a JSON object is logged and skipped. */
function handleOutputLine(line, parser, emit, log, displayName) {
  if (line.trim() === '') return;
  let event;
  try {
    event = JSON.parse(line);
  } catch {
    log(`${displayName}: skipping an output line that is not JSON (${line.length} chars)`);
    return;
  }
  if (event === null || typeof event !== 'object' || Array.isArray(event)) {
    log(`${displayName}: skipping an output line that is not a JSON object`);
    return;
  }
  parser.handle(event, emit);
}

/**
 * Spawns the CLI and resolves once it has exited. Rejects with TurnError cli_missing when the
 * binary is not on PATH, cli_failed on a non-zero exit (with the last stderr lines, secrets
 * scrubbed). On abort the whole process group gets SIGTERM, then SIGKILL after a grace period.
 */
function runCli({
  displayName,
  command,
  args,
  env,
  cwd,
  stdinText,
  signal,
  onLine,
  log,
  killGraceMs = DEFAULT_KILL_GRACE_MS,
}) {
  const executable = findOnPath(command, env);
  if (!executable) {
    return Promise.reject(
      new TurnError(
        'cli_missing',
        `${displayName} is not installed in this agent image (no ${command} on PATH)`,
      ),
    );
  }
  return new Promise((resolve, reject) => {
    const stderrTail = [];
    const child = spawn(executable, args, {
      cwd,
      env,
      stdio: [stdinText === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      // Its own process group, so cancelling also stops the shells and tools the CLI started.
      detached: true,
    });
    let killTimer = null;
    const stop = () => {
      signalGroup(child, 'SIGTERM');
      killTimer = setTimeout(() => signalGroup(child, 'SIGKILL'), killGraceMs);
    };
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });

    const stdout = createLineSplitter(onLine, {
      onOversized: (bytes) => log(`${displayName}: skipping an output line over ${bytes} bytes`),
    });
    child.stdout.on('data', (chunk) => stdout.push(chunk));
    const stderr = createLineSplitter((line) => {
      const clean = scrubSecrets(line, env).slice(0, STDERR_LINE_MAX_CHARS);
      log(`${displayName}: ${clean}`);
      stderrTail.push(clean);
      if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
    });
    child.stderr.on('data', (chunk) => stderr.push(chunk));
    if (child.stdin) {
      child.stdin.on('error', (error) =>
        log(`${displayName}: writing the prompt failed: ${error.code || error.message}`),
      );
      child.stdin.end(stdinText);
    }

    child.on('error', (error) => {
      signal.removeEventListener('abort', stop);
      reject(new TurnError('cli_failed', `${displayName} could not start: ${error.message}`));
    });
    child.on('close', (code, exitSignal) => {
      signal.removeEventListener('abort', stop);
      if (killTimer) clearTimeout(killTimer);
      stdout.end();
      stderr.end();
      if (signal.aborted || code === 0) return resolve();
      const how = code === null ? `was killed by ${exitSignal}` : `exited with code ${code}`;
      const detail = stderrTail.length > 0 ? `: ${stderrTail.join('\n')}` : '';
      reject(new TurnError('cli_failed', `${displayName} ${how}${detail}`));
    });
  });
}

function signalGroup(child, signalName) {
  try {
    process.kill(-child.pid, signalName);
  } catch {
    try {
      child.kill(signalName);
    } catch {
      // Already gone.
    }
  }
}

/** Where an adapter keeps the CLI's session id between turns (and across runner restarts). */
function sessionFileOf(env, agentType) {
  const stateDir = env.AGENSTRA_STATE_DIR || path.join(env.HOME || '/tmp', '.agenstra');
  return path.join(stateDir, `${agentType}-session`);
}

function readSession(file) {
  try {
    return fs.readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

function writeSession(file, sessionId, log) {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, `${sessionId}\n`, { mode: 0o600 });
  } catch (error) {
    log(`could not keep the session id in ${file}: ${error.message}`);
  }
}

/**
 * An agent backed by a CLI. The adapter gives:
 * - agentType, displayName, command
 * - apiKeyNames: the turn fails with missing_api_key unless one of them is set
 * - buildInvocation({ text, model, sessionId, env }) → { args, stdinText?, env? }
 * - createParser() → { handle(event, emit), finish(emit), sessionId?, failure? }
 */
function createCliAgent(adapter, { env, workspaceDir, model, log }) {
  const sessionFile = sessionFileOf(env, adapter.agentType);
  let sessionId = readSession(sessionFile);
  return {
    async runTurn(turn, { emit, signal }) {
      const hasKey = adapter.apiKeyNames.some((name) => Boolean(env[name]));
      if (!hasKey) {
        throw new TurnError(
          'missing_api_key',
          `${adapter.displayName} needs an API key: set ${adapter.apiKeyNames.join(' or ')} in the agent's environment`,
        );
      }
      const invocation = adapter.buildInvocation({ text: turn.text, model, sessionId, env });
      const childEnv = { ...env, ...(invocation.env || {}) };
      const parser = adapter.createParser();
      await runCli({
        displayName: adapter.displayName,
        command: adapter.command,
        args: invocation.args,
        env: childEnv,
        cwd: workspaceDir,
        stdinText: invocation.stdinText,
        signal,
        log,
        killGraceMs: Number(env.AGENSTRA_KILL_GRACE_MS) || DEFAULT_KILL_GRACE_MS,
        onLine: (line) => handleOutputLine(line, parser, emit, log, adapter.displayName),
      }).finally(() => {
        if (parser.sessionId && parser.sessionId !== sessionId) {
          sessionId = parser.sessionId;
          writeSession(sessionFile, sessionId, log);
        }
      });
      if (signal.aborted) return;
      if (parser.failure) throw new TurnError('cli_failed', scrubSecrets(parser.failure, childEnv));
      parser.finish(emit);
    },
  };
}

/** For tests and tools: runs a parser over raw output lines, returning the emitted lines. */
function parseOutput(adapter, lines, log = () => {}) {
  const parser = adapter.createParser();
  const emitted = [];
  const emit = (line) => emitted.push(line);
  for (const line of lines) handleOutputLine(line, parser, emit, log, adapter.displayName);
  if (!parser.failure) parser.finish(emit);
  return { emitted, sessionId: parser.sessionId, failure: parser.failure };
}

/** Tool output as a string, whatever shape the CLI gave it. */
function outputText(value) {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((part) => part && typeof part.text === 'string')) {
    return value.map((part) => part.text).join('');
  }
  return JSON.stringify(value);
}

module.exports = { createCliAgent, runCli, parseOutput, scrubSecrets, findOnPath, outputText };
