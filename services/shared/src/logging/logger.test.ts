import { Writable } from 'node:stream';
import { expect } from 'chai';
import { createLogger, REDACTED } from './logger.js';

function capture(secretKeys?: string[]) {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  const logger = createLogger({ service: 'test-service', level: 'debug', secretKeys, destination });
  return { logger, lines };
}

describe('logger', () => {
  it('writes JSON lines with the service name and level label', () => {
    const { logger, lines } = capture();
    logger.info({ address: '0.0.0.0:1' }, 'listening');
    expect(lines[0]).to.include({ service: 'test-service', level: 'info', msg: 'listening' });
    expect(lines[0].address).to.equal('0.0.0.0:1');
  });

  it('redacts secret fields however deeply they are nested', () => {
    const { logger, lines } = capture();
    logger.info(
      {
        password: 'p1',
        apiKey: 'k1',
        api_key: 'k2',
        client: { oidc: { clientSecret: 's1', tokens: [{ access_token: 't1' }] } },
        headers: { Authorization: 'Bearer abc.def', 'x-request-id': 'r1' },
        name: 'visible',
      },
      'created client',
    );
    const text = JSON.stringify(lines[0]);
    for (const secret of ['"p1"', '"k1"', '"k2"', '"s1"', '"t1"', 'abc.def']) {
      expect(text).not.to.contain(secret);
    }
    expect(lines[0].password).to.equal(REDACTED);
    expect((lines[0].headers as Record<string, unknown>)['x-request-id']).to.equal('r1');
    expect(lines[0].name).to.equal('visible');
  });

  it('redacts secrets carried by child-logger bindings and logged errors', () => {
    const { logger, lines } = capture();
    const error = Object.assign(new Error('login failed'), { request: { password: 'p2' } });
    logger.child({ credentials: { token: 't2' } }).error({ err: error }, 'failed');
    const text = JSON.stringify(lines[0]);
    expect(text).not.to.contain('p2');
    expect(text).not.to.contain('t2');
    expect(text).to.contain('login failed');
  });

  it('redacts bearer tokens found in plain string values', () => {
    const { logger, lines } = capture();
    logger.info({ header: 'Bearer eyJhbGciOi.payload' }, 'outgoing call');
    expect(lines[0].header).to.equal(`Bearer ${REDACTED}`);
  });

  it('redacts the extra keys a service declares secret', () => {
    const { logger, lines } = capture(['vaultKey']);
    logger.info({ config: { vaultKey: 'v1', port: 1 } }, 'configuration');
    expect(lines[0].config).to.deep.equal({ vaultKey: REDACTED, port: 1 });
  });
});
