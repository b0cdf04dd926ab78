import { createHash } from 'node:crypto';
import { UnavailableError } from '@agenstra/shared';

export interface OidcClientCredentials {
  issuerUrl: string;
  realm: string;
  clientId: string;
  clientSecret: string;
  scope: string;
  audience: string;
}

/** Renew a cached token this long before it expires, so a call never leaves with a dying one. */
const REFRESH_MARGIN_MS = 60_000;
const ISSUER_TIMEOUT_MS = 10_000;

/** `{issuer_url}/realms/{realm}` with a realm (Keycloak), else the issuer URL itself. */
export function issuerOf(oidc: Pick<OidcClientCredentials, 'issuerUrl' | 'realm'>): string {
  const base = oidc.issuerUrl.replace(/\/+$/, '');
  return oidc.realm ? `${base}/realms/${encodeURIComponent(oidc.realm)}` : base;
}

/**
 * Access tokens for calling managers with OIDC client-credentials auth: fetched from the
 * issuer's token endpoint (found by discovery), cached per credential and renewed before expiry.
 */
export class ClientCredentialsTokens {
  private readonly cache = new Map<string, { token: string; renewAt: number }>();

  async tokenFor(oidc: OidcClientCredentials): Promise<string> {
    const key = createHash('sha256').update(JSON.stringify(oidc)).digest('hex');
    const cached = this.cache.get(key);
    if (cached && cached.renewAt > Date.now()) return cached.token;
    const { token, expiresInS } = await this.fetchToken(oidc);
    this.cache.set(key, {
      token,
      renewAt: Date.now() + Math.max(0, expiresInS * 1000 - REFRESH_MARGIN_MS),
    });
    return token;
  }

  private async fetchToken(
    oidc: OidcClientCredentials,
  ): Promise<{ token: string; expiresInS: number }> {
    const issuer = issuerOf(oidc);
    try {
      const discovery = await getJson(`${issuer}/.well-known/openid-configuration`);
      const tokenEndpoint = discovery.token_endpoint;
      if (typeof tokenEndpoint !== 'string') throw new Error('no token_endpoint in discovery');
      const body = new URLSearchParams({ grant_type: 'client_credentials' });
      if (oidc.scope) body.set('scope', oidc.scope);
      if (oidc.audience) body.set('audience', oidc.audience);
      const basic = Buffer.from(
        `${encodeURIComponent(oidc.clientId)}:${encodeURIComponent(oidc.clientSecret)}`,
      ).toString('base64');
      const response = await fetch(tokenEndpoint, {
        method: 'POST',
        headers: {
          authorization: `Basic ${basic}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body,
        signal: AbortSignal.timeout(ISSUER_TIMEOUT_MS),
      });
      const answer = (await response.json()) as Record<string, unknown>;
      if (!response.ok || typeof answer.access_token !== 'string') {
        // The issuer's error code (e.g. invalid_client) helps; its body never holds our secret.
        throw new Error(`token endpoint answered ${response.status} ${String(answer.error ?? '')}`);
      }
      const expiresIn = Number(answer.expires_in);
      return {
        token: answer.access_token,
        expiresInS: Number.isFinite(expiresIn) ? expiresIn : 60,
      };
    } catch (error) {
      throw new UnavailableError(
        `no client-credentials token from the OIDC issuer ${issuer}: ${(error as Error).message}`,
      );
    }
  }
}

async function getJson(url: string): Promise<Record<string, unknown>> {
  const response = await fetch(url, { signal: AbortSignal.timeout(ISSUER_TIMEOUT_MS) });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return (await response.json()) as Record<string, unknown>;
}
