/** What `GET /healthz` on the gateway answers, with status 200 or 503. */
export interface HealthReport {
  gateway: 'SERVING';
  /** `grpc.health.v1` status of the controller, or UNREACHABLE when the check itself failed. */
  controller: ControllerHealth;
  /** Why the controller is not SERVING, when the gateway knows. */
  error?: string;
}

export type ControllerHealth =
  'SERVING' | 'NOT_SERVING' | 'UNKNOWN' | 'SERVICE_UNKNOWN' | 'UNREACHABLE';
