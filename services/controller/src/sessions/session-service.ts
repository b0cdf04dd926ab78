import { controllerV1 } from '@agenstra/proto';
import type { AuthenticatedHandlers } from '../auth/authenticated.js';
import type { Sessions } from './sessions.js';

/** SessionService: thin handlers over the sessions capability. */
export function sessionService(
  sessions: Sessions,
  handlers: AuthenticatedHandlers,
): controllerV1.SessionServiceServer {
  return {
    openSession: handlers.serverStream<
      controllerV1.OpenSessionRequest,
      controllerV1.OpenSessionResponse
    >(async function* (request, caller, call) {
      const { events, stop } = await sessions.open(
        caller,
        request.client,
        request.resumeToken,
        request.cursors,
      );
      call.on('cancelled', stop);
      try {
        yield* events;
      } finally {
        stop();
      }
    }),
    login: handlers.unary(async (request: controllerV1.LoginRequest, caller) => {
      await sessions.login(caller, request);
      return {};
    }),
    logout: handlers.unary(async (request: controllerV1.LogoutRequest, caller) => {
      await sessions.logout(caller, request);
      return {};
    }),
    sendChat: handlers.unary(async (request: controllerV1.SendChatRequest, caller) => ({
      sequence: await sessions.sendChat(caller, request),
    })),
    listSessionAgents: handlers.unary(
      async (request: controllerV1.ListSessionAgentsRequest, caller) => ({
        agents: await sessions.listAgents(caller, request.session),
      }),
    ),
  };
}
