import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import Provider from 'oidc-provider';

/** A client of the test issuer that gets access tokens with the client-credentials grant. */
export interface IssuerClient {
  clientId: string;
  clientSecret: string;
  /** Put into the tokens' `roles` claim. */
  roles: string[];
}

export interface OidcIssuer {
  issuer: string;
  /** An access token (a JWT for `audience`) for the client, from the issuer's token endpoint. */
  accessToken(clientId: string, audience?: string): Promise<string>;
  /** A JWT signed with the issuer's own key, with any claims (e.g. an expired `exp`). */
  signWithIssuerKey(claims: JWTPayload): Promise<string>;
  close(): Promise<void>;
}

const KEY_ID = 'test-issuer-key';

/**
 * A real OIDC issuer (the oidc-provider package) on a free loopback port, issuing JWT access
 * tokens through the client-credentials grant. The audience is the requested resource
 * indicator, so a test can get a genuine token for another audience.
 */
export async function startOidcIssuer(
  clients: IssuerClient[],
  defaultAudience: string,
): Promise<OidcIssuer> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const privateJwk = { ...(await exportJWK(privateKey)), kid: KEY_ID, alg: 'RS256', use: 'sig' };
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const rolesOf = new Map(clients.map((client) => [client.clientId, client.roles]));

  const provider = new Provider(issuer, {
    clients: clients.map((client) => ({
      client_id: client.clientId,
      client_secret: client.clientSecret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    jwks: { keys: [privateJwk] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => defaultAudience,
        getResourceServerInfo: (_context: unknown, resource: string) => ({
          audience: resource,
          scope: 'api',
          accessTokenFormat: 'jwt',
          accessTokenTTL: 300,
        }),
      },
    },
    extraTokenClaims: (_context: unknown, token: { clientId?: string }) => ({
      roles: rolesOf.get(token.clientId ?? '') ?? [],
    }),
  });
  server.on('request', provider.callback());

  return {
    issuer,
    async accessToken(clientId, audience = defaultAudience) {
      const client = clients.find((candidate) => candidate.clientId === clientId);
      if (!client) throw new Error(`no issuer client ${clientId}`);
      const response = await fetch(`${issuer}/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${clientId}:${client.clientSecret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          resource: audience,
          scope: 'api',
        }),
      });
      const body = (await response.json()) as { access_token?: string };
      if (!response.ok || !body.access_token) {
        throw new Error(`the issuer refused a token: ${JSON.stringify(body)}`);
      }
      return body.access_token;
    },
    signWithIssuerKey(claims) {
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: KEY_ID, typ: 'at+jwt' })
        .sign(privateKey);
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
