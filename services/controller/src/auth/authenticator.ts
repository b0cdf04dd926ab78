import type { Metadata } from '@grpc/grpc-js';
import { UnauthenticatedError, type Database } from '@agenstra/shared';
import { API_TOKEN_PREFIX, type ApiTokens } from '../tokens/api-tokens.js';
import { TokenRejectedError, type OidcVerifier } from './oidc-verifier.js';
import type { Principal } from './principal.js';

/**
 * Turns the `authorization: Bearer …` metadata of a call into the caller: an API token
 * (`agt_…`, looked up by hash) or an OIDC access token (verified against the issuer).
 * Anything else is UNAUTHENTICATED with a message that says what to send.
 */
export class Authenticator {
  constructor(
    private readonly database: Database,
    private readonly apiTokens: ApiTokens,
    private readonly oidc: OidcVerifier | undefined,
  ) {}

  async authenticate(metadata: Metadata): Promise<Principal> {
    const token = bearerTokenOf(metadata);
    if (token.startsWith(API_TOKEN_PREFIX)) {
      const principal = await this.apiTokens.authenticate(this.database.fork(), token);
      if (!principal) throw new UnauthenticatedError('the API token is unknown or revoked');
      return principal;
    }
    if (!this.oidc) {
      throw new UnauthenticatedError(
        'OIDC access tokens are not accepted: no OIDC issuer is configured; use an API token',
      );
    }
    try {
      return await this.oidc.verify(token);
    } catch (error) {
      if (error instanceof TokenRejectedError) throw new UnauthenticatedError(error.message);
      throw error;
    }
  }
}

function bearerTokenOf(metadata: Metadata): string {
  const values = metadata.get('authorization');
  if (values.length === 0) {
    throw new UnauthenticatedError(
      'missing credential: send `authorization: Bearer <OIDC access token or API token>`',
    );
  }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(String(values[0]));
  if (values.length > 1 || !match) {
    throw new UnauthenticatedError('the authorization metadata must be one `Bearer <token>`');
  }
  return match[1];
}
