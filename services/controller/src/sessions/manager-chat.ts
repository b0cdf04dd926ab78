import { Metadata, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
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
}

/**
 * Opens the ChatService of a client's manager: one channel per client connection, reused by
 * every session and feed of this process, closed with `close()`.
 */
export class ManagerChats {
  private readonly channels = new Map<string, managerV1.ChatServiceClient>();

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
    let chat = this.channels.get(key);
    if (!chat) {
      const { channelCredentials, options } = channelOf(settings);
      chat = new managerV1.ChatServiceClient(settings.endpoint, channelCredentials, options);
      this.channels.set(key, chat);
    }
    const service = chat;
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
    };
  }

  close(): void {
    for (const chat of this.channels.values()) chat.close();
    this.channels.clear();
  }
}
