/** What a caller may do; see `agenstra.controller.v1.Role`. */
export type Role = 'admin' | 'user';

/** The authenticated caller of an RPC. */
export interface Principal {
  /** OIDC `sub`, or the subject an API token acts as. */
  subject: string;
  role: Role;
  /** How the caller authenticated; `apiTokenId` is set for API tokens. */
  method: 'oidc' | 'api_token';
  apiTokenId?: string;
}

export const isAdmin = (principal: Principal): boolean => principal.role === 'admin';
