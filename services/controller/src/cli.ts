import { parseArgs } from 'node:util';
import { createLogger, loadConfigOrExit, openDatabase, type Database } from '@agenstra/shared';
import { controllerConfigSchema } from './config.js';
import { CONTROLLER_SCHEMA, controllerEntities, controllerMigrations } from './migrations/index.js';
import { ApiTokens } from './tokens/api-tokens.js';
import { openVault } from './vault/open-vault.js';

const USAGE = `Usage: node services/controller/dist/cli.js <command> [options]

Commands:
  create-admin-token --name <display name> [--subject <subject>]
      Creates an admin API token and prints it once on standard output. For a fresh install:
      use it as \`authorization: Bearer <token>\` to create clients and further tokens.
      --subject defaults to "admin".
  rotate-vault-key
      Re-encrypts every secret in the credentials vault under the current key, the first one in
      CONTROLLER_SECRET_KEYS. Put the new key first and keep the old ones after it until this
      has run; then the old keys can be removed.

Reads the controller's environment (DATABASE_URL, CONTROLLER_SECRET_KEYS, ...); applies pending
database migrations first.`;

/** Who an API token created here names as its creator. */
const CLI_CREATOR = 'cli';

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== 'create-admin-token' && command !== 'rotate-vault-key') {
    process.stderr.write(`${command ? `Unknown command ${command}.\n\n` : ''}${USAGE}\n`);
    return 2;
  }
  const config = loadConfigOrExit('controller cli', controllerConfigSchema);
  // Logs go to standard error, so standard output holds only the command's result.
  const logger = createLogger({
    service: 'controller-cli',
    level: config.logLevel === 'info' ? 'warn' : config.logLevel,
    destination: process.stderr,
  });
  const database = await openDatabase({
    url: config.databaseUrl,
    schema: CONTROLLER_SCHEMA,
    entities: controllerEntities,
    migrations: controllerMigrations,
    logger,
  });
  try {
    return command === 'create-admin-token'
      ? await createAdminToken(database, rest)
      : await rotateVaultKey(database, openVault(config, logger));
  } finally {
    await database.close();
  }
}

async function createAdminToken(database: Database, args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { name: { type: 'string' }, subject: { type: 'string', default: 'admin' } },
  });
  const displayName = values.name?.trim() ?? '';
  if (displayName.length < 1 || displayName.length > 63) {
    process.stderr.write(`--name (1 to 63 characters) is required.\n\n${USAGE}\n`);
    return 2;
  }
  const { apiToken, token } = await new ApiTokens().create(database.fork(), {
    displayName,
    subject: values.subject!,
    role: 'admin',
    creator: CLI_CREATOR,
  });
  process.stderr.write(
    `Created admin API token apiTokens/${apiToken.id} for subject "${apiToken.subject}". ` +
      'It is shown once; store it now.\n',
  );
  process.stdout.write(`${token}\n`);
  return 0;
}

async function rotateVaultKey(
  database: Database,
  vault: ReturnType<typeof openVault>,
): Promise<number> {
  const { resealed } = await vault.rotate(database.fork());
  process.stdout.write(`Re-encrypted ${resealed} secret(s) under key "${vault.currentKeyId}".\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  },
);
