import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';

/**
 * Authenticated encryption of secrets at rest (AES-256-GCM) with key rotation.
 *
 * A sealed value is one ASCII string: `sb1.<key id>.<iv>.<ciphertext>.<tag>`, the last three
 * base64url without padding (12-byte random IV, 16-byte GCM tag). The key id names which key
 * sealed it, so values sealed under an older key still open after a new key becomes current.
 * The optional `context` (e.g. "agent/<id>/secret_environment") is authenticated but not stored:
 * a value copied to another row or field does not open there.
 *
 * Keys are configured as `<key id>:<base64 or base64url of 32 bytes>`, comma-separated, the
 * current (sealing) key first and older keys after it, e.g.
 * `2026-11:q5c...,2026-01:Zx1...`. Key ids are 1 to 64 characters of [A-Za-z0-9_-].
 */
const FORMAT = 'sb1';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export interface SecretKey {
  id: string;
  key: Buffer;
}

export class SecretBoxError extends Error {
  override name = 'SecretBoxError';
}

export class SecretBox {
  private readonly keys: ReadonlyMap<string, Buffer>;
  readonly currentKeyId: string;

  constructor(keys: readonly SecretKey[]) {
    if (keys.length === 0) throw new SecretBoxError('a SecretBox needs at least one key');
    const byId = new Map<string, Buffer>();
    for (const { id, key } of keys) {
      if (!KEY_ID_PATTERN.test(id))
        throw new SecretBoxError(`key id "${id}" is not [A-Za-z0-9_-]{1,64}`);
      if (key.length !== KEY_BYTES)
        throw new SecretBoxError(`key "${id}" is not ${KEY_BYTES} bytes`);
      if (byId.has(id)) throw new SecretBoxError(`key id "${id}" appears twice`);
      byId.set(id, Buffer.from(key));
    }
    this.keys = byId;
    this.currentKeyId = keys[0].id;
  }

  seal(plaintext: string | Buffer, context = ''): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.currentKeyId)!, iv);
    cipher.setAAD(additionalData(this.currentKeyId, context));
    const ciphertext = Buffer.concat([
      cipher.update(typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext),
      cipher.final(),
    ]);
    return [FORMAT, this.currentKeyId, iv, ciphertext, cipher.getAuthTag()]
      .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
      .join('.');
  }

  /** Opens a sealed value; throws SecretBoxError when it is malformed, tampered or its key is unknown. */
  open(sealed: string, context = ''): Buffer {
    const parts = sealed.split('.');
    if (parts.length !== 5 || parts[0] !== FORMAT) {
      throw new SecretBoxError('not a sealed value');
    }
    const [, keyId, ivText, ciphertextText, tagText] = parts;
    const key = this.keys.get(keyId);
    if (!key) throw new SecretBoxError(`sealed with key "${keyId}", which is not configured`);
    const iv = Buffer.from(ivText, 'base64url');
    const tag = Buffer.from(tagText, 'base64url');
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) {
      throw new SecretBoxError('not a sealed value');
    }
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(additionalData(keyId, context));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([
        decipher.update(Buffer.from(ciphertextText, 'base64url')),
        decipher.final(),
      ]);
    } catch {
      throw new SecretBoxError(
        'the sealed value does not authenticate (tampered, or another context)',
      );
    }
  }

  openString(sealed: string, context = ''): string {
    return this.open(sealed, context).toString('utf8');
  }

  /** Key id a sealed value was sealed with, e.g. to find values to re-seal after a rotation. */
  static keyIdOf(sealed: string): string | undefined {
    const parts = sealed.split('.');
    return parts.length === 5 && parts[0] === FORMAT ? parts[1] : undefined;
  }
}

function additionalData(keyId: string, context: string): Buffer {
  return Buffer.from(`${FORMAT}\0${keyId}\0${context}`, 'utf8');
}

export function generateSecretKey(id: string): SecretKey {
  return { id, key: randomBytes(KEY_BYTES) };
}

export function formatSecretKeys(keys: readonly SecretKey[]): string {
  return keys.map(({ id, key }) => `${id}:${key.toString('base64url')}`).join(',');
}

/** Parses `<id>:<base64 key>[,<id>:<base64 key>...]`; `variable` names the source in errors. */
export function parseSecretKeys(raw: string, variable: string): SecretKey[] {
  const entries = raw
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (entries.length === 0) {
    throw new SecretBoxError(
      `${variable} holds no key; expected <key id>:<base64 of 32 bytes>[,...]`,
    );
  }
  const keys = entries.map((entry, index) => {
    const separator = entry.indexOf(':');
    const id = separator > 0 ? entry.slice(0, separator) : '';
    const key = Buffer.from(
      entry.slice(separator + 1),
      entry.includes('+') || entry.includes('/') ? 'base64' : 'base64url',
    );
    if (!KEY_ID_PATTERN.test(id) || key.length !== KEY_BYTES) {
      throw new SecretBoxError(
        `${variable} entry ${index + 1} is not <key id>:<base64 of ${KEY_BYTES} bytes> ` +
          '(key id of 1 to 64 characters [A-Za-z0-9_-]; generate a key with `openssl rand -base64 32`)',
      );
    }
    return { id, key };
  });
  new SecretBox(keys);
  return keys;
}

export interface SecretKeysSource {
  /** The configured keys (e.g. the value of MANAGER_SECRET_KEYS), or undefined when unset. */
  configured: string | undefined;
  /** Name of the variable, for error messages and the warning. */
  variable: string;
  /** File that holds the generated development key when nothing is configured. */
  developmentKeyFile: string;
  logger: Logger;
}

/**
 * The configured keys; when none are configured (development), a key generated once and kept in
 * `developmentKeyFile` (mode 0600), with a warning: never a built-in constant, so two
 * installations never share a key and losing the file is the only way to lose the secrets.
 */
export function loadSecretKeys(source: SecretKeysSource): SecretKey[] {
  if (source.configured !== undefined && source.configured.trim() !== '') {
    return parseSecretKeys(source.configured, source.variable);
  }
  const file = source.developmentKeyFile;
  let raw: string;
  try {
    raw = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const generated = formatSecretKeys([generateSecretKey(`dev-${Date.now().toString(36)}`)]);
    try {
      // 'wx': when two processes race, exactly one writes and the other reads its key.
      fs.writeFileSync(file, `${generated}\n`, { mode: 0o600, flag: 'wx' });
    } catch (writeError) {
      if ((writeError as NodeJS.ErrnoException).code !== 'EEXIST') throw writeError;
    }
    raw = fs.readFileSync(file, 'utf8');
  }
  source.logger.warn(
    { file },
    `WARNING: ${source.variable} is not set; secrets are encrypted with a development key kept in ` +
      `the key file. Set ${source.variable} in production and keep it safe.`,
  );
  return parseSecretKeys(raw, file);
}
