import { controllerV1, PROTO_ROOT, protoFilesOf } from '@agenstra/proto';
import { loadOrCreateInstanceId, runService } from '@agenstra/shared';
import { AuthenticatedHandlers } from './auth/authenticated.js';
import { Authenticator } from './auth/authenticator.js';
import { OidcVerifier } from './auth/oidc-verifier.js';
import { clientService } from './clients/client-service.js';
import { Clients } from './clients/clients.js';
import { ClientCredentialsTokens } from './clients/manager-credentials.js';
import { controllerConfigSchema, loadControllerConfig } from './config.js';
import { ControllerInstance } from './identity/controller-instance.entity.js';
import { CONTROLLER_SCHEMA, controllerEntities, controllerMigrations } from './migrations/index.js';
import { apiTokenService } from './tokens/api-token-service.js';
import { ApiTokens } from './tokens/api-tokens.js';
import { ManagerChats } from './sessions/manager-chat.js';
import { sessionService } from './sessions/session-service.js';
import { Sessions } from './sessions/sessions.js';
import { openVault } from './vault/open-vault.js';
import { agentProxyService } from './proxy/agent-proxy.js';
import { fileProxyService } from './proxy/file-proxy.js';
import { ManagerChannels } from './proxy/manager-channels.js';
import { ManagerProxy } from './proxy/manager-proxy.js';
import { vcsProxyService } from './proxy/vcs-proxy.js';

async function main(): Promise<void> {
  const config = loadControllerConfig();
  await runService({
    service: 'controller',
    configSchema: controllerConfigSchema,
    config,
    database: {
      schema: CONTROLLER_SCHEMA,
      entities: controllerEntities,
      migrations: controllerMigrations,
    },
    proto: { files: protoFilesOf('agenstra.controller.v1'), includeDirs: [PROTO_ROOT] },
    prepare: async ({ logger, database, server, nats, shutdown }) => {
      const { id: controllerId, created } = await loadOrCreateInstanceId(
        database.fork(),
        ControllerInstance,
      );
      logger.info({ controllerId, created }, 'controller identity');

      const vault = openVault(config, logger);
      const apiTokens = new ApiTokens();
      const oidc = config.oidcIssuer
        ? new OidcVerifier({
            issuer: config.oidcIssuer,
            audience: config.oidcAudience,
            rolesClaim: config.oidcRolesClaim,
            adminRole: config.oidcAdminRole,
          })
        : undefined;
      if (!oidc) logger.warn('OIDC_ISSUER is not set: only API tokens authenticate');
      // Every business service takes its handlers from here, so every RPC is authenticated.
      const handlers = new AuthenticatedHandlers(
        new Authenticator(database, apiTokens, oidc),
        logger,
      );
      const managerTokens = new ClientCredentialsTokens();
      const clients = new Clients({
        vault,
        tokens: managerTokens,
        allowPlaintextManagers: config.allowPlaintextManagers,
        managerContactTimeoutMs: config.managerContactTimeoutMs,
      });
      server.addService(
        controllerV1.ApiTokenServiceService,
        apiTokenService(database, apiTokens, handlers),
      );
      server.addService(
        controllerV1.ClientServiceService,
        clientService(database, clients, handlers),
      );
      const managerChannels = new ManagerChannels();
      shutdown.register('manager channels', async () => managerChannels.close());
      const proxy = new ManagerProxy({
        database,
        clients,
        tokens: managerTokens,
        channels: managerChannels,
        handlers,
      });
      server.addService(
        controllerV1.AgentServiceService,
        agentProxyService(database, proxy, vault, handlers),
      );
      server.addService(controllerV1.FileServiceService, fileProxyService(proxy));
      server.addService(controllerV1.VcsServiceService, vcsProxyService(proxy));
      const sessions = new Sessions({
        database,
        nats,
        clients,
        vault,
        chats: new ManagerChats(clients, managerTokens),
        logger,
        heartbeatIntervalMs: config.sessionHeartbeatIntervalMs,
      });
      server.addService(controllerV1.SessionServiceService, sessionService(sessions, handlers));
      // Open session streams end at drain so their tabs resume on another process.
      server.onDrain(() => sessions.drain());
      shutdown.register('sessions', async () => sessions.close());
      // Provisioning is added here by its issue; until then its methods answer UNIMPLEMENTED.
      return { controllerId, vaultKeyId: vault.currentKeyId, oidcIssuer: config.oidcIssuer };
    },
  });
}

void main();
