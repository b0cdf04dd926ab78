const { expect } = require('chai');
const { createLineSplitter, parseInputLine, encodeOutputLine } = require('../protocol');

describe('runner protocol framing', function () {
  function split(chunks, options) {
    const lines = [];
    const splitter = createLineSplitter((line) => lines.push(line), options);
    for (const chunk of chunks) splitter.push(chunk);
    splitter.end();
    return lines;
  }

  it('joins a line split across chunks and splits several lines in one chunk', function () {
    expect(split(['{"a":', '1}\n{"b"', ':2}\n{"c":3}\n'])).to.deep.equal([
      '{"a":1}',
      '{"b":2}',
      '{"c":3}',
    ]);
  });

  it('decodes a multi-byte UTF-8 character split between chunks', function () {
    const bytes = Buffer.from('{"text":"héllo ✓"}\n');
    const cut = bytes.indexOf(Buffer.from('✓')) + 1;
    expect(split([bytes.subarray(0, cut), bytes.subarray(cut)])).to.deep.equal([
      '{"text":"héllo ✓"}',
    ]);
  });

  it('accepts CRLF line ends and a last line without newline', function () {
    expect(split(['one\r\ntwo'])).to.deep.equal(['one', 'two']);
  });

  it('drops an oversized line, reports it, and keeps reading the next ones', function () {
    const oversized = [];
    const lines = split(['x'.repeat(40), 'y'.repeat(40), '\nnext\n'], {
      maxLineBytes: 64,
      onOversized: (bytes) => oversized.push(bytes),
    });
    expect(lines).to.deep.equal(['next']);
    expect(oversized).to.have.length(1);
  });

  it('encodes an output with newlines in its text as exactly one line', function () {
    const encoded = encodeOutputLine({ type: 'message', id: 'm', seq: 1, text: 'a\nb\r\nc\u2028' });
    expect(encoded.split('\n')).to.have.length(2);
    expect(JSON.parse(encoded).text).to.equal('a\nb\r\nc\u2028');
  });
});

describe('runner protocol input validation', function () {
  it('accepts the four input types', function () {
    expect(parseInputLine('{"type":"hello","protocol":1}').input).to.deep.equal({
      type: 'hello',
      protocol: 1,
    });
    expect(
      parseInputLine('{"type":"message","id":"m1","text":"hi","author":"ana"}').input,
    ).to.deep.equal({
      type: 'message',
      id: 'm1',
      text: 'hi',
      author: 'ana',
    });
    expect(parseInputLine('{"type":"cancel","id":"m1"}').input).to.deep.equal({
      type: 'cancel',
      id: 'm1',
    });
    expect(parseInputLine('{"type":"ack","id":"m1"}').input).to.deep.equal({
      type: 'ack',
      id: 'm1',
    });
  });

  it('ignores blank lines', function () {
    expect(parseInputLine('   ')).to.deep.equal({ input: null });
  });

  for (const [line, reason] of [
    ['not json', /not a JSON line/],
    ['[1,2]', /JSON object/],
    ['{"type":"dance"}', /unknown type "dance"/],
    ['{"type":"hello","protocol":2}', /unsupported protocol 2/],
    ['{"type":"message","text":"no id"}', /non-empty string id/],
    ['{"type":"message","id":"m","text":5}', /string text/],
    ['{"type":"message","id":"m","text":"x","author":7}', /non-string author/],
    ['{"type":"cancel","id":""}', /cancel needs a non-empty string id/],
  ]) {
    it(`refuses ${line} with a clear message`, function () {
      const { input, error } = parseInputLine(line);
      expect(input).to.equal(undefined);
      expect(error).to.match(reason);
    });
  }
});
