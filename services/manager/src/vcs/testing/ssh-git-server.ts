import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const SSHD = '/usr/sbin/sshd';

/**
 * A real SSH git remote for tests: Debian's OpenSSH sshd as a non-daemon child process with its
 * own configuration, host key and authorized_keys in a temporary directory, serving bare
 * repositories from that directory. It listens on the given address (the Docker bridge gateway,
 * so agent containers reach it) and lets in only the current user with a key.
 */
export interface SshGitServer {
  /** `ssh://<user>@<host>:<port>/<absolute path>/<name>.git` of a bare repository. */
  urlOf(name: string): string;
  /** Host path of a bare repository (for host-side setup and checks). */
  pathOf(name: string): string;
  createBareRepository(name: string): string;
  /** Lets the holder of this private key's public half in. */
  authorize(publicKey: string): void;
  /** The `known_hosts` line that pins the server's current host key. */
  knownHostsLine(): string;
  /** The base64 body of the current host public key (to check it never reaches a message). */
  hostKeyMaterial(): string;
  /** Restarts sshd on the same address and port with a newly generated host key. */
  replaceHostKey(): Promise<void>;
  close(): Promise<void>;
}

/** A key pair generated on the host with ssh-keygen. */
export interface SshKeyPair {
  privateKey: string;
  publicKey: string;
}

export function generateKeyPair(comment = 'agenstra-test', passphrase = ''): SshKeyPair {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agenstra-ssh-key-'));
  try {
    const file = path.join(dir, 'key');
    execFileSync('ssh-keygen', [
      '-q',
      '-t',
      'ed25519',
      '-N',
      passphrase,
      '-C',
      comment,
      '-f',
      file,
    ]);
    return {
      privateKey: readFileSync(file, 'utf8'),
      publicKey: readFileSync(`${file}.pub`, 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function freePort(host: string): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startSshGitServer(options: { host: string }): Promise<SshGitServer> {
  if (!existsSync(SSHD)) {
    throw new Error(
      `${SSHD} is missing: the SSH git tests need Debian's openssh-server (apt-get install -y openssh-server)`,
    );
  }
  const user = os.userInfo().username;
  const root = mkdtempSync(path.join(os.tmpdir(), 'agenstra-git-ssh-'));
  const repositories = path.join(root, 'repositories');
  mkdirSync(repositories);
  const hostKey = path.join(root, 'host_key');
  const authorizedKeys = path.join(root, 'authorized_keys');
  const config = path.join(root, 'sshd_config');
  writeFileSync(authorizedKeys, '', { mode: 0o600 });
  // sshd refuses to start as root without its privilege separation directory.
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const port = await freePort(options.host);
  writeFileSync(
    config,
    [
      `ListenAddress ${options.host}:${port}`,
      `HostKey ${hostKey}`,
      `PidFile ${path.join(root, 'sshd.pid')}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      `AllowUsers ${user}`,
      'PermitRootLogin prohibit-password',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'UseDNS no',
      // The temporary directory is not a home directory sshd would consider safe.
      'StrictModes no',
      'LogLevel INFO',
      '',
    ].join('\n'),
  );

  let child: ChildProcess | undefined;
  const newHostKey = () => {
    rmSync(hostKey, { force: true });
    rmSync(`${hostKey}.pub`, { force: true });
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  };
  const start = async () => {
    const sshd = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = sshd;
    let log = '';
    await new Promise<void>((resolve, reject) => {
      sshd.stderr.on('data', (chunk: Buffer) => {
        log += chunk.toString('utf8');
        if (/Server listening on/.test(log)) resolve();
      });
      sshd.once('error', reject);
      sshd.once('exit', (code) => reject(new Error(`sshd exited (${code}): ${log.trim()}`)));
    });
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve());
      running.kill('SIGTERM');
    });
  };
  const publicHostKey = () => readFileSync(`${hostKey}.pub`, 'utf8').trim().split(/\s+/);

  newHostKey();
  try {
    await start();
  } catch (error) {
    rmSync(root, { recursive: true, force: true });
    throw error;
  }
  return {
    urlOf: (name) =>
      `ssh://${user}@${options.host}:${port}${path.join(repositories, `${name}.git`)}`,
    pathOf: (name) => path.join(repositories, `${name}.git`),
    createBareRepository(name) {
      const dir = path.join(repositories, `${name}.git`);
      execFileSync('git', ['init', '-q', '--bare', '--initial-branch=main', dir]);
      return dir;
    },
    authorize(publicKey) {
      writeFileSync(authorizedKeys, `${publicKey.trim()}\n`, { flag: 'a' });
    },
    knownHostsLine() {
      const [type, body] = publicHostKey();
      return `[${options.host}]:${port} ${type} ${body}\n`;
    },
    hostKeyMaterial: () => publicHostKey()[1],
    async replaceHostKey() {
      await stop();
      newHostKey();
      await start();
    },
    async close() {
      await stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
