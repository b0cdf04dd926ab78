import { Metadata, status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { managerV1 } from '@agenstra/proto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Client } from '../clients/client.entity.js';
import type { Clients } from '../clients/clients.js';
import { channelOf } from '../clients/manager-contact.js';
import type { ClientCredentialsTokens } from '../clients/manager-credentials.js';

/** A client's manager ChatService with the client's credential on every call. */
export interface ManagerChatCalls {
  login(agentId: string, password: string): Promise<managerV1.LoginResponse>;
  logout(agentId: string, sessionToken: string): Promise<void>;
  sendMessage(
    request: Omit<managerV1.SendMessageRequest, 'agent'> & { agentId: string },
  ): Promise<managerV1.SendMessageResponse>;
  listMessages(
    agentId: string,
    sessionToken: string,
    afterSequence: string,
    pageToken: string,
  ): Promise<managerV1.ListMessagesResponse>;
  watchAgent(
    agentId: string,
    sessionToken: string,
    afterSequence: string,
  ): ClientReadableStream<managerV1.WatchAgentResponse>;
  /** False once the manager answers NOT_FOUND for the agent (deleted); other failures throw. */
  agentExists(agentId: string): Promise<boolean>;
}

/**
 * Opens the ChatService of a client's manager: one channel per client connection, reused by
 * every session and feed of this process, closed with `close()`.
 */
export class ManagerChats {
  private readonly channels = new Map<
    string,
    { chat: managerV1.ChatServiceClient; agents: managerV1.AgentServiceClient }
  >();

  constructor(
    private readonly clients: Clients,
    private readonly tokens: ClientCredentialsTokens,
  ) {}

  async of(em: EntityManager, client: Client): Promise<ManagerChatCalls> {
    const settings = await this.clients.settingsOf(em, client);
    const bearer =
      settings.auth.kind === 'api_key'
        ? settings.auth.apiKey
        : await this.tokens.tokenFor(settings.auth);
    const key = JSON.stringify([client.id, settings.endpoint, settings.tls]);
    let clients = this.channels.get(key);
    if (!clients) {
      const { channelCredentials, options } = channelOf(settings);
      clients = {
        chat: new managerV1.ChatServiceClient(settings.endpoint, channelCredentials, options),
        agents: new managerV1.AgentServiceClient(settings.endpoint, channelCredentials, options),
      };
      this.channels.set(key, clients);
    }
    const { chat: service, agents } = clients;
    const metadata = () => {
      const result = new Metadata();
      result.set('authorization', `Bearer ${bearer}`);
      return result;
    };
    const call = <Res>(invoke: (done: (error: ServiceError | null, res: Res) => void) => void) =>
      new Promise<Res>((resolve, reject) =>
        invoke((error, response) => (error ? reject(error) : resolve(response))),
      );
    return {
      login: (agentId, password) =>
        call((done) => service.login({ agent: `agents/${agentId}`, password }, metadata(), done)),
      logout: async (agentId, sessionToken) => {
        await call((done) =>
          service.logout({ agent: `agents/${agentId}`, sessionToken }, metadata(), done),
        );
      },
      sendMessage: ({ agentId, ...rest }) =>
        call((done) =>
          service.sendMessage({ agent: `agents/${agentId}`, ...rest }, metadata(), done),
        ),
      listMessages: (agentId, sessionToken, afterSequence, pageToken) =>
        call((done) =>
          service.listMessages(
            { agent: `agents/${agentId}`, sessionToken, afterSequence, pageSize: 1000, pageToken },
            metadata(),
            done,
          ),
        ),
      watchAgent: (agentId, sessionToken, afterSequence) =>
        service.watchAgent(
          { agent: `agents/${agentId}`, sessionToken, afterSequence, includeDeltas: true },
          metadata(),
        ),
      agentExists: (agentId) =>
        call((done) => agents.getAgent({ name: `agents/${agentId}` }, metadata(), done)).then(
          () => true,
          (error: ServiceError) => {
            if (error.code === status.NOT_FOUND) return false;
            throw error;
          },
        ),
    };
  }

  close(): void {
    for (const { chat, agents } of this.channels.values()) {
      chat.close();
      agents.close();
    }
    this.channels.clear();
  }
}
