import { expect } from 'chai';

import type { RunningGateway } from './server';
import { startTestGateway } from './testing/test-gateway';

describe('gateway CORS', () => {
  describe('with no CORS_ORIGINS', () => {
    let gateway: RunningGateway;
    before(async () => (gateway = await startTestGateway({ corsOrigins: [] })));
    after(() => gateway.close());

    it('grants no other origin access', async () => {
      const response = await fetch(`${gateway.url}/config.json`, {
        headers: { origin: 'https://evil.example.com' },
      });
      expect(response.headers.get('access-control-allow-origin')).to.equal(null);
    });

    it('refuses a preflight from another origin', async () => {
      const response = await fetch(`${gateway.url}/agenstra.controller.v1.ClientService/List`, {
        method: 'OPTIONS',
        headers: {
          origin: 'https://evil.example.com',
          'access-control-request-method': 'POST',
        },
      });
      expect(response.status).to.equal(403);
      expect(response.headers.get('access-control-allow-origin')).to.equal(null);
    });
  });

  describe('with CORS_ORIGINS listing an origin', () => {
    const allowed = 'https://console.example.com';
    let gateway: RunningGateway;
    before(async () => (gateway = await startTestGateway({ corsOrigins: [allowed] })));
    after(() => gateway.close());

    it('lets the listed origin read responses', async () => {
      const response = await fetch(`${gateway.url}/config.json`, { headers: { origin: allowed } });
      expect(response.headers.get('access-control-allow-origin')).to.equal(allowed);
      expect(response.headers.get('vary')).to.equal('Origin');
    });

    it('answers the listed origin preflight with the gRPC-web headers it may send', async () => {
      const response = await fetch(`${gateway.url}/agenstra.controller.v1.ClientService/List`, {
        method: 'OPTIONS',
        headers: { origin: allowed, 'access-control-request-method': 'POST' },
      });
      expect(response.status).to.equal(204);
      expect(response.headers.get('access-control-allow-origin')).to.equal(allowed);
      expect(response.headers.get('access-control-allow-headers')).to.contain('x-grpc-web');
      expect(response.headers.get('access-control-allow-methods')).to.contain('POST');
    });

    it('still grants nothing to an origin that is not listed', async () => {
      const response = await fetch(`${gateway.url}/config.json`, {
        headers: { origin: 'https://other.example.com' },
      });
      expect(response.headers.get('access-control-allow-origin')).to.equal(null);
    });
  });
});
