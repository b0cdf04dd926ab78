/**
 * A service declares its configuration as a schema of environment variables; `loadConfig` turns
 * the environment into a typed object or throws one `ConfigError` listing every problem at once.
 */

/** The outcome of parsing one raw value: the value, or what was expected instead. */
type Parsed<T> = { ok: true; value: T } | { ok: false; expected: string };

export interface EnvVar<T> {
  readonly name: string;
  /** Secret values are never echoed in error messages and are redacted by the logger. */
  readonly secret: boolean;
  /** Human description of the accepted values, used in error messages. */
  readonly expected: string;
  read(raw: string | undefined): Parsed<T>;
}

export interface VarOptions<T> {
  /** Used when the variable is unset or empty. */
  default?: T;
  /** When true and no default is given, an unset variable yields `undefined`. */
  optional?: boolean;
  secret?: boolean;
}

/** Unset optional variables without a default read as `undefined`; everything else is a `T`. */
type Resolved<T, O> = O extends { default: T }
  ? T
  : O extends { optional: true }
    ? T | undefined
    : T;

type Parser<T> = (raw: string) => Parsed<T>;

function declare<T>(expected: string, parse: Parser<T>) {
  return <O extends VarOptions<T> = Record<never, never>>(
    name: string,
    options?: O,
  ): EnvVar<Resolved<T, O>> => {
    const { default: fallback, optional = false, secret = false } = options ?? {};
    return {
      name,
      secret,
      expected,
      read(raw) {
        if (raw === undefined || raw.trim() === '') {
          if (fallback !== undefined) return { ok: true, value: fallback as Resolved<T, O> };
          if (optional) return { ok: true, value: undefined as Resolved<T, O> };
          return { ok: false, expected: `a value (${expected}); it is required` };
        }
        return parse(raw.trim()) as Parsed<Resolved<T, O>>;
      },
    };
  };
}

const fail = (expected: string): Parsed<never> => ({ ok: false, expected });

function parseInteger(raw: string, min: number, max: number, expected: string): Parsed<number> {
  if (!/^-?\d+$/.test(raw)) return fail(expected);
  const value = Number(raw);
  return Number.isSafeInteger(value) && value >= min && value <= max
    ? { ok: true, value }
    : fail(expected);
}

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export const env = {
  string: declare<string>('any text', (raw) => ({ ok: true, value: raw })),

  int: <O extends VarOptions<number> & { min?: number; max?: number }>(
    name: string,
    options?: O,
  ) => {
    const min = options?.min ?? Number.MIN_SAFE_INTEGER;
    const max = options?.max ?? Number.MAX_SAFE_INTEGER;
    const expected =
      options?.min !== undefined || options?.max !== undefined
        ? `an integer from ${min} to ${max}`
        : 'an integer';
    return declare<number>(expected, (raw) => parseInteger(raw, min, max, expected))(name, options);
  },

  /** A TCP port; 0 asks the operating system for a free one. */
  port: declare<number>('a TCP port number from 0 to 65535', (raw) =>
    parseInteger(raw, 0, 65535, 'a TCP port number from 0 to 65535'),
  ),

  url: <O extends VarOptions<string> & { protocols?: string[] }>(name: string, options?: O) => {
    const protocols = options?.protocols;
    const expected = protocols
      ? `a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`
      : 'an absolute URL';
    return declare<string>(expected, (raw) => {
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        return fail(expected);
      }
      return protocols && !protocols.includes(url.protocol)
        ? fail(expected)
        : { ok: true, value: raw };
    })(name, options);
  },

  oneOf: <const V extends string, O extends VarOptions<V> = Record<never, never>>(
    name: string,
    values: readonly V[],
    options?: O,
  ) =>
    declare<V>(`one of ${values.join(', ')}`, (raw) =>
      (values as readonly string[]).includes(raw)
        ? { ok: true, value: raw as V }
        : fail(`one of ${values.join(', ')}`),
    )(name, options),

  boolean: declare<boolean>('true or false (also 1/0, yes/no)', (raw) => {
    const lower = raw.toLowerCase();
    if (['true', '1', 'yes'].includes(lower)) return { ok: true, value: true };
    if (['false', '0', 'no'].includes(lower)) return { ok: true, value: false };
    return fail('true or false (also 1/0, yes/no)');
  }),

  /** Milliseconds, as a plain number or with a unit: `250ms`, `10s`, `5m`, `1h`. */
  durationMs: declare<number>('a duration such as 10000, 500ms, 10s, 5m or 1h', (raw) => {
    const match = /^(\d+)(ms|s|m|h)?$/.exec(raw);
    if (!match) return fail('a duration such as 10000, 500ms, 10s, 5m or 1h');
    return { ok: true, value: Number(match[1]) * DURATION_UNITS_MS[match[2] ?? 'ms'] };
  }),
};

export type ConfigSchema = Record<string, EnvVar<unknown>>;
export type ConfigOf<S extends ConfigSchema> = {
  readonly [K in keyof S]: S[K] extends EnvVar<infer T> ? T : never;
};

export interface ConfigProblem {
  variable: string;
  /** The raw value, or `undefined` when the variable is secret or unset. */
  value: string | undefined;
  expected: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: ConfigProblem[]) {
    super(
      `Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems
          .map(
            (p) =>
              `  ${p.variable}=${p.value === undefined ? '<unset or secret>' : JSON.stringify(p.value)}: expected ${p.expected}`,
          )
          .join('\n'),
    );
    this.name = 'ConfigError';
  }
}

export function loadConfig<S extends ConfigSchema>(
  schema: S,
  source: NodeJS.ProcessEnv = process.env,
): ConfigOf<S> {
  const values: Record<string, unknown> = {};
  const problems: ConfigProblem[] = [];
  for (const [key, variable] of Object.entries(schema)) {
    const raw = source[variable.name];
    const parsed = variable.read(raw);
    if (parsed.ok) {
      values[key] = parsed.value;
    } else {
      const shown = variable.secret || raw === undefined ? undefined : maskUrlPassword(raw);
      problems.push({ variable: variable.name, value: shown, expected: parsed.expected });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return values as ConfigOf<S>;
}

/** Keys of the schema whose values are secret, for the logger's redaction list. */
export function secretKeysOf(schema: ConfigSchema): string[] {
  return Object.entries(schema)
    .filter(([, variable]) => variable.secret)
    .map(([key]) => key);
}

/** The configuration as it may be logged: secrets replaced, passwords inside URLs masked. */
export function describeConfig<S extends ConfigSchema>(
  schema: S,
  config: ConfigOf<S>,
): Record<string, unknown> {
  const described: Record<string, unknown> = {};
  for (const [key, variable] of Object.entries(schema)) {
    const value = (config as Record<string, unknown>)[key];
    if (variable.secret && value !== undefined) described[key] = '[REDACTED]';
    else described[key] = typeof value === 'string' ? maskUrlPassword(value) : value;
  }
  return described;
}

/** `postgres://user:pw@host/db` → `postgres://user:***@host/db`; other text is returned as is. */
export function maskUrlPassword(text: string): string {
  try {
    const url = new URL(text);
    if (!url.password) return text;
    url.password = '***';
    return url.toString();
  } catch {
    return text;
  }
}
