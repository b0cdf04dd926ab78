import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { Principal } from './principal.js';

export interface OidcSettings {
  /** Exactly the `iss` tokens carry, e.g. `https://sso.example.com/realms/agenstra`. */
  issuer: string;
  audience: string;
  /** Dotted path of the roles claim, e.g. `roles` or `realm_access.roles`. */
  rolesClaim: string;
  adminRole: string;
}

/** Why a token was refused, worded for the caller (never including the token). */
export class TokenRejectedError extends Error {
  override name = 'TokenRejectedError';
}

/** Seconds of clock difference tolerated between the issuer and the controller. */
const CLOCK_TOLERANCE_S = 30;

/**
 * Verifies OIDC access tokens (JWTs) against the issuer's published keys: signature, issuer,
 * audience and expiry. The key set is found through the issuer's discovery document and cached
 * by jose, which refetches it when a token names a key it does not know (key rotation).
 */
export class OidcVerifier {
  private keySet: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;

  constructor(private readonly settings: OidcSettings) {}

  async verify(token: string): Promise<Principal> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, await this.keys(), {
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        clockTolerance: CLOCK_TOLERANCE_S,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (error) {
      throw new TokenRejectedError(describeJoseError(error));
    }
    return {
      subject: payload.sub!,
      role: rolesOf(payload, this.settings.rolesClaim).includes(this.settings.adminRole)
        ? 'admin'
        : 'user',
      method: 'oidc',
    };
  }

  private keys(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    this.keySet ??= discoverKeySet(this.settings.issuer).catch((error: unknown) => {
      // Try discovery again on the next call: the issuer may just have been down.
      this.keySet = undefined;
      throw error;
    });
    return this.keySet;
  }
}

async function discoverKeySet(issuer: string): Promise<ReturnType<typeof createRemoteJWKSet>> {
  const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  let document: { issuer?: string; jwks_uri?: string };
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
    if (!response.ok) throw new Error(`answered ${response.status}`);
    document = (await response.json()) as typeof document;
  } catch (error) {
    throw new TokenRejectedError(
      `the OIDC issuer's discovery document ${url} cannot be read: ${(error as Error).message}`,
    );
  }
  if (document.issuer !== issuer || !document.jwks_uri) {
    throw new TokenRejectedError(
      `the OIDC discovery document at ${url} names issuer ${JSON.stringify(document.issuer)}, ` +
        `expected ${JSON.stringify(issuer)}, or has no jwks_uri`,
    );
  }
  return createRemoteJWKSet(new URL(document.jwks_uri));
}

function rolesOf(payload: JWTPayload, claimPath: string): string[] {
  const value = claimPath
    .split('.')
    .reduce<unknown>(
      (node, key) =>
        node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined,
      payload,
    );
  if (Array.isArray(value)) return value.filter((role): role is string => typeof role === 'string');
  return typeof value === 'string' ? value.split(' ') : [];
}

function describeJoseError(error: unknown): string {
  if (error instanceof TokenRejectedError) return error.message;
  if (error instanceof joseErrors.JWTExpired) return 'the access token has expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    return `the access token's "${error.claim}" claim is not accepted here`;
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
    return 'the access token is not signed by the issuer';
  }
  if (error instanceof joseErrors.JWKSNoMatchingKey) {
    return 'the access token is signed with a key the issuer does not publish';
  }
  return 'the access token is not a valid JWT from the issuer';
}
