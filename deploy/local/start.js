#!/usr/bin/env node
'use strict';
// `npm start`: chooses PostgreSQL and NATS (or starts them), checks Docker,
// runs controller, manager and gateway, and stops everything on Ctrl-C.
const fs = require('node:fs');
const path = require('node:path');
const { chooseDatabase, redactUrl } = require('./postgres');
const { chooseNats } = require('./nats');
const { checkDocker } = require('./docker');
const { startService, describeExit } = require('./children');

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const DEFAULT_START_TIMEOUT_MS = 120000;
// Beyond the services' own drain budget, allow for closing NATS and the database.
const STOP_MARGIN_MS = 5000;

function defaultChildren(root = REPO_ROOT) {
  return [
    { name: 'controller', entry: path.join(root, 'services/controller/dist/main.js') },
    { name: 'manager', entry: path.join(root, 'services/manager/dist/main.js') },
    { name: 'gateway', entry: path.join(root, 'gateway/dist/main.js') },
  ];
}

function portsFrom(env) {
  return {
    controller: Number(env.CONTROLLER_GRPC_PORT || 50051),
    manager: Number(env.MANAGER_GRPC_PORT || 50052),
    gateway: Number(env.GATEWAY_PORT || 8080),
  };
}

function report(service, exit) {
  return [
    `${service.name} ${describeExit(exit)}; its last log lines:`,
    ...service.lastLines().map((l) => `  ${l}`),
  ].join('\n');
}

class StartError extends Error {}

/**
 * Starts the whole system and resolves once every service logged "listening".
 * Returns { summary, databaseUrl, natsUrl, stop(), done }:
 * - stop() stops services, then what we started for them; resolves { code, results }.
 * - done resolves { code } when the system stopped, by stop() or because a
 *   service exited unexpectedly (code 1, the others are stopped first).
 * Rejects with a StartError naming the failed service and its last log lines.
 * Options (all optional): children [{ name, entry }], env, cwd, write(text),
 * abortSignal (stops a start-up in progress).
 */
