// Drives a real runner process (node main.js, or `docker run -i` of the image) over its pipes.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { createLineSplitter } = require('../protocol');

const MAIN = path.join(__dirname, '..', 'main.js');

class RunnerProcess {
  /** @param {{ command?: string, args?: string[], env?: object }} [options] */
  constructor({ command = process.execPath, args = [MAIN], env = {} } = {}) {
    this.lines = [];
    this.stderr = '';
    this.waiters = [];
    this.child = spawn(command, args, {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const splitter = createLineSplitter((line) => {
      this.lines.push(JSON.parse(line));
      this.check();
    });
    this.child.stdout.on('data', (chunk) => splitter.push(chunk));
    this.child.stderr.on('data', (chunk) => {
      this.stderr += chunk;
      this.check();
    });
    this.exited = new Promise((resolve) => {
      this.child.on('close', (code, signal) => {
        splitter.end();
        resolve({ code, signal });
        this.check();
      });
    });
  }

  send(input) {
    this.child.stdin.write(`${typeof input === 'string' ? input : JSON.stringify(input)}\n`);
  }

  endInput() {
    this.child.stdin.end();
  }

  /** Resolves with the matching lines once predicate(lines) is true. */
  waitFor(predicate, description, timeoutMs = 30000) {
    return new Promise((resolve, reject) => {
      const waiter = { predicate, resolve, reject };
      waiter.timer = setTimeout(() => {
        this.waiters = this.waiters.filter((other) => other !== waiter);
        reject(
          new Error(
            `timed out waiting for ${description}; got:\n${this.lines.map((l) => JSON.stringify(l)).join('\n')}\nstderr:\n${this.stderr}`,
          ),
        );
      }, timeoutMs);
      this.waiters.push(waiter);
      this.check();
    });
  }

  /** All lines of turn id once its done line arrived. */
  async turn(id) {
    await this.waitFor(
      (lines) => lines.some((line) => line.id === id && line.type === 'done'),
      `done of ${id}`,
    );
    return this.linesOf(id);
  }

  linesOf(id) {
    return this.lines.filter((line) => line.id === id);
  }

  check() {
    for (const waiter of [...this.waiters]) {
      if (waiter.predicate(this.lines)) {
        clearTimeout(waiter.timer);
        this.waiters = this.waiters.filter((other) => other !== waiter);
        waiter.resolve(this.lines);
      }
    }
  }

  async stop() {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
    }
    await this.exited;
  }
}

/** Line types and texts without seq, for compact assertions. */
function shapeOf(lines) {
  return lines.map(({ seq: _seq, id: _id, ...rest }) => rest);
}

function temporaryDirectory(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

module.exports = { RunnerProcess, shapeOf, temporaryDirectory, MAIN };
