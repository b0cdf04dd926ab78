// Turns: one at a time in arrival order, each line numbered per turn, every line kept until the
// manager acks the turn so a re-attached manager (hello) gets everything it may have missed.
const { TurnError } = require('./protocol');

const DEFAULT_TURN_TIMEOUT_MS = 30 * 60 * 1000;

class TurnQueue {
  /**
   * @param {object} options
   * @param {(turn: {id: string, text: string, author?: string},
   *          context: {emit: (line: object) => void, signal: AbortSignal}) => Promise<void>} options.runTurn
   *   runs one turn; emits its lines (without id/seq) and rejects with a TurnError to fail it.
   * @param {(line: object) => void} options.write writes one output line to the manager.
   * @param {(message: string) => void} options.log diagnostics (stderr).
   * @param {number} [options.turnTimeoutMs]
   */
  constructor({ runTurn, write, log, turnTimeoutMs = DEFAULT_TURN_TIMEOUT_MS }) {
    this.runTurn = runTurn;
    this.write = write;
    this.log = log;
    this.turnTimeoutMs = turnTimeoutMs;
    /** Every message id ever accepted: a re-delivered message must not run twice. */
    this.acceptedIds = new Set();
    /** Turns waiting to run, oldest first. */
    this.waiting = [];
    /** The running turn: { id, controller }. */
    this.current = null;
    /** Un-acked turns in start order: id → { lines, seq, done }. */
    this.outbox = new Map();
    this.idleWaiters = [];
    this.stopped = false;
  }

  /** Queues a `message`; returns false (and runs nothing) when its id was already accepted. */
  accept(message) {
    if (this.acceptedIds.has(message.id)) {
      this.log(`ignoring message ${message.id}: already accepted`);
      return false;
    }
    this.acceptedIds.add(message.id);
    this.waiting.push(message);
    this.startNext();
    return true;
  }

  cancel(id) {
    if (this.current && this.current.id === id) {
      this.current.controller.abort(new TurnError('cancelled', `turn ${id} was cancelled`));
      return;
    }
    const index = this.waiting.findIndex((turn) => turn.id === id);
    if (index !== -1) {
      this.waiting.splice(index, 1);
      this.emit(id, {
        type: 'error',
        code: 'cancelled',
        message: `turn ${id} was cancelled before it started`,
      });
      this.emit(id, { type: 'done' });
      this.notifyIfIdle();
      return;
    }
    this.log(`ignoring cancel for ${id}: no such running or waiting turn`);
  }

  ack(id) {
    const entry = this.outbox.get(id);
    if (!entry) {
      this.log(`ignoring ack for ${id}: nothing held for it`);
    } else if (!entry.done) {
      this.log(`ignoring ack for ${id}: the turn has not sent done yet`);
    } else {
      this.outbox.delete(id);
    }
  }

  /** Writes again, in order, every line of every turn the manager has not acked. */
  resend() {
    for (const entry of this.outbox.values()) {
      for (const line of entry.lines) this.write(line);
    }
  }

  /** Number of turns whose lines are still held (for diagnostics and tests). */
  get unackedTurnCount() {
    return this.outbox.size;
  }

  /** Resolves when no turn runs and none waits. */
  whenIdle() {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Cancels the running turn, drops waiting ones, and resolves once the running one has ended. */
  stop() {
    this.stopped = true;
    this.waiting = [];
    if (this.current) {
      this.current.controller.abort(
        new TurnError('cancelled', `turn ${this.current.id} was cancelled: the runner is stopping`),
      );
    }
    return this.whenIdle();
  }

  isIdle() {
    return this.current === null && this.waiting.length === 0;
  }

  notifyIfIdle() {
    if (!this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  emit(id, fields) {
    let entry = this.outbox.get(id);
    if (!entry) {
      entry = { lines: [], seq: 0, done: false };
      this.outbox.set(id, entry);
    }
    if (entry.done) throw new Error(`turn ${id} already sent done`);
    entry.seq += 1;
    const { type, ...rest } = fields;
    const line = { type, id, seq: entry.seq, ...rest };
    entry.lines.push(line);
    if (type === 'done') entry.done = true;
    this.write(line);
  }

  startNext() {
    if (this.current || this.waiting.length === 0 || this.stopped) return;
    const turn = this.waiting.shift();
    const controller = new AbortController();
    this.current = { id: turn.id, controller };
    this.execute(turn, controller).finally(() => {
      this.current = null;
      this.startNext();
      this.notifyIfIdle();
    });
  }

  async execute(turn, controller) {
    const { signal } = controller;
    const timer = setTimeout(() => {
      controller.abort(
        new TurnError('timeout', `turn ${turn.id} ran longer than ${this.turnTimeoutMs} ms`),
      );
    }, this.turnTimeoutMs);
    // Lines an agent produces after its turn was aborted (a CLI still dying) are dropped.
    const emit = (fields) => {
      if (!signal.aborted) this.emit(turn.id, fields);
    };
    let failure = null;
    try {
      await this.runTurn(turn, { emit, signal });
    } catch (error) {
      failure = error;
    } finally {
      clearTimeout(timer);
    }
    if (signal.aborted) failure = signal.reason;
    if (failure) {
      if (!(failure instanceof TurnError)) {
        this.log(
          `turn ${turn.id} failed inside the runner: ${failure && failure.stack ? failure.stack : failure}`,
        );
      }
      const code = failure instanceof TurnError ? failure.code : 'cli_failed';
      const message =
        failure instanceof TurnError
          ? failure.message
          : `runner error: ${failure && failure.message}`;
      this.emit(turn.id, { type: 'error', code, message });
    }
    this.emit(turn.id, { type: 'done' });
  }
}

module.exports = { TurnQueue, DEFAULT_TURN_TIMEOUT_MS };
