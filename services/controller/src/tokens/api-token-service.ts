import { controllerV1 } from '@agenstra/proto';
import { InvalidArgumentError, type Database } from '@agenstra/shared';
import type { AuthenticatedHandlers } from '../auth/authenticated.js';
import type { Role } from '../auth/principal.js';
import { pageOf } from '../pagination.js';
import type { ApiToken } from './api-token.entity.js';
import { ApiTokens } from './api-tokens.js';

const NAME_PATTERN = /^apiTokens\/([0-9a-f-]{36})$/;

/** ApiTokenService: validate, call ApiTokens, map to the proto. */
export function apiTokenService(
  database: Database,
  apiTokens: ApiTokens,
  handlers: AuthenticatedHandlers,
): controllerV1.ApiTokenServiceServer {
  return {
    createApiToken: handlers.unary(async (request: controllerV1.CreateApiTokenRequest, caller) => {
      const requested = request.apiToken;
      if (!requested) throw new InvalidArgumentError('api_token is required');
      const displayName = requested.displayName.trim();
      if (displayName.length < 1 || displayName.length > 63) {
        throw new InvalidArgumentError('api_token.display_name must be 1 to 63 characters');
      }
      const subject = requested.subject || caller.subject;
      if (subject.length > 255) {
        throw new InvalidArgumentError('api_token.subject must be at most 255 characters');
      }
      const role = roleFromProto(requested.role);
      ApiTokens.assertMayCreate(caller, { subject, role });
      const { apiToken, token } = await apiTokens.create(database.fork(), {
        displayName,
        subject,
        role,
        creator: caller.subject,
      });
      return { apiToken: toProto(apiToken), token };
    }),

    listApiTokens: handlers.unary(async (request: controllerV1.ListApiTokensRequest, caller) => {
      const page = await apiTokens.list(database.fork(), caller, pageOf(request));
      return { apiTokens: page.apiTokens.map(toProto), nextPageToken: page.nextPageToken };
    }),

    revokeApiToken: handlers.unary(async (request: controllerV1.RevokeApiTokenRequest, caller) => {
      const id = NAME_PATTERN.exec(request.name)?.[1];
      if (!id) throw new InvalidArgumentError('name must be apiTokens/{uuid}');
      return { apiToken: toProto(await apiTokens.revoke(database.fork(), caller, id)) };
    }),
  };
}

function roleFromProto(role: controllerV1.Role): Role {
  switch (role) {
    case controllerV1.Role.ROLE_UNSPECIFIED:
    case controllerV1.Role.ROLE_USER:
      return 'user';
    case controllerV1.Role.ROLE_ADMIN:
      return 'admin';
    default:
      throw new InvalidArgumentError(`api_token.role ${String(role)} is not a known role`);
  }
}

function toProto(apiToken: ApiToken): controllerV1.ApiToken {
  return {
    name: `apiTokens/${apiToken.id}`,
    displayName: apiToken.displayName,
    subject: apiToken.subject,
    role: apiToken.role === 'admin' ? controllerV1.Role.ROLE_ADMIN : controllerV1.Role.ROLE_USER,
    tokenHint: apiToken.tokenHint,
    creator: apiToken.creator,
    createTime: apiToken.createTime.toISOString(),
    revokeTime: apiToken.revokeTime?.toISOString(),
    lastUseTime: apiToken.lastUseTime?.toISOString(),
  };
}
