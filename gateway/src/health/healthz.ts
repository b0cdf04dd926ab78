import type { GatewayConfig } from '../config';
import { isReadMethod, sendJson, type Route } from '../route';
import { checkControllerHealth } from './controller-health';

/** Short enough that a health probe or the console never waits long on a dead controller. */
export const CONTROLLER_HEALTH_TIMEOUT_MS = 2_000;

/** 200 when the gateway and the controller serve, 503 with the controller's state otherwise. */
export function healthzRoute(config: GatewayConfig): Route {
  return {
    name: 'healthz',
    matches: (request, url) => isReadMethod(request) && url.pathname === '/healthz',
    async handle(request, response) {
      const controller = await checkControllerHealth(
        config.controllerAddress,
        CONTROLLER_HEALTH_TIMEOUT_MS,
      );
      const serving = controller.status === 'SERVING';
      sendJson(request, response, serving ? 200 : 503, {
        gateway: 'SERVING',
        controller: controller.status,
        ...(controller.error ? { error: controller.error } : {}),
      });
    },
  };
}
