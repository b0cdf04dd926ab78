import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

import { DEFAULT_WEB_ROOT } from '../config';
import type { RunningGateway } from '../server';
import {
  startHealthServer,
  startTestGateway,
  type TestHealthServer,
} from '../testing/test-gateway';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

describe('the built console served by the gateway, in headless Chromium', function () {
  let controller: TestHealthServer;
  let gateway: RunningGateway;
  let userDataDir: string;
  let browser: BrowserContext;
  let page: Page;
  const consoleErrors: string[] = [];

  before(async function () {
    if (!existsSync(path.join(DEFAULT_WEB_ROOT, 'index.html'))) {
      console.log(
        `    skipped: the console is not built (${DEFAULT_WEB_ROOT} has no index.html); ` +
          'run `npm run build -w web` first',
      );
      this.skip();
    }
    controller = await startHealthServer('SERVING');
    gateway = await startTestGateway({
      webRoot: DEFAULT_WEB_ROOT,
      controllerAddress: controller.address,
    });
    userDataDir = await mkdtemp(path.join(os.tmpdir(), 'agenstra-chromium-'));
    browser = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
      headless: true,
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));
  });

  after(async () => {
    await browser?.close();
    await gateway?.close();
    await controller?.stop();
    if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
  });

  it('renders the shell on a deep link: toolbar, navigation and the page for that route', async () => {
    await page.goto(`${gateway.url}/agents`);
    await page.getByRole('heading', { name: 'Agents' }).waitFor();

    expect(await page.locator('mat-toolbar').innerText()).to.contain('Agenstra');
    const nav = page.locator('mat-nav-list');
    for (const label of ['Clients', 'Agents', 'Provisioning']) {
      expect(await nav.getByRole('link', { name: label }).count()).to.equal(1);
    }
    expect(await page.title()).to.equal('Agents · Agenstra');
  });

  it('shows the gateway and the controller as SERVING from /healthz', async () => {
    const toolbar = page.locator('mat-toolbar');
    await toolbar.getByText('SERVING').nth(1).waitFor();
    const text = await toolbar.innerText();
    expect(text).to.match(/Gateway\s+SERVING/);
    expect(text).to.match(/Controller\s+SERVING/);
  });

  it('navigates between pages without reloading', async () => {
    await page.getByRole('link', { name: 'Provisioning' }).click();
    await page.getByRole('heading', { name: 'Provisioning' }).waitFor();
    expect(new URL(page.url()).pathname).to.equal('/provisioning');
  });

  it('logs no errors to the browser console', () => {
    expect(consoleErrors).to.deep.equal([]);
  });
});
