import { StringDecoder } from 'node:string_decoder';

/**
 * Splits a byte stream into lines, keeping a partial line until its newline arrives; UTF-8
 * sequences cut between chunks are decoded whole, invalid bytes become U+FFFD.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';

  push(chunk: Buffer): string[] {
    const lines = (this.partial + this.decoder.write(chunk)).split('\n');
    this.partial = lines.pop() ?? '';
    return lines.map(withoutCarriageReturn);
  }

  /** The last line when the stream ended without a newline. */
  end(): string[] {
    const rest = this.partial + this.decoder.end();
    this.partial = '';
    return rest === '' ? [] : [withoutCarriageReturn(rest)];
  }
}

const withoutCarriageReturn = (line: string) => (line.endsWith('\r') ? line.slice(0, -1) : line);
