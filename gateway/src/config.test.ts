import { expect } from 'chai';
import path from 'node:path';

import { ConfigError } from '@agenstra/shared';

import { DEFAULT_WEB_ROOT, readGatewayConfig } from './config';

describe('gateway configuration', () => {
  it('defaults to 0.0.0.0:8080, the controller on 127.0.0.1:50051 and web/dist/browser', () => {
    const config = readGatewayConfig({});
    expect(config).to.include({
      host: '0.0.0.0',
      port: 8080,
      controllerAddress: '127.0.0.1:50051',
      shutdownGraceMs: 10_000,
      logLevel: 'info',
    });
    expect(config.corsOrigins).to.deep.equal([]);
    expect(config.webRoot).to.equal(DEFAULT_WEB_ROOT);
    expect(DEFAULT_WEB_ROOT.endsWith(path.join('web', 'dist', 'browser'))).to.equal(true);
  });

  it('reads every setting from its environment variable', () => {
    const config = readGatewayConfig({
      GATEWAY_HOST: '127.0.0.1',
      GATEWAY_PORT: '9090',
      WEB_ROOT: '/srv/console',
      CONTROLLER_ADDRESS: 'controller:50051',
      OIDC_ISSUER: 'https://id.example.com',
      OIDC_CLIENT_ID: 'console',
      CORS_ORIGINS: 'https://a.example.com, https://b.example.com',
      SHUTDOWN_GRACE_MS: '500',
      LOG_LEVEL: 'debug',
    });
    expect(config).to.deep.equal({
      host: '127.0.0.1',
      port: 9090,
      webRoot: '/srv/console',
      controllerAddress: 'controller:50051',
      oidcIssuer: 'https://id.example.com',
      oidcClientId: 'console',
      corsOrigins: ['https://a.example.com', 'https://b.example.com'],
      shutdownGraceMs: 500,
      logLevel: 'debug',
    });
  });

  it('refuses bad values, naming each variable and what it expects', () => {
    const read = () =>
      readGatewayConfig({
        GATEWAY_PORT: '80a',
        OIDC_ISSUER: 'https://id.example.com',
        CORS_ORIGINS: 'https://ok.example.com,https://bad.example.com/path',
        LOG_LEVEL: 'loud',
      });
    expect(read).to.throw(ConfigError);
    const message = (() => {
      try {
        read();
        return '';
      } catch (error) {
        return (error as Error).message;
      }
    })();
    expect(message).to.contain('GATEWAY_PORT="80a": expected a TCP port number');
    expect(message).to.contain('OIDC_CLIENT_ID=<unset or secret>: expected a value');
    expect(message).to.contain('"https://bad.example.com/path"');
    expect(message).to.contain('LOG_LEVEL="loud": expected one of');
  });
});
