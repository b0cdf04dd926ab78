import { pino, type DestinationStream, type Level, type Logger } from 'pino';

export type { Logger };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = Level | 'silent';

export const REDACTED = '[REDACTED]';

/** Any key whose normalised form contains one of these is treated as secret, at any depth. */
const SECRET_KEY_PARTS = [
  'password',
  'passwd',
  'secret',
  'token',
  'apikey',
  'authorization',
  'cookie',
  'privatekey',
];

export interface LoggerOptions {
  /** Written as `service` on every line. */
  service: string;
  level?: LogLevel;
  /** Further keys to redact, e.g. `secretKeysOf(configSchema)`. Compared case- and separator-insensitively. */
  secretKeys?: string[];
  /** Where lines go; standard output (synchronously) when omitted. */
  destination?: DestinationStream;
}

const normalise = (key: string) => key.toLowerCase().replace(/[^a-z0-9]/g, '');

export function createSecretKeyMatcher(extraKeys: string[] = []): (key: string) => boolean {
  const exact = new Set(extraKeys.map(normalise));
  return (key) => {
    const normalised = normalise(key);
    return exact.has(normalised) || SECRET_KEY_PARTS.some((part) => normalised.includes(part));
  };
}

/** Returns a copy of `value` with every secret-named field replaced, however deeply nested. */
export function redactSecrets(value: unknown, isSecretKey = createSecretKeyMatcher()): unknown {
  if (typeof value === 'string') return /^bearer\s+\S/i.test(value) ? `Bearer ${REDACTED}` : value;
  if (Array.isArray(value)) return value.map((item) => redactSecrets(item, isSecretKey));
  if (value === null || typeof value !== 'object') return value;
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    copy[key] =
      isSecretKey(key) && item !== null && item !== undefined && item !== ''
        ? REDACTED
        : redactSecrets(item, isSecretKey);
  }
  return copy;
}

/**
 * Creates the JSON logger of a service. Redaction runs on the finished line, so it also covers
 * serialised errors and child-logger bindings; lines without any suspicious word are not re-parsed.
 */
export function createLogger(options: LoggerOptions): Logger {
  const isSecretKey = createSecretKeyMatcher(options.secretKeys);
  const suspicious = new RegExp(
    [...SECRET_KEY_PARTS, ...(options.secretKeys ?? []).map(normalise), 'bearer']
      .map((word) => word.split('').join('[^a-z0-9"]*'))
      .join('|'),
    'i',
  );
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: options.service, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      hooks: {
        streamWrite: (line) =>
          suspicious.test(line)
            ? JSON.stringify(redactSecrets(JSON.parse(line), isSecretKey)) + '\n'
            : line,
      },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
