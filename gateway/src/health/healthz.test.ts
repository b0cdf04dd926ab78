import { expect } from 'chai';

import type { RunningGateway } from '../server';
import {
  startHealthServer,
  startTestGateway,
  unusedAddress,
  type TestHealthServer,
} from '../testing/test-gateway';

describe('gateway /healthz', () => {
  describe('with a controller that serves', () => {
    let controller: TestHealthServer;
    let gateway: RunningGateway;

    before(async () => {
      controller = await startHealthServer('SERVING');
      gateway = await startTestGateway({ controllerAddress: controller.address });
    });

    after(async () => {
      await gateway.close();
      await controller.stop();
    });

    it('answers 200 with both gateway and controller SERVING', async () => {
      const response = await fetch(`${gateway.url}/healthz`);
      expect(response.status).to.equal(200);
      expect(response.headers.get('cache-control')).to.equal('no-cache');
      expect(await response.json()).to.deep.equal({ gateway: 'SERVING', controller: 'SERVING' });
    });

    it('answers 503 with NOT_SERVING once the controller reports it', async () => {
      controller.health.setStatus('', 'NOT_SERVING');
      try {
        const response = await fetch(`${gateway.url}/healthz`);
        expect(response.status).to.equal(503);
        expect(await response.json()).to.deep.equal({
          gateway: 'SERVING',
          controller: 'NOT_SERVING',
        });
      } finally {
        controller.health.setStatus('', 'SERVING');
      }
    });
  });

  describe('with no controller listening', () => {
    let gateway: RunningGateway;
    let controllerAddress: string;

    before(async () => {
      controllerAddress = await unusedAddress();
      gateway = await startTestGateway({ controllerAddress });
    });

    after(() => gateway.close());

    it('answers 503 saying the controller is unreachable and where it was looked for', async () => {
      const response = await fetch(`${gateway.url}/healthz`);
      expect(response.status).to.equal(503);
      const report = (await response.json()) as Record<string, string>;
      expect(report.gateway).to.equal('SERVING');
      expect(report.controller).to.equal('UNREACHABLE');
      expect(report.error).to.contain(controllerAddress);
    });
  });

  describe('with a controller that does not know the overall service', () => {
    let controller: TestHealthServer;
    let gateway: RunningGateway;

    before(async () => {
      controller = await startHealthServer(null);
      gateway = await startTestGateway({ controllerAddress: controller.address });
    });

    after(async () => {
      await gateway.close();
      await controller.stop();
    });

    it('answers 503 with SERVICE_UNKNOWN', async () => {
      const response = await fetch(`${gateway.url}/healthz`);
      expect(response.status).to.equal(503);
      expect(((await response.json()) as Record<string, string>).controller).to.equal(
        'SERVICE_UNKNOWN',
      );
    });
  });
});
