import { commonServiceSchema, env, loadConfigOrExit } from '@agenstra/shared';

export const controllerConfigSchema = {
  ...commonServiceSchema,
  grpcPort: env.port('CONTROLLER_GRPC_PORT', { default: 50051 }),
};

export const loadControllerConfig = () => loadConfigOrExit('controller', controllerConfigSchema);
export type ControllerConfig = ReturnType<typeof loadControllerConfig>;
