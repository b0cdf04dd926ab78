#!/usr/bin/env node
// The agent runner: the main process of every agent container. JSON lines in on stdin, JSON lines
// out on stdout (PROTOCOL.md); diagnostics on stderr. Plain CommonJS for Node 18, no dependencies.
const { version } = require('./package.json');
const {
  createLineSplitter,
  encodeOutputLine,
  parseInputLine,
  PROTOCOL_VERSION,
} = require('./protocol');
const { TurnQueue, DEFAULT_TURN_TIMEOUT_MS } = require('./turns');
const { createAgentOfType } = require('./agents');

function log(message) {
  process.stderr.write(`[agenstra-runner] ${message}\n`);
}

function positiveIntegerFromEnv(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value <= 0) {
    log(`ignoring ${name}: not a positive whole number; using ${fallback}`);
    return fallback;
  }
  return value;
}

const agentType = process.env.AGENSTRA_AGENT_TYPE || 'echo';
const agent = createAgentOfType(agentType, {
  env: process.env,
  workspaceDir: process.env.AGENSTRA_WORKSPACE || '/workspace',
  model: process.env.AGENSTRA_MODEL || undefined,
  log,
});

let stdoutBroken = false;
process.stdout.on('error', (error) => {
  if (!stdoutBroken)
    log(`stdout failed (${error.code || error.message}); outputs stay held until the next hello`);
  stdoutBroken = true;
});

function write(line) {
  if (!stdoutBroken) process.stdout.write(encodeOutputLine(line));
}

const turns = new TurnQueue({
  runTurn: (turn, context) => agent.runTurn(turn, context),
  write,
  log,
  turnTimeoutMs: positiveIntegerFromEnv('AGENSTRA_TURN_TIMEOUT_MS', DEFAULT_TURN_TIMEOUT_MS),
});

function protocolError(message) {
  write({ type: 'error', code: 'bad_input', message });
}

function handleLine(line) {
  const { input, error } = parseInputLine(line);
  if (error) return protocolError(error);
  if (!input) return undefined;
  switch (input.type) {
    case 'hello':
      stdoutBroken = false;
      write({ type: 'ready', protocol: PROTOCOL_VERSION, agentType, version });
      return turns.resend();
    case 'message':
      return turns.accept(input);
    case 'cancel':
      return turns.cancel(input.id);
    case 'ack':
      return turns.ack(input.id);
    default:
      return undefined;
  }
}

let exiting = false;
function exitWhen(promise, reason) {
  if (exiting) return;
  exiting = true;
  log(`${reason}; exiting after the current turn`);
  promise.then(
    () => process.exit(0),
    (error) => {
      log(`error while stopping: ${error && error.stack ? error.stack : error}`);
      process.exit(1);
    },
  );
}

const splitter = createLineSplitter(handleLine, {
  onOversized: (bytes) =>
    protocolError(`input line longer than the limit (${bytes} bytes so far); dropped`),
});
process.stdin.on('data', (chunk) => splitter.push(chunk));
process.stdin.on('end', () => {
  splitter.end();
  // Everything already received still runs: a caller piping a few lines then closing stdin
  // gets every answer.
  exitWhen(turns.whenIdle(), 'stdin closed');
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => exitWhen(turns.stop(), `${signal} received`));
}

log(`agent type ${agentType}, runner ${version}, protocol ${PROTOCOL_VERSION}`);
