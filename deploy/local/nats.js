'use strict';
// Chooses the NATS server for the local stack: NATS_URL, the server on the
// local default port, or a nats-server with JetStream that we start.
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { findFreePort, probeTcp } = require('./net');

const LOCAL_HOST = '127.0.0.1';

function findNatsServer(env) {
  const directories = [
    ...(env.PATH || '').split(path.delimiter),
    '/usr/sbin',
    '/usr/local/sbin',
    '/usr/local/bin',
  ];
  for (const directory of directories.filter(Boolean)) {
    const candidate = path.join(directory, 'nats-server');
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return null;
}

const answersAsNats = (greeting) => typeof greeting === 'string' && greeting.startsWith('INFO ');

/**
 * Picks NATS. Returns { url, description, stop() }; stop() ends the server
 * when we started one. env.AGENSTRA_LOCAL_NATS_PORT overrides the local
 * default port (4222) for tests.
 */
async function chooseNats({ env, stateDir, say }) {
  if (env.NATS_URL)
    return {
      url: env.NATS_URL,
      description: `${env.NATS_URL} (from NATS_URL)`,
      stop: async () => {},
    };
  const localPort = Number(env.AGENSTRA_LOCAL_NATS_PORT || 4222);
  const localUrl = `nats://${LOCAL_HOST}:${localPort}`;
  const greeting = await probeTcp(LOCAL_HOST, localPort);
  if (answersAsNats(greeting))
    return { url: localUrl, description: `${localUrl} (local NATS)`, stop: async () => {} };
  if (greeting !== null)
    throw new Error(
      `something that is not NATS listens on ${LOCAL_HOST}:${localPort}; set NATS_URL`,
    );

  const binary = findNatsServer(env);
  if (!binary) {
    throw new Error(
      `nothing answers on ${localUrl} and no nats-server binary was found on PATH or in /usr/sbin. ` +
        'Install it (Debian/Ubuntu: `sudo apt-get install nats-server`) or set NATS_URL.',
    );
  }
  say(`nothing answers on ${localUrl}; starting ${binary} with JetStream`);
  const storeDir = path.join(stateDir, 'nats');
  fs.mkdirSync(storeDir, { recursive: true });
  const port = await findFreePort(LOCAL_HOST);
  // Detached: Ctrl-C in the terminal must not reach NATS before the services have drained.
  const server = spawn(binary, ['-js', '-a', LOCAL_HOST, '-p', String(port), '-sd', storeDir], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  server.stdout.on('data', (chunk) => (output += chunk));
  server.stderr.on('data', (chunk) => (output += chunk));
  const isRunning = () => server.exitCode === null && server.signalCode === null;
  const exited = new Promise((resolve) => server.once('exit', resolve));
  while (isRunning() && !answersAsNats(await probeTcp(LOCAL_HOST, port))) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (!isRunning())
    throw new Error(
      `nats-server exited during start-up:\n${output.trim().split('\n').slice(-15).join('\n')}`,
    );
  const url = `nats://${LOCAL_HOST}:${port}`;
  say(`nats-server with JetStream listens on ${url} (store ${storeDir})`);
  const stop = async () => {
    if (!isRunning()) return;
    server.kill('SIGTERM');
    const timer = setTimeout(() => server.kill('SIGKILL'), 10000);
    await exited;
    clearTimeout(timer);
  };
  return { url, description: `${url} (nats-server started here, store in ${storeDir})`, stop };
}

module.exports = { chooseNats };
