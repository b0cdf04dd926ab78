import { credentials, makeClientConstructor, status, type ServiceError } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';

/** `grpc.health.v1` statuses, plus UNREACHABLE when the check itself failed. */
export type ControllerHealth =
  'SERVING' | 'NOT_SERVING' | 'UNKNOWN' | 'SERVICE_UNKNOWN' | 'UNREACHABLE';

export interface ControllerHealthResult {
  status: ControllerHealth;
  error?: string;
}

const HealthClient = makeClientConstructor(healthService, 'grpc.health.v1.Health');

type CheckCallback = (error: ServiceError | null, response?: { status: string }) => void;
interface HealthCheckClient {
  check(
    request: { service: string },
    options: { deadline: Date },
    callback: CheckCallback,
  ): unknown;
  close(): void;
}

/**
 * Asks the controller for its overall health. A fresh connection per check, so a controller that
 * comes back is seen at once instead of after the channel's reconnect back-off.
 */
export function checkControllerHealth(
  address: string,
  timeoutMs: number,
): Promise<ControllerHealthResult> {
  const client = new HealthClient(
    address,
    credentials.createInsecure(),
  ) as unknown as HealthCheckClient;
  return new Promise<ControllerHealthResult>((resolve) => {
    client.check(
      { service: '' },
      { deadline: new Date(Date.now() + timeoutMs) },
      (error, reply) => {
        if (error) {
          resolve(
            error.code === status.NOT_FOUND
              ? { status: 'SERVICE_UNKNOWN', error: error.details }
              : { status: 'UNREACHABLE', error: `${address}: ${error.details || error.message}` },
          );
        } else {
          resolve({ status: asControllerHealth(reply?.status) });
        }
      },
    );
  }).finally(() => client.close());
}

function asControllerHealth(reported: string | undefined): ControllerHealth {
  return reported === 'SERVING' || reported === 'NOT_SERVING' || reported === 'SERVICE_UNKNOWN'
    ? reported
    : 'UNKNOWN';
}
