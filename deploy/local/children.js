'use strict';
// Runs one service as a child process: prefixes its JSON logs for humans,
// notices when it says "listening", keeps its last lines for error reports.
const { spawn } = require('node:child_process');
const readline = require('node:readline');

const LAST_LINES_KEPT = 30;
const PINO_LEVELS = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const HIDDEN_FIELDS = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name']);

/** One pino JSON line as `12:00:01 INFO  listening address=0.0.0.0:50051`; other lines unchanged. */
function formatLogLine(line) {
  let record;
  try {
    record = JSON.parse(line);
  } catch {
    return { text: line, record: null };
  }
  if (record === null || typeof record !== 'object' || Array.isArray(record))
    return { text: line, record: null };
  // pino writes epoch milliseconds by default; our services may log ISO strings and level labels.
  const when = new Date(record.time ?? NaN);
  const time = Number.isNaN(when.getTime()) ? '' : when.toISOString().slice(11, 19);
  const level = String(PINO_LEVELS[record.level] ?? record.level ?? '')
    .toUpperCase()
    .padEnd(5);
  const fields = Object.entries(record)
    .filter(([key]) => !HIDDEN_FIELDS.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  return {
    text: [time, level, record.msg ?? '', ...fields].filter((part) => part !== '').join(' '),
    record,
  };
}

/**
 * Starts `node <entry>` and returns a handle:
 * { name, process, listening: Promise<address>, isListening(), exited: Promise<{code, signal}>,
 *   lastLines(), stop(graceMs) }. `listening` stays pending if the child never logs msg "listening".
 */
function startService({ name, entry, env, cwd, write }) {
  // Detached so that only we signal it: one SIGTERM, after the terminal's Ctrl-C reached us.
  const child = spawn(process.execPath, [entry], {
    cwd,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines = [];
  const remember = (text) => {
    lines.push(text);
    if (lines.length > LAST_LINES_KEPT) lines.shift();
  };
  let saidListening = false;
  let onListening;
  const listening = new Promise((resolve) => (onListening = resolve));
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (error) => {
      remember(`could not start: ${error.message}`);
      resolve({ code: null, signal: null, error });
    });
  });
  const streamsClosed = [child.stdout, child.stderr].map((stream) => {
    const reader = readline.createInterface({ input: stream, crlfDelay: Infinity });
    reader.on('line', (line) => {
      const { text, record } = formatLogLine(line);
      remember(text);
      write(`[${name}] ${text}\n`);
      if (record && record.msg === 'listening') {
        saidListening = true;
        onListening(record.address ?? '');
      }
    });
    return new Promise((resolve) => reader.once('close', resolve));
  });
  // The exit event can precede the last buffered output; reports need those lines.
  const finished = exited.then(async (result) => {
    await Promise.all(streamsClosed);
    return result;
  });

  const stop = async (graceMs) => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined)
      return finished;
    child.kill('SIGTERM');
    const timer = setTimeout(() => {
      write(`[${name}] did not stop within ${graceMs} ms; killing it\n`);
      child.kill('SIGKILL');
    }, graceMs);
    const result = await finished;
    clearTimeout(timer);
    return result;
  };
  return {
    name,
    process: child,
    listening,
    isListening: () => saidListening,
    exited: finished,
    lastLines: () => [...lines],
    stop,
  };
}

function describeExit({ code, signal, error }) {
  if (error) return `could not be started (${error.message})`;
  return signal ? `was killed by ${signal}` : `exited with code ${code}`;
}

module.exports = { startService, formatLogLine, describeExit };
