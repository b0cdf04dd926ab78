// The manager ⇄ runner JSON-lines protocol (PROTOCOL.md): line framing, input validation,
// output encoding and the turn error codes.
const { StringDecoder } = require('node:string_decoder');

const PROTOCOL_VERSION = 1;

// A line longer than this is dropped (and reported) instead of growing the buffer without bound.
const MAX_INPUT_LINE_BYTES = 8 * 1024 * 1024;

const ERROR_CODES = Object.freeze([
  'cancelled',
  'cli_missing',
  'missing_api_key',
  'cli_failed',
  'timeout',
  'bad_input',
]);

/** A turn that ends in an `error` line with this code. */
class TurnError extends Error {
  constructor(code, message) {
    super(message);
    if (!ERROR_CODES.includes(code)) throw new Error(`unknown turn error code ${code}`);
    this.name = 'TurnError';
    this.code = code;
  }
}

/**
 * Splits a byte stream into UTF-8 lines (without the trailing "\n" or "\r\n") and calls onLine
 * for each. Returns { push(chunk), end() }; end() flushes a last line without newline.
 * onOversized(bytes) is called when a line exceeds maxLineBytes; that line is skipped.
 */
function createLineSplitter(onLine, { maxLineBytes = MAX_INPUT_LINE_BYTES, onOversized } = {}) {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let skipping = false;

  function emit(line) {
    onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
  }

  function push(chunk) {
    let text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
    let newline = text.indexOf('\n');
    while (newline !== -1) {
      const tail = text.slice(0, newline);
      if (skipping) skipping = false;
      else emit(pending + tail);
      pending = '';
      text = text.slice(newline + 1);
      newline = text.indexOf('\n');
    }
    if (skipping) return;
    pending += text;
    if (Buffer.byteLength(pending) > maxLineBytes) {
      if (onOversized) onOversized(Buffer.byteLength(pending));
      pending = '';
      skipping = true;
    }
  }

  function end() {
    const rest = pending + decoder.end();
    pending = '';
    if (!skipping && rest.length > 0) emit(rest);
    skipping = false;
  }

  return { push, end };
}

function isNonEmptyString(value) {
  return typeof value === 'string' && value.length > 0;
}

/**
 * Parses one stdin line into a RunnerInput. Returns { input } or { error } (a human message);
 * blank lines give { input: null } and are ignored.
 */
function parseInputLine(line) {
  if (line.trim() === '') return { input: null };
  let value;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return { error: `not a JSON line: ${error.message}` };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { error: 'a line must be a JSON object' };
  }
  switch (value.type) {
    case 'hello':
      if (value.protocol !== PROTOCOL_VERSION) {
        return {
          error: `unsupported protocol ${JSON.stringify(value.protocol)} (this runner speaks ${PROTOCOL_VERSION})`,
        };
      }
      return { input: { type: 'hello', protocol: value.protocol } };
    case 'message':
      if (!isNonEmptyString(value.id)) return { error: 'message needs a non-empty string id' };
      if (typeof value.text !== 'string')
        return { error: `message ${value.id} needs a string text` };
      if (value.author !== undefined && typeof value.author !== 'string') {
        return { error: `message ${value.id} has a non-string author` };
      }
      return {
        input: {
          type: 'message',
          id: value.id,
          text: value.text,
          ...(value.author === undefined ? {} : { author: value.author }),
        },
      };
    case 'cancel':
    case 'ack':
      if (!isNonEmptyString(value.id))
        return { error: `${value.type} needs a non-empty string id` };
      return { input: { type: value.type, id: value.id } };
    default:
      return { error: `unknown type ${JSON.stringify(value.type)}` };
  }
}

/** One output line; JSON.stringify escapes newlines inside strings, so it is always one line. */
function encodeOutputLine(output) {
  return `${JSON.stringify(output)}\n`;
}

module.exports = {
  PROTOCOL_VERSION,
  MAX_INPUT_LINE_BYTES,
  ERROR_CODES,
  TurnError,
  createLineSplitter,
  parseInputLine,
  encodeOutputLine,
};
