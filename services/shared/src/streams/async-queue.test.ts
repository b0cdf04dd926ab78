import { expect } from 'chai';
import { AsyncQueue } from './async-queue.js';

describe('AsyncQueue', () => {
  it('yields items pushed before and while the reader waits, in order, then ends', async () => {
    const queue = new AsyncQueue<number>();
    queue.push(1);
    const read = (async () => {
      const seen: number[] = [];
      for await (const item of queue) seen.push(item);
      return seen;
    })();
    await new Promise((resolve) => setImmediate(resolve));
    queue.push(2);
    queue.push(3);
    queue.end();
    queue.push(4);
    expect(await read).to.deep.equal([1, 2, 3]);
  });

  it('delivers what was queued before ending with an error, then throws it', async () => {
    const queue = new AsyncQueue<string>();
    queue.push('a');
    queue.end(new Error('stream broke'));
    const seen: string[] = [];
    let failure: unknown;
    try {
      for await (const item of queue) seen.push(item);
    } catch (error) {
      failure = error;
    }
    expect(seen).to.deep.equal(['a']);
    expect((failure as Error).message).to.equal('stream broke');
  });
});
