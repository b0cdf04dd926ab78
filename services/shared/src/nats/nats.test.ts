import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import type { NatsConnection } from 'nats';
import { createLogger } from '../logging/logger.js';
import { closeNats, connectNats, ensureEventStream } from './nats.js';

const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

describe('NATS event stream', () => {
  const suffix = randomBytes(4).toString('hex');
  const name = `AGENSTRA_TEST_${suffix}`;
  const subject = `agenstra_test_${suffix}`;
  let connection: NatsConnection;

  before(async () => {
    const logger = createLogger({
      service: 'test',
      destination: new Writable({ write: (_c, _e, done) => done() }),
    });
    connection = await connectNats({ url: NATS_URL, name: 'agenstra-test', logger });
  });

  after(async () => {
    await (await connection.jetstreamManager()).streams.delete(name).catch(() => undefined);
    await closeNats(connection);
  });

  it('creates the stream with a duplicate window, and a second call leaves it as is', async () => {
    const created = await ensureEventStream(connection, {
      name,
      subjects: [`${subject}.>`],
      duplicateWindowMs: 60_000,
    });
    expect(created.config.subjects).to.deep.equal([`${subject}.>`]);
    expect(created.config.duplicate_window).to.equal(60_000 * 1_000_000);
    const again = await ensureEventStream(connection, {
      name,
      subjects: [`${subject}.>`],
      duplicateWindowMs: 60_000,
    });
    expect(again.created).to.equal(created.created);
  });

  it('stores a message published twice with the same Nats-Msg-Id only once', async () => {
    await ensureEventStream(connection, { name, subjects: [`${subject}.>`] });
    const jetstream = connection.jetstream();
    const first = await jetstream.publish(`${subject}.a`, new Uint8Array([1]), {
      msgID: 'event-1',
    });
    const second = await jetstream.publish(`${subject}.a`, new Uint8Array([1]), {
      msgID: 'event-1',
    });
    expect(first.duplicate).to.equal(false);
    expect(second.duplicate).to.equal(true);
    const info = await (await connection.jetstreamManager()).streams.info(name);
    expect(info.state.messages).to.equal(1);
  });
});
