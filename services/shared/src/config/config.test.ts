import { expect } from 'chai';
import { ConfigError, describeConfig, env, loadConfig, secretKeysOf } from './config.js';

const schema = {
  databaseUrl: env.url('DATABASE_URL', {
    default: 'postgres://postgres@127.0.0.1:5432/agenstra',
    protocols: ['postgres:', 'postgresql:'],
  }),
  port: env.port('GRPC_PORT', { default: 50052 }),
  logLevel: env.oneOf('LOG_LEVEL', ['debug', 'info', 'warn'], { default: 'info' }),
  graceMs: env.durationMs('SHUTDOWN_GRACE_MS', { default: 10_000 }),
  verbose: env.boolean('VERBOSE', { default: false }),
  workers: env.int('WORKERS', { default: 2, min: 1, max: 8 }),
  managerId: env.string('MANAGER_ID', { optional: true }),
  apiKey: env.string('API_KEY', { optional: true, secret: true }),
};

function problemsOf(source: NodeJS.ProcessEnv) {
  try {
    loadConfig(schema, source);
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected the configuration to be refused');
}

describe('configuration from the environment', () => {
  it('uses the defaults when nothing is set', () => {
    const config = loadConfig(schema, {});
    expect(config).to.deep.equal({
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/agenstra',
      port: 50052,
      logLevel: 'info',
      graceMs: 10_000,
      verbose: false,
      workers: 2,
      managerId: undefined,
      apiKey: undefined,
    });
  });

  it('parses every kind of value into its type', () => {
    const config = loadConfig(schema, {
      DATABASE_URL: 'postgresql://u:p@db:5433/x',
      GRPC_PORT: '0',
      LOG_LEVEL: 'debug',
      SHUTDOWN_GRACE_MS: '3s',
      VERBOSE: 'yes',
      WORKERS: '8',
      MANAGER_ID: ' m-1 ',
      API_KEY: 'k',
    });
    expect(config.port).to.equal(0);
    expect(config.graceMs).to.equal(3000);
    expect(config.verbose).to.equal(true);
    expect(config.workers).to.equal(8);
    expect(config.managerId).to.equal('m-1');
    expect(config.logLevel).to.equal('debug');
  });

  it('reads durations with units and plain milliseconds', () => {
    const duration = { d: env.durationMs('D') };
    expect(loadConfig(duration, { D: '250' }).d).to.equal(250);
    expect(loadConfig(duration, { D: '250ms' }).d).to.equal(250);
    expect(loadConfig(duration, { D: '2m' }).d).to.equal(120_000);
    expect(loadConfig(duration, { D: '1h' }).d).to.equal(3_600_000);
  });

  it('reports every bad variable at once, naming it, its value and what was expected', () => {
    const problems = problemsOf({
      GRPC_PORT: 'notaport',
      LOG_LEVEL: 'loud',
      SHUTDOWN_GRACE_MS: 'soon',
      VERBOSE: 'maybe',
      WORKERS: '9',
      DATABASE_URL: 'mysql://db/x',
    });
    expect(problems.map((p) => p.variable)).to.have.members([
      'GRPC_PORT',
      'LOG_LEVEL',
      'SHUTDOWN_GRACE_MS',
      'VERBOSE',
      'WORKERS',
      'DATABASE_URL',
    ]);
    const port = problems.find((p) => p.variable === 'GRPC_PORT');
    expect(port).to.deep.equal({
      variable: 'GRPC_PORT',
      value: 'notaport',
      expected: 'a TCP port number from 0 to 65535',
    });
    expect(problems.find((p) => p.variable === 'WORKERS')?.expected).to.equal(
      'an integer from 1 to 8',
    );
  });

  it('refuses ports outside 0..65535 and non-integers', () => {
    expect(problemsOf({ GRPC_PORT: '65536' })).to.have.length(1);
    expect(problemsOf({ GRPC_PORT: '-1' })).to.have.length(1);
    expect(problemsOf({ GRPC_PORT: '80.5' })).to.have.length(1);
  });

  it('refuses a missing required variable', () => {
    try {
      loadConfig({ token: env.string('REQUIRED_TOKEN') }, {});
      expect.fail('should have thrown');
    } catch (error) {
      expect((error as Error).message).to.contain('REQUIRED_TOKEN');
      expect((error as Error).message).to.contain('required');
    }
  });

  it('never repeats the value of a secret variable in its error', () => {
    const secretSchema = { key: env.int('SECRET_NUMBER', { secret: true }) };
    try {
      loadConfig(secretSchema, { SECRET_NUMBER: 'hunter2' });
      expect.fail('should have thrown');
    } catch (error) {
      expect((error as Error).message).to.contain('SECRET_NUMBER');
      expect((error as Error).message).not.to.contain('hunter2');
    }
  });

  it('masks the password of a bad URL in its error', () => {
    const urls = { url: env.url('SOME_URL', { protocols: ['nats:'] }) };
    try {
      loadConfig(urls, { SOME_URL: 'http://user:pa55word@host' });
      expect.fail('should have thrown');
    } catch (error) {
      expect((error as Error).message).to.contain('SOME_URL');
      expect((error as Error).message).not.to.contain('pa55word');
    }
  });

  it('lists the secret keys and hides them when the configuration is described', () => {
    expect(secretKeysOf(schema)).to.deep.equal(['apiKey']);
    const config = loadConfig(schema, {
      API_KEY: 'very-secret',
      DATABASE_URL: 'postgres://u:dbpass@h/d',
    });
    const described = JSON.stringify(describeConfig(schema, config));
    expect(described).not.to.contain('very-secret');
    expect(described).not.to.contain('dbpass');
    expect(described).to.contain('[REDACTED]');
  });
});
