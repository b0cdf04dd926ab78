import { expect } from 'chai';
import { pingDocker } from './docker-ping.js';

describe('Docker Engine check', () => {
  it('reports the local Docker Engine as answering', async () => {
    expect(await pingDocker(process.env.DOCKER_HOST)).to.include({ ok: true });
  });

  it('reports a socket nobody listens on as unavailable, with the reason', async () => {
    const ping = await pingDocker('unix:///nonexistent/docker.sock');
    expect(ping.ok).to.equal(false);
    expect(ping).to.have.property('reason').that.contains('ENOENT');
  });
});
