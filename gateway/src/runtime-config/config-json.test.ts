import { expect } from 'chai';

import type { RunningGateway } from '../server';
import { startTestGateway } from '../testing/test-gateway';

describe('gateway /config.json', () => {
  const gateways: RunningGateway[] = [];
  afterEach(async () => {
    await Promise.all(gateways.splice(0).map((gateway) => gateway.close()));
  });

  it('tells the console the API base path and that no OIDC issuer is configured', async () => {
    const gateway = await startTestGateway({});
    gateways.push(gateway);
    const response = await fetch(`${gateway.url}/config.json`);
    expect(response.status).to.equal(200);
    expect(response.headers.get('content-type')).to.equal('application/json; charset=utf-8');
    expect(response.headers.get('cache-control')).to.equal('no-cache');
    expect(await response.json()).to.deep.equal({ apiBasePath: '/', oidc: null });
  });

  it('passes the OIDC issuer and client id from the environment to the console', async () => {
    const gateway = await startTestGateway({
      oidcIssuer: 'https://id.example.com/realms/agenstra',
      oidcClientId: 'agenstra-console',
    });
    gateways.push(gateway);
    const response = await fetch(`${gateway.url}/config.json`);
    expect(await response.json()).to.deep.equal({
      apiBasePath: '/',
      oidc: { issuer: 'https://id.example.com/realms/agenstra', clientId: 'agenstra-console' },
    });
  });
});
