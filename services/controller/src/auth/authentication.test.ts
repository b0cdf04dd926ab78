import { status } from '@grpc/grpc-js';
import { controllerV1 } from '@agenstra/proto';
import { checkHealth } from '@agenstra/shared/testing';
import { expect } from 'chai';
import { generateKeyPair, SignJWT } from 'jose';
import {
  AUDIENCE,
  failureOf,
  startControllerStack,
  type ControllerStack,
} from '../testing/controller-stack.js';

describe('controller authentication', () => {
  let stack: ControllerStack;
  before(async () => {
    stack = await startControllerStack();
  });
  after(() => stack?.stop());

  const listClients = (token?: string) =>
    stack.call(stack.clients, stack.clients.listClients, { pageSize: 0, pageToken: '' }, token);
  const createToken = (token: string, apiToken: Partial<controllerV1.ApiToken>) =>
    stack.call(
      stack.apiTokens,
      stack.apiTokens.createApiToken,
      { apiToken: controllerV1.ApiToken.fromPartial(apiToken) },
      token,
    );
  const claims = (overrides: Record<string, unknown> = {}) => ({
    sub: 'alice',
    iss: stack.issuer.issuer,
    aud: AUDIENCE,
    iat: Math.floor(Date.now() / 1000) - 600,
    exp: Math.floor(Date.now() / 1000) + 600,
    ...overrides,
  });

  it('accepts an access token from the OIDC issuer', async () => {
    const response = await listClients(await stack.tokenOf('alice'));
    expect(response.clients).to.deep.equal([]);
  });

  it('refuses a call without a credential with UNAUTHENTICATED, while health checks stay open', async () => {
    const failure = await failureOf(listClients());
    expect(failure.code).to.equal(status.UNAUTHENTICATED);
    expect(failure.details).to.contain('Bearer');
    expect(await checkHealth(`127.0.0.1:${stack.controller.port}`)).to.equal('SERVING');
  });

  it('refuses an expired token signed by the issuer', async () => {
    const expired = await stack.issuer.signWithIssuerKey(
      claims({
        iat: Math.floor(Date.now() / 1000) - 7200,
        exp: Math.floor(Date.now() / 1000) - 3600,
      }),
    );
    const failure = await failureOf(listClients(expired));
    expect(failure).to.deep.equal({
      code: status.UNAUTHENTICATED,
      details: 'the access token has expired',
    });
  });

  it('refuses a token signed by a key the issuer does not hold, even under its key id', async () => {
    // The control: the same claims signed by the issuer's key are accepted.
    await listClients(await stack.issuer.signWithIssuerKey(claims()));
    const { privateKey } = await generateKeyPair('RS256');
    const forged = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'RS256', kid: 'test-issuer-key' })
      .sign(privateKey);
    const failure = await failureOf(listClients(forged));
    expect(failure).to.deep.equal({
      code: status.UNAUTHENTICATED,
      details: 'the access token is not signed by the issuer',
    });
  });

  it('refuses a genuine token of the issuer that was made for another audience', async () => {
    const other = await stack.issuer.accessToken('alice', 'urn:another:service');
    const failure = await failureOf(listClients(other));
    expect(failure).to.deep.equal({
      code: status.UNAUTHENTICATED,
      details: 'the access token\'s "aud" claim is not accepted here',
    });
  });

  it('refuses a token naming another issuer', async () => {
    const failure = await failureOf(
      listClients(await stack.issuer.signWithIssuerKey(claims({ iss: 'https://elsewhere.test' }))),
    );
    expect(failure.code).to.equal(status.UNAUTHENTICATED);
    expect(failure.details).to.contain('"iss"');
  });

  it('authenticates an API token until it is revoked, then answers UNAUTHENTICATED', async () => {
    const alice = await stack.tokenOf('alice');
    const created = await createToken(alice, { displayName: 'ci pipeline' });
    expect(created.token).to.match(/^agt_[A-Za-z0-9_-]{43}$/);
    expect(created.apiToken).to.include({
      subject: 'alice',
      role: controllerV1.Role.ROLE_USER,
      tokenHint: created.token.slice(-4),
      creator: 'alice',
    });
    expect(await listClients(created.token)).to.have.property('nextPageToken', '');

    await stack.call(
      stack.apiTokens,
      stack.apiTokens.revokeApiToken,
      { name: created.apiToken!.name },
      alice,
    );
    const failure = await failureOf(listClients(created.token));
    expect(failure).to.deep.equal({
      code: status.UNAUTHENTICATED,
      details: 'the API token is unknown or revoked',
    });
  });

  it('stores only the hash of an API token and never lists the token itself', async () => {
    const alice = await stack.tokenOf('alice');
    const created = await createToken(alice, { displayName: 'hash check' });
    const rows = await stack.query('select * from controller.api_token');
    expect(JSON.stringify(rows)).to.not.contain(created.token.slice(4));
    const listed = await stack.call(
      stack.apiTokens,
      stack.apiTokens.listApiTokens,
      { pageSize: 0, pageToken: '' },
      alice,
    );
    expect(listed.apiTokens.map((token) => token.name)).to.include(created.apiToken!.name);
    expect(JSON.stringify(listed)).to.not.contain(created.token.slice(4));
  });

  it('lets a user create tokens only for themselves and never an admin token', async () => {
    const alice = await stack.tokenOf('alice');
    expect(
      (await failureOf(createToken(alice, { displayName: 'x', subject: 'bob' }))).code,
    ).to.equal(status.PERMISSION_DENIED);
    expect(
      (
        await failureOf(
          createToken(alice, { displayName: 'x', role: controllerV1.Role.ROLE_ADMIN }),
        )
      ).code,
    ).to.equal(status.PERMISSION_DENIED);
  });

  it("answers NOT_FOUND when a user revokes another user's token", async () => {
    const bobs = await createToken(await stack.tokenOf('bob'), { displayName: 'bobs' });
    const failure = await failureOf(
      stack.call(
        stack.apiTokens,
        stack.apiTokens.revokeApiToken,
        { name: bobs.apiToken!.name },
        await stack.tokenOf('alice'),
      ),
    );
    expect(failure.code).to.equal(status.NOT_FOUND);
    expect(await listClients(bobs.token)).to.have.property('clients');
  });

  it('creates a first admin token from the command line, printed once, that acts as an admin', async () => {
    const result = stack.cli(['create-admin-token', '--name', 'ops']);
    expect(result.status, result.stderr).to.equal(0);
    const token = result.stdout.trim();
    expect(token).to.match(/^agt_[A-Za-z0-9_-]{43}$/);
    expect(result.stderr).to.contain('shown once').and.not.contain(token);
    const adminToken = await createToken(token, {
      displayName: 'platform',
      subject: 'platform',
      role: controllerV1.Role.ROLE_ADMIN,
    });
    expect(adminToken.apiToken).to.include({
      subject: 'platform',
      role: controllerV1.Role.ROLE_ADMIN,
    });
  });

  it('refuses the command line without a token name', () => {
    const result = stack.cli(['create-admin-token']);
    expect(result.status).to.equal(2);
    expect(result.stderr).to.contain('--name');
    expect(result.stdout).to.equal('');
  });
});
