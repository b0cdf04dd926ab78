import {
  ChannelCredentials,
  credentials,
  Metadata,
  status,
  type ChannelOptions,
  type ServiceError,
} from '@grpc/grpc-js';
import { managerV1 } from '@agenstra/proto';
import { FailedPreconditionError, UnavailableError } from '@agenstra/shared';

export interface ManagerConnection {
  endpoint: string;
  tls: { enabled: boolean; caBundlePem: string; serverName: string };
}

/** The channel credentials and options for a client's manager connection. */
export function channelOf(connection: ManagerConnection): {
  channelCredentials: ChannelCredentials;
  options: ChannelOptions;
} {
  if (!connection.tls.enabled) {
    return { channelCredentials: credentials.createInsecure(), options: {} };
  }
  const ca = connection.tls.caBundlePem ? Buffer.from(connection.tls.caBundlePem, 'utf8') : null;
  const options: ChannelOptions = connection.tls.serverName
    ? {
        'grpc.ssl_target_name_override': connection.tls.serverName,
        'grpc.default_authority': connection.tls.serverName,
      }
    : {};
  return { channelCredentials: credentials.createSsl(ca), options };
}

/**
 * Calls the manager's GetManager with the client's credential, to prove the controller can use
 * the client before it is stored. Failures name the endpoint and say what to fix.
 */
export async function contactManager(
  connection: ManagerConnection,
  bearerToken: string,
  timeoutMs: number,
): Promise<managerV1.Manager> {
  const { channelCredentials, options } = channelOf(connection);
  const client = new managerV1.ManagerServiceClient(
    connection.endpoint,
    channelCredentials,
    options,
  );
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${bearerToken}`);
  try {
    const response = await new Promise<managerV1.GetManagerResponse>((resolve, reject) =>
      client.getManager({}, metadata, { deadline: Date.now() + timeoutMs }, (error, answer) =>
        error ? reject(error) : resolve(answer),
      ),
    );
    if (!response.manager?.managerId) {
      throw new FailedPreconditionError(
        `the manager at ${connection.endpoint} did not report its manager id`,
      );
    }
    return response.manager;
  } catch (error) {
    throw describeContactError(connection.endpoint, error);
  } finally {
    client.close();
  }
}

function describeContactError(endpoint: string, error: unknown): Error {
  const serviceError = error as Partial<ServiceError>;
  if (typeof serviceError.code !== 'number') return error as Error;
  switch (serviceError.code) {
    case status.UNAUTHENTICATED:
    case status.PERMISSION_DENIED:
      return new FailedPreconditionError(
        `the manager at ${endpoint} refused the client's credential: ${serviceError.details}`,
      );
    case status.UNIMPLEMENTED:
      return new FailedPreconditionError(
        `${endpoint} does not answer agenstra.manager.v1.ManagerService/GetManager: ` +
          'it is not an Agenstra manager, or too old a one',
      );
    default:
      return new UnavailableError(
        `the manager at ${endpoint} is unreachable: ${serviceError.details || 'no answer'}`,
      );
  }
}
