import { expect } from 'chai';
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import type { RunningGateway } from '../server';
import { rawGet, startTestGateway } from '../testing/test-gateway';

const INDEX_HTML = '<!doctype html><html><body><ag-root></ag-root></body></html>';
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

describe('gateway static hosting of the console', () => {
  let sandbox: string;
  let webRoot: string;
  let gateway: RunningGateway;

  before(async () => {
    sandbox = await mkdtemp(path.join(os.tmpdir(), 'agenstra-gateway-static-'));
    webRoot = path.join(sandbox, 'browser');
    await mkdir(path.join(webRoot, 'media'), { recursive: true });
    await writeFile(path.join(webRoot, 'index.html'), INDEX_HTML);
    await writeFile(path.join(webRoot, 'main-ANE7ZFR3.js'), 'console.log("console");');
    await writeFile(path.join(webRoot, 'styles-ZTNX6SYC.css'), 'body{margin:0}');
    await writeFile(path.join(webRoot, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    await writeFile(path.join(sandbox, 'secret.txt'), 'outside the web root');
    await symlink(path.join(sandbox, 'secret.txt'), path.join(webRoot, 'media', 'leak.txt'));
    gateway = await startTestGateway({ webRoot });
  });

  after(async () => {
    await gateway.close();
    await rm(sandbox, { recursive: true, force: true });
  });

  it('serves index.html at / with no-cache so a new build is picked up at once', async () => {
    const response = await fetch(`${gateway.url}/`, { headers: { accept: BROWSER_ACCEPT } });
    expect(response.status).to.equal(200);
    expect(response.headers.get('content-type')).to.equal('text/html; charset=utf-8');
    expect(response.headers.get('cache-control')).to.equal('no-cache');
    expect(await response.text()).to.equal(INDEX_HTML);
  });

  it('serves hashed bundles as immutable for a year with their content type', async () => {
    const script = await fetch(`${gateway.url}/main-ANE7ZFR3.js`);
    expect(script.status).to.equal(200);
    expect(script.headers.get('content-type')).to.equal('text/javascript; charset=utf-8');
    expect(script.headers.get('cache-control')).to.equal('public, max-age=31536000, immutable');
    expect(await script.text()).to.equal('console.log("console");');

    const styles = await fetch(`${gateway.url}/styles-ZTNX6SYC.css`);
    expect(styles.headers.get('content-type')).to.equal('text/css; charset=utf-8');
    expect(styles.headers.get('cache-control')).to.equal('public, max-age=31536000, immutable');
  });

  it('revalidates files without a content hash in their name', async () => {
    const icon = await fetch(`${gateway.url}/favicon.svg`);
    expect(icon.status).to.equal(200);
    expect(icon.headers.get('content-type')).to.equal('image/svg+xml');
    expect(icon.headers.get('cache-control')).to.equal('no-cache');
  });

  it('falls back to index.html for unknown console routes requested by a browser', async () => {
    const response = await fetch(`${gateway.url}/clients/42/agents`, {
      headers: { accept: BROWSER_ACCEPT },
    });
    expect(response.status).to.equal(200);
    expect(response.headers.get('cache-control')).to.equal('no-cache');
    expect(await response.text()).to.equal(INDEX_HTML);
  });

  it('answers 404 instead of index.html for unknown routes not asking for HTML', async () => {
    const response = await fetch(`${gateway.url}/clients/42`, {
      headers: { accept: 'application/json' },
    });
    expect(response.status).to.equal(404);
  });

  it('answers 404 for a missing file even when a browser asks for it', async () => {
    const response = await fetch(`${gateway.url}/chunk-MISSING1.js`, {
      headers: { accept: BROWSER_ACCEPT },
    });
    expect(response.status).to.equal(404);
  });

  it('answers 304 to a conditional request whose ETag still matches', async () => {
    const first = await fetch(`${gateway.url}/main-ANE7ZFR3.js`);
    const etag = first.headers.get('etag');
    expect(etag).to.be.a('string').and.not.equal('');
    const second = await fetch(`${gateway.url}/main-ANE7ZFR3.js`, {
      headers: { 'if-none-match': etag! },
    });
    expect(second.status).to.equal(304);
    expect(await second.text()).to.equal('');
    const stale = await fetch(`${gateway.url}/main-ANE7ZFR3.js`, {
      headers: { 'if-none-match': '"stale"' },
    });
    expect(stale.status).to.equal(200);
  });

  it('answers HEAD with the headers of GET and no body', async () => {
    const response = await fetch(`${gateway.url}/main-ANE7ZFR3.js`, { method: 'HEAD' });
    expect(response.status).to.equal(200);
    expect(response.headers.get('content-length')).to.equal(
      String(Buffer.byteLength('console.log("console");')),
    );
    expect(await response.text()).to.equal('');
  });

  for (const attempt of [
    '/../secret.txt',
    '/..%2fsecret.txt',
    '/%2e%2e/secret.txt',
    '/media/..%2F..%2Fsecret.txt',
    '/..%5csecret.txt',
    '/index.html%00.js',
  ]) {
    it(`refuses a path that leaves the web root: ${attempt}`, async () => {
      const response = await rawGet(gateway.url, attempt, { accept: '*/*' });
      expect(response.status).to.equal(404);
      expect(response.body).not.to.contain('outside the web root');
    });
  }

  it('refuses a symlink inside the web root that points outside it', async () => {
    const response = await rawGet(gateway.url, '/media/leak.txt');
    expect(response.status).to.equal(404);
    expect(response.body).not.to.contain('outside the web root');
  });

  it('refuses methods other than GET and HEAD on static paths', async () => {
    const response = await fetch(`${gateway.url}/index.html`, { method: 'DELETE' });
    expect(response.status).to.equal(405);
    expect(response.headers.get('allow')).to.equal('GET, HEAD');
  });
});

describe('gateway without a built console', () => {
  let emptyRoot: string;
  let gateway: RunningGateway;

  before(async () => {
    emptyRoot = await mkdtemp(path.join(os.tmpdir(), 'agenstra-gateway-empty-'));
    gateway = await startTestGateway({ webRoot: emptyRoot });
  });

  after(async () => {
    await gateway.close();
    await rm(emptyRoot, { recursive: true, force: true });
  });

  it('answers 503 with a page that says how to build the console', async () => {
    const response = await fetch(`${gateway.url}/`, { headers: { accept: BROWSER_ACCEPT } });
    expect(response.status).to.equal(503);
    expect(response.headers.get('content-type')).to.equal('text/html; charset=utf-8');
    const page = await response.text();
    expect(page).to.contain('has not been built');
    expect(page).to.contain('npm run build -w web');
    expect(page).to.contain(emptyRoot);
  });

  it('still serves its own endpoints', async () => {
    const response = await fetch(`${gateway.url}/config.json`);
    expect(response.status).to.equal(200);
  });
});
