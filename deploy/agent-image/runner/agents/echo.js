// echo: a deterministic agent type for demos and tests (commands in PROTOCOL.md).
const { TurnError } = require('../protocol');
const { WorkspacePathError, writeInsideWorkspace } = require('../workspace-path');

const MAX_SLEEP_MS = 600000;
const MAX_PARTS = 10000;

/** Splits text into exactly n pieces whose lengths (in code points) differ by at most one. */
function splitIntoParts(text, n) {
  const characters = Array.from(text);
  const parts = [];
  let start = 0;
  for (let index = 0; index < n; index += 1) {
    const length = Math.floor(characters.length / n) + (index < characters.length % n ? 1 : 0);
    parts.push(characters.slice(start, start + length).join(''));
    start += length;
  }
  return parts;
}

/** "/cmd first rest of text" → { first, rest } where rest keeps its own spaces and newlines. */
function splitArgument(argumentText) {
  const match = /^(\S+)(?:[ \t]([\s\S]*))?$/.exec(argumentText);
  if (!match) return { first: '', rest: '' };
  return { first: match[1], rest: match[2] ?? '' };
}

function parseWholeNumber(text, what, max) {
  if (!/^\d+$/.test(text))
    throw new TurnError('bad_input', `${what} must be a whole number, got ${JSON.stringify(text)}`);
  const value = Number(text);
  if (value > max) throw new TurnError('bad_input', `${what} must be at most ${max}, got ${value}`);
  return value;
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

const yieldToEventLoop = () => new Promise((resolve) => setImmediate(resolve));

function createAgent({ workspaceDir }) {
  const commands = {
    async parts(argumentText, { emit, signal }) {
      const { first, rest } = splitArgument(argumentText);
      const count = parseWholeNumber(first, '/parts N', MAX_PARTS);
      if (count === 0) throw new TurnError('bad_input', '/parts N needs N of at least 1');
      for (const part of splitIntoParts(rest, count)) {
        if (signal.aborted) return;
        emit({ type: 'delta', text: part });
        // Lets a cancel that arrived meanwhile take effect between parts.
        await yieldToEventLoop();
      }
      emit({ type: 'message', text: rest });
    },

    async sleep(argumentText, { emit, signal }) {
      const ms = parseWholeNumber(argumentText.trim(), '/sleep MS', MAX_SLEEP_MS);
      await sleep(ms, signal);
      emit({ type: 'message', text: `slept ${ms} ms` });
    },

    async write(argumentText, { emit }) {
      const { first: relativePath, rest: content } = splitArgument(argumentText);
      if (!relativePath) throw new TurnError('bad_input', '/write needs a PATH and content');
      let bytes;
      try {
        bytes = await writeInsideWorkspace(workspaceDir, relativePath, content);
      } catch (error) {
        if (error instanceof WorkspacePathError)
          throw new TurnError('bad_input', `/write refused: ${error.message}`);
        throw new TurnError('cli_failed', `/write failed: ${error.message}`);
      }
      emit({ type: 'message', text: `wrote ${relativePath} (${bytes} bytes)` });
    },

    async fail(argumentText) {
      throw new TurnError('cli_failed', argumentText || 'failed on request');
    },

    async tool(argumentText, { emit }) {
      const name = argumentText.trim() || 'echo_tool';
      const callId = 'call-1';
      emit({ type: 'tool_call', callId, tool: name, input: { name } });
      emit({ type: 'tool_result', callId, output: `${name} ran`, isError: false });
      emit({ type: 'message', text: `used tool ${name}` });
    },
  };

  return {
    async runTurn(turn, context) {
      if (!turn.text.startsWith('/')) {
        context.emit({ type: 'message', text: `echo: ${turn.text}` });
        return;
      }
      const { first: command, rest } = splitArgument(turn.text.slice(1));
      const handler = Object.prototype.hasOwnProperty.call(commands, command)
        ? commands[command]
        : null;
      if (!handler) {
        throw new TurnError(
          'bad_input',
          `unknown echo command /${command} (known: ${Object.keys(commands)
            .map((name) => `/${name}`)
            .join(', ')})`,
        );
      }
      await handler(rest, context);
    },
  };
}

module.exports = { createAgent, splitIntoParts };
