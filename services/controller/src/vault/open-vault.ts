import { loadSecretKeys, SecretBox } from '@agenstra/shared';
import type { Logger } from 'pino';
import type { ControllerConfig } from '../config.js';
import { Vault } from './vault.js';

/** The vault with the keys from CONTROLLER_SECRET_KEYS (or the development key file). */
export function openVault(
  config: Pick<ControllerConfig, 'secretKeys' | 'developmentKeyFile'>,
  logger: Logger,
): Vault {
  const keys = loadSecretKeys({
    configured: config.secretKeys,
    variable: 'CONTROLLER_SECRET_KEYS',
    developmentKeyFile: config.developmentKeyFile,
    logger,
  });
  return new Vault(new SecretBox(keys));
}
