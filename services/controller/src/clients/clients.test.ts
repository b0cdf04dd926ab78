import net from 'node:net';
import { status } from '@grpc/grpc-js';
import { controllerV1 } from '@agenstra/proto';
import {
  createLogger,
  formatSecretKeys,
  generateSecretKey,
  openDatabase,
  SecretBox,
} from '@agenstra/shared';
import { expect } from 'chai';
import {
  CONTROLLER_SCHEMA,
  controllerEntities,
  controllerMigrations,
} from '../migrations/index.js';
import {
  failureOf,
  ISSUER_CLIENTS,
  MANAGER_ID,
  startControllerStack,
  type ControllerStack,
} from '../testing/controller-stack.js';
import { CLIENT_API_KEY, CLIENT_OIDC_SECRET, Vault } from '../vault/vault.js';

describe('controller clients', () => {
  let stack: ControllerStack;
  let alice: string;
  let bob: string;
  let root: string;
  before(async () => {
    stack = await startControllerStack();
    [alice, bob, root] = await Promise.all(
      ['alice', 'bob', 'root'].map((who) => stack.tokenOf(who)),
    );
  });
  after(() => stack?.stop());

  const apiKeyClient = (endpoint: string, apiKey = '', displayName = 'Build server') =>
    controllerV1.Client.fromPartial({
      displayName,
      endpoint,
      auth: { $case: 'apiKey', value: { apiKey, apiKeyHint: '' } },
    });
  const create = (token: string, client: controllerV1.Client, clientId = '') =>
    stack.call(stack.clients, stack.clients.createClient, { client, clientId }, token);
  const get = (token: string, name: string) =>
    stack.call(stack.clients, stack.clients.getClient, { name }, token);
  const list = (token: string, pageSize = 0, pageToken = '') =>
    stack.call(stack.clients, stack.clients.listClients, { pageSize, pageToken }, token);
  const update = (token: string, client: controllerV1.Client, updateMask: string[]) =>
    stack.call(stack.clients, stack.clients.updateClient, { client, updateMask }, token);

  it('reaches the manager, records its id, and returns a generated API key once', async () => {
    const created = await create(alice, apiKeyClient(stack.managerEndpoint), 'build-server');
    expect(created.apiKey).to.match(/^[A-Za-z0-9_-]{43}$/);
    expect(created.client).to.include({
      name: 'clients/build-server',
      managerId: MANAGER_ID,
      state: controllerV1.ClientState.CLIENT_STATE_READY,
      creator: 'alice',
    });
    expect(created.client?.auth).to.deep.equal({
      $case: 'apiKey',
      value: { apiKey: '', apiKeyHint: created.apiKey.slice(-4) },
    });
    const read = JSON.stringify([await get(alice, 'clients/build-server'), await list(alice)]);
    expect(read).to.contain('build-server').and.not.contain(created.apiKey);
  });

  it('keeps no plaintext secret in the database: the vault holds sealed values with their key id', async () => {
    const apiKey = 'k'.repeat(20) + 'given-api-key-0123456789';
    await create(alice, apiKeyClient(stack.managerEndpoint, apiKey), 'given-key');
    const oidcSecret = ISSUER_CLIENTS[3].clientSecret;
    await create(
      alice,
      controllerV1.Client.fromPartial({
        displayName: 'OIDC manager',
        endpoint: stack.managerEndpoint,
        auth: {
          $case: 'oidc',
          value: {
            issuerUrl: stack.issuer.issuer,
            clientId: 'to-manager',
            clientSecret: oidcSecret,
            scope: 'api',
          },
        },
      }),
      'oidc-manager',
    );
    const everything = JSON.stringify([
      await stack.query('select * from controller.client'),
      await stack.query('select * from controller.vault_secret'),
    ]);
    expect(everything).to.not.contain(apiKey).and.not.contain(oidcSecret);
    const secrets = await stack.query<{
      client_id: string;
      name: string;
      key_id: string;
      sealed: string;
    }>(
      `select * from controller.vault_secret where client_id in ('given-key', 'oidc-manager') order by client_id`,
    );
    expect(secrets.map(({ client_id, name, key_id }) => [client_id, name, key_id])).to.deep.equal([
      ['given-key', CLIENT_API_KEY, stack.secretKey.id],
      ['oidc-manager', CLIENT_OIDC_SECRET, stack.secretKey.id],
    ]);
    for (const secret of secrets) expect(secret.sealed).to.match(/^sb1\./);
  });

  it('answers UNAVAILABLE naming the endpoint when the manager cannot be reached, and stores nothing', async () => {
    const closedPort = await freePort();
    const failure = await failureOf(
      create(alice, apiKeyClient(`127.0.0.1:${closedPort}`), 'unreachable'),
    );
    expect(failure.code).to.equal(status.UNAVAILABLE);
    expect(failure.details).to.contain(`127.0.0.1:${closedPort}`);
    expect(
      await stack.query(`select id from controller.client where id = 'unreachable'`),
    ).to.deep.equal([]);
    expect(
      await stack.query(`select name from controller.vault_secret where client_id = 'unreachable'`),
    ).to.deep.equal([]);
  });

  it('refuses an endpoint that is not host:port with INVALID_ARGUMENT', async () => {
    for (const endpoint of ['manager', 'http://manager:50052', 'manager:0', '[::1', 'a b:1']) {
      const failure = await failureOf(create(alice, apiKeyClient(endpoint)));
      expect(failure.code, endpoint).to.equal(status.INVALID_ARGUMENT);
      expect(failure.details, endpoint).to.contain('client.endpoint');
    }
  });

  it("hides another user's client: Get, Update, Delete and grants are NOT_FOUND and List leaves it out", async () => {
    await create(alice, apiKeyClient(stack.managerEndpoint, '', 'Alice only'), 'alice-only');
    for (const call of [
      get(bob, 'clients/alice-only'),
      update(bob, { ...apiKeyClient(''), name: 'clients/alice-only', displayName: 'mine' }, [
        'display_name',
      ]),
      stack.call(stack.clients, stack.clients.deleteClient, { name: 'clients/alice-only' }, bob),
      stack.call(
        stack.clients,
        stack.clients.listClientGrants,
        { name: 'clients/alice-only' },
        bob,
      ),
    ]) {
      const failure = await failureOf(call);
      expect(failure).to.deep.equal({
        code: status.NOT_FOUND,
        details: 'client clients/alice-only not found',
      });
    }
    expect((await list(bob)).clients.map((client) => client.name)).to.not.include(
      'clients/alice-only',
    );
  });

  it('shows admins every client', async () => {
    await create(bob, apiKeyClient(stack.managerEndpoint, '', 'Bob only'), 'bob-only');
    const names = (await list(root, 500)).clients.map((client) => client.name);
    expect(names).to.include.members(['clients/alice-only', 'clients/bob-only']);
    expect((await get(root, 'clients/bob-only')).client?.creator).to.equal('bob');
  });

  it('lets a granted user see a client but leaves changing it to its creator', async () => {
    await create(alice, apiKeyClient(stack.managerEndpoint, '', 'Shared'), 'shared');
    const granted = await stack.call(
      stack.clients,
      stack.clients.setClientGrants,
      { name: 'clients/shared', grants: [{ subject: 'bob', granter: '', grantTime: undefined }] },
      alice,
    );
    expect(granted.grants.map(({ subject, granter }) => ({ subject, granter }))).to.deep.equal([
      { subject: 'bob', granter: 'alice' },
    ]);
    expect((await get(bob, 'clients/shared')).client?.displayName).to.equal('Shared');
    expect((await list(bob)).clients.map((client) => client.name)).to.include('clients/shared');
    const failure = await failureOf(
      update(bob, { ...apiKeyClient(''), name: 'clients/shared', displayName: 'Taken' }, [
        'display_name',
      ]),
    );
    expect(failure.code).to.equal(status.PERMISSION_DENIED);

    await stack.call(
      stack.clients,
      stack.clients.setClientGrants,
      { name: 'clients/shared', grants: [] },
      alice,
    );
    expect((await failureOf(get(bob, 'clients/shared'))).code).to.equal(status.NOT_FOUND);
  });

  it('pages through the clients by display name, each client once', async () => {
    const carol = (
      await stack.call(
        stack.apiTokens,
        stack.apiTokens.createApiToken,
        { apiToken: controllerV1.ApiToken.fromPartial({ displayName: 'carol', subject: 'carol' }) },
        root,
      )
    ).token;
    for (const name of ['c', 'a', 'b']) {
      await create(carol, apiKeyClient(stack.managerEndpoint, '', `Page ${name}`), `page-${name}`);
    }
    const first = await list(carol, 2);
    expect(first.clients.map((client) => client.name)).to.deep.equal([
      'clients/page-a',
      'clients/page-b',
    ]);
    const second = await list(carol, 2, first.nextPageToken);
    expect(second.clients.map((client) => client.name)).to.deep.equal(['clients/page-c']);
    expect(second.nextPageToken).to.equal('');
  });

  it('updates only the fields in the update mask and refuses output-only paths', async () => {
    const created = await create(
      alice,
      apiKeyClient(stack.managerEndpoint, '', 'Before'),
      'renamed',
    );
    const updated = await update(
      alice,
      { ...apiKeyClient('ignored:1'), name: 'clients/renamed', displayName: 'After' },
      ['display_name'],
    );
    expect(updated.client).to.include({ displayName: 'After', endpoint: stack.managerEndpoint });
    expect(updated.client?.auth).to.deep.equal(created.client?.auth);
    expect((await get(alice, 'clients/renamed')).client?.displayName).to.equal('After');
    const failure = await failureOf(
      update(alice, { ...apiKeyClient(''), name: 'clients/renamed' }, ['manager_id']),
    );
    expect(failure.code).to.equal(status.INVALID_ARGUMENT);
    expect(failure.details).to.contain('manager_id');
  });

  it('regenerates an API key, returned once, and refuses the change of endpoint to an unreachable manager', async () => {
    const created = await create(alice, apiKeyClient(stack.managerEndpoint), 'regenerated');
    const regenerated = await stack.call(
      stack.clients,
      stack.clients.regenerateClientApiKey,
      { name: 'clients/regenerated' },
      alice,
    );
    expect(regenerated.apiKey)
      .to.match(/^[A-Za-z0-9_-]{43}$/)
      .and.not.equal(created.apiKey);
    expect(regenerated.client?.auth?.value).to.include({
      apiKeyHint: regenerated.apiKey.slice(-4),
    });
    expect(JSON.stringify(await get(alice, 'clients/regenerated'))).to.not.contain(
      regenerated.apiKey,
    );

    const closedPort = await freePort();
    const failure = await failureOf(
      update(alice, { ...apiKeyClient(`127.0.0.1:${closedPort}`), name: 'clients/regenerated' }, [
        'endpoint',
      ]),
    );
    expect(failure.code).to.equal(status.UNAVAILABLE);
    expect((await get(alice, 'clients/regenerated')).client?.endpoint).to.equal(
      stack.managerEndpoint,
    );
  });

  it('deletes a client with its secrets and grants', async () => {
    await create(alice, apiKeyClient(stack.managerEndpoint), 'deleted');
    await stack.call(stack.clients, stack.clients.deleteClient, { name: 'clients/deleted' }, alice);
    expect((await failureOf(get(alice, 'clients/deleted'))).code).to.equal(status.NOT_FOUND);
    expect(
      await stack.query(`select name from controller.vault_secret where client_id = 'deleted'`),
    ).to.deep.equal([]);
  });

  it('re-encrypts every vault secret under a new key with rotate-vault-key, and the values still open', async () => {
    const apiKey = 'rotation-api-key-0123456789-abcdefghijkl';
    await create(alice, apiKeyClient(stack.managerEndpoint, apiKey), 'rotated');
    const newKey = generateSecretKey('test-key-2');
    const result = stack.cli(['rotate-vault-key'], {
      CONTROLLER_SECRET_KEYS: formatSecretKeys([newKey, stack.secretKey]),
    });
    expect(result.status, result.stderr).to.equal(0);
    expect(result.stdout).to.match(/Re-encrypted \d+ secret\(s\) under key "test-key-2"/);

    const keyIds = await stack.query<{ key_id: string }>(
      'select distinct key_id from controller.vault_secret',
    );
    expect(keyIds).to.deep.equal([{ key_id: 'test-key-2' }]);
    const database = await openDatabase({
      url: stack.databaseUrl,
      schema: CONTROLLER_SCHEMA,
      entities: controllerEntities,
      migrations: controllerMigrations,
      logger: createLogger({ service: 'test', level: 'silent' }),
    });
    try {
      // Only the new key: nothing may still need the old one.
      const vault = new Vault(new SecretBox([newKey]));
      expect(await vault.reveal(database.fork(), 'rotated', CLIENT_API_KEY)).to.equal(apiKey);
      expect(await vault.reveal(database.fork(), 'oidc-manager', CLIENT_OIDC_SECRET)).to.equal(
        ISSUER_CLIENTS[3].clientSecret,
      );
    } finally {
      await database.close();
    }
  });
});

/** A loopback port nothing listens on. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
