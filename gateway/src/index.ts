export {
  readGatewayConfig,
  gatewayConfigSchema,
  DEFAULT_WEB_ROOT,
  type GatewayConfig,
} from './config';
export { startGateway, gatewayRoutes, type RunningGateway } from './server';
export { type Route } from './route';
export { checkControllerHealth, type ControllerHealth } from './health/controller-health';
export { consoleRuntimeConfig, type ConsoleRuntimeConfig } from './runtime-config/config-json';
