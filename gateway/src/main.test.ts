import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';

const MAIN = path.join(__dirname, 'main.js');

interface LogLine {
  msg?: string;
  address?: string;
  [field: string]: unknown;
}

function startMain(env: Record<string, string>): {
  child: ChildProcess;
  lines: LogLine[];
  stderr: () => string;
  nextLine: (msg: string) => Promise<LogLine>;
  exited: Promise<number | null>;
} {
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  const waiters: Array<{ msg: string; resolve: (line: LogLine) => void }> = [];
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout! }).on('line', (text) => {
    const line = JSON.parse(text) as LogLine;
    lines.push(line);
    for (const waiter of waiters.filter((w) => w.msg === line.msg)) waiter.resolve(line);
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    stderr: () => stderr,
    exited,
    nextLine: (msg) =>
      Promise.race([
        new Promise<LogLine>((resolve) => waiters.push({ msg, resolve })),
        exited.then((code) => {
          throw new Error(`gateway exited with ${code} before logging "${msg}": ${stderr}`);
        }),
      ]),
  };
}

describe('gateway process (dist/main.js)', () => {
  it('logs "listening" with its address as JSON, serves, and exits 0 on SIGTERM', async () => {
    const gateway = startMain({ GATEWAY_HOST: '127.0.0.1', GATEWAY_PORT: '0' });
    const listening = await gateway.nextLine('listening');
    expect(listening.address).to.match(/^127\.0\.0\.1:\d+$/);

    const response = await fetch(`http://${listening.address}/config.json`);
    expect(response.status).to.equal(200);

    gateway.child.kill('SIGTERM');
    expect(await gateway.exited).to.equal(0);
    expect(gateway.lines.map((line) => line.msg)).to.include.members([
      'shutting down',
      'shut down',
    ]);
  });

  it('finishes a request in flight when SIGTERM arrives before exiting 0', async () => {
    // A "controller" that accepts the connection and never answers keeps /healthz in flight
    // until the gateway's health-check deadline passes.
    const sockets: Socket[] = [];
    let connected: () => void;
    const controllerConnected = new Promise<void>((resolve) => (connected = resolve));
    const silentController = createServer((socket) => {
      sockets.push(socket);
      connected();
    });
    await new Promise<void>((resolve) => silentController.listen(0, '127.0.0.1', resolve));
    const { port } = silentController.address() as { port: number };
    try {
      const gateway = startMain({
        GATEWAY_HOST: '127.0.0.1',
        GATEWAY_PORT: '0',
        CONTROLLER_ADDRESS: `127.0.0.1:${port}`,
      });
      const { address } = await gateway.nextLine('listening');
      const inFlight = fetch(`http://${address}/healthz`);
      await controllerConnected;
      gateway.child.kill('SIGTERM');

      const response = await inFlight;
      expect(response.status).to.equal(503);
      expect(((await response.json()) as { controller: string }).controller).to.equal(
        'UNREACHABLE',
      );
      expect(await gateway.exited).to.equal(0);
    } finally {
      sockets.forEach((socket) => socket.destroy());
      silentController.close();
    }
  });

  it('exits 0 on SIGINT as well', async () => {
    const gateway = startMain({ GATEWAY_HOST: '127.0.0.1', GATEWAY_PORT: '0' });
    await gateway.nextLine('listening');
    gateway.child.kill('SIGINT');
    expect(await gateway.exited).to.equal(0);
  });

  it('refuses to start on a bad variable, naming it', async () => {
    const gateway = startMain({ GATEWAY_PORT: 'eighty' });
    expect(await gateway.exited).to.equal(1);
    expect(gateway.stderr()).to.contain('GATEWAY_PORT="eighty"');
    expect(gateway.lines.map((line) => line.msg)).not.to.include('listening');
  });
});