async function startSystem(options = {}) {
  const env = options.env || process.env;
  const children = options.children || defaultChildren();
  const cwd = options.cwd || REPO_ROOT;
  const write = options.write || ((text) => process.stdout.write(text));
  const abortSignal = options.abortSignal;
  const say = (text) => write(`[start] ${text}\n`);
  const stateDir = env.AGENSTRA_STATE_DIR || path.join(REPO_ROOT, '.agenstra');
  const graceMs = Number(env.SHUTDOWN_GRACE_MS || 10000) + STOP_MARGIN_MS;
  const startTimeoutMs = Number(env.AGENSTRA_START_TIMEOUT_MS || DEFAULT_START_TIMEOUT_MS);

  const missing = children.filter((child) => !fs.existsSync(child.entry));
  if (missing.length > 0) {
    const list = missing
      .map((child) => `${child.name} (${path.relative(cwd, child.entry)})`)
      .join(', ');
    throw new StartError(`missing entry point: ${list}. Build first: npm run build`);
  }

  const started = []; // what we must stop, in start order
  const stopInfrastructure = async () => {
    for (const item of started.splice(0).reverse()) await item.stop();
  };
  const throwIfAborted = async () => {
    if (!abortSignal || !abortSignal.aborted) return;
    await stopInfrastructure();
    throw Object.assign(new StartError('start-up interrupted'), { aborted: true });
  };

  let database;
  let nats;
  try {
    database = await chooseDatabase({ env, stateDir, say });
    started.push(database);
    say(`database: ${database.description}`);
    await throwIfAborted();
    nats = await chooseNats({ env, stateDir, say });
    started.push(nats);
    say(`nats: ${nats.description}`);
    await throwIfAborted();
  } catch (error) {
    await stopInfrastructure();
    throw error instanceof StartError ? error : new StartError(error.message);
  }
  const docker = await checkDocker(env);
  if (docker.ok) say(`docker: engine answers at ${docker.label}`);
  else {
    say(
      `WARNING: no Docker Engine answers at ${docker.label} (${docker.reason}). ` +
        'Agenstra starts, but agents cannot run until a Docker Engine is available (set DOCKER_HOST or start dockerd).',
    );
  }

  const webRoot = path.resolve(cwd, env.WEB_ROOT || 'web/dist/browser');
  if (!fs.existsSync(path.join(webRoot, 'index.html'))) {
    say(
      `WARNING: the console is not built (${webRoot}/index.html is missing): npm run build -w web`,
    );
  }

  const ports = portsFrom(env);
  const serviceEnv = {
    ...env,
    DATABASE_URL: database.url,
    NATS_URL: nats.url,
    CONTROLLER_GRPC_PORT: String(ports.controller),
    MANAGER_GRPC_PORT: String(ports.manager),
    GATEWAY_PORT: String(ports.gateway),
    CONTROLLER_ADDRESS: env.CONTROLLER_ADDRESS || `127.0.0.1:${ports.controller}`,
    // Agent workspaces live beside the other local state unless the operator says otherwise.
    WORKSPACES_DIR: env.WORKSPACES_DIR || path.join(stateDir, 'workspaces'),
    // The local manager listens on loopback without TLS; production managers present certificates.
    CONTROLLER_ALLOW_PLAINTEXT_MANAGERS: env.CONTROLLER_ALLOW_PLAINTEXT_MANAGERS || 'true',
  };
  const services = children.map((child) => startService({ ...child, env: serviceEnv, cwd, write }));

  let stopping = null;
  let unexpectedExit = null;
  let onStopped;
  const done = new Promise((resolve) => (onStopped = resolve));
  const stop = () => {
    stopping ??= (async () => {
      const exits = await Promise.all(services.map((service) => service.stop(graceMs)));
      await stopInfrastructure();
      const results = services.map((service, i) => ({ name: service.name, ...exits[i] }));
      const clean = !unexpectedExit && results.every((result) => result.code === 0);
      const outcome = { code: clean ? 0 : 1, results };
      onStopped(outcome);
      return outcome;
    })();
    return stopping;
  };

  // Any exit we did not ask for: during start-up it fails the start, afterwards it stops the system.
  const firstUnexpectedExit = Promise.race(
    services.map((service) => service.exited.then((exit) => ({ service, exit }))),
  ).then((found) => (stopping ? null : found));

  let timer;
  const timeout = new Promise(
    (resolve) => (timer = setTimeout(() => resolve('timeout'), startTimeoutMs)),
  );
  const aborted = new Promise((resolve) =>
    abortSignal?.addEventListener('abort', () => resolve('aborted'), { once: true }),
  );
  const outcome = await Promise.race([
    Promise.all(services.map((service) => service.listening)).then(() => 'listening'),
    firstUnexpectedExit,
    timeout,
    aborted,
  ]);
  clearTimeout(timer);
  if (outcome === 'aborted') {
    await stop();
    throw Object.assign(new StartError('start-up interrupted'), { aborted: true });
  }
  if (outcome === 'timeout') {
    const silent = services.filter((service) => !service.isListening());
    await stop();
    throw new StartError(
      [
        `timed out after ${startTimeoutMs} ms waiting for ${silent.map((s) => s.name).join(', ')} to log "listening"`,
        ...silent.map((service) =>
          report(service, { code: null, signal: null, error: new Error('still running') }),
        ),
      ].join('\n'),
    );
  }
  if (outcome !== 'listening') {
    await stop();
    throw new StartError(report(outcome.service, outcome.exit));
  }

  firstUnexpectedExit.then((found) => {
    if (!found) return;
    unexpectedExit = found;
    say(report(found.service, found.exit));
    say('stopping the other services');
    stop();
  });

  const summary =
    `Agenstra is running: console http://localhost:${ports.gateway}, ` +
    `controller grpc 127.0.0.1:${ports.controller}, manager grpc 127.0.0.1:${ports.manager} ` +
    `(database: ${redactUrl(database.url)}, nats: ${nats.url})`;
  say(summary);
  return { summary, databaseUrl: database.url, natsUrl: nats.url, ports, stop, done };
}

/** The command: runs startSystem, handles Ctrl-C / SIGTERM, exits with the outcome. */
async function main(options = {}) {
  const say = (text) => process.stdout.write(`[start] ${text}\n`);
  const abort = new AbortController();
  let system = null;
  const onSignal = (signal) => {
    if (abort.signal.aborted)
      return say(`still stopping (${signal} again); waiting for the services`);
    say(`${signal} received; stopping`);
    abort.abort();
    if (system) system.stop();
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, onSignal);
  try {
    system = await startSystem({ ...options, abortSignal: abort.signal });
    if (abort.signal.aborted) system.stop();
    const { code, results } = await system.done;
    if (results) say(`stopped: ${results.map((r) => `${r.name} ${describeExit(r)}`).join(', ')}`);
    process.exit(code);
  } catch (error) {
    if (error.aborted) {
      say('stopped before start-up completed');
      process.exit(0);
    }
    process.stderr.write(
      `[start] failed: ${error instanceof StartError ? error.message : error.stack}\n`,
    );
    process.exit(1);
  }
}

if (require.main === module) main();

module.exports = { startSystem, main, defaultChildren };
