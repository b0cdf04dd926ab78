import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../logging/logger.js';
import {
  SecretBox,
  SecretBoxError,
  formatSecretKeys,
  generateSecretKey,
  loadSecretKeys,
  parseSecretKeys,
} from './secret-box.js';

describe('SecretBox', () => {
  const current = generateSecretKey('current');
  const older = generateSecretKey('older');

  it('opens what it sealed, for text and bytes, and never stores the plaintext', () => {
    const box = new SecretBox([current]);
    const sealed = box.seal('sk-ant-secret-value');
    expect(sealed).to.match(/^sb1\.current\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(sealed).to.not.contain('secret-value');
    expect(box.openString(sealed)).to.equal('sk-ant-secret-value');
    const bytes = Buffer.from([0, 255, 1, 254]);
    expect(box.open(box.seal(bytes))).to.deep.equal(bytes);
  });

  it('seals the same value differently each time', () => {
    const box = new SecretBox([current]);
    expect(box.seal('same')).to.not.equal(box.seal('same'));
  });

  it('seals with the first key and still opens values sealed with an older key', () => {
    const sealedBefore = new SecretBox([older]).seal('rotated');
    const rotated = new SecretBox([current, older]);
    expect(SecretBox.keyIdOf(rotated.seal('x'))).to.equal('current');
    expect(rotated.openString(sealedBefore)).to.equal('rotated');
  });

  it('refuses a value whose key is not configured, naming the key id', () => {
    const sealed = new SecretBox([older]).seal('x');
    expect(() => new SecretBox([current]).open(sealed)).to.throw(SecretBoxError, '"older"');
  });

  it('refuses a tampered value and a value moved to another context', () => {
    const box = new SecretBox([current]);
    const sealed = box.seal('value', 'agent/a/secret_environment');
    const parts = sealed.split('.');
    const flipped = Buffer.from(parts[3], 'base64url');
    flipped[0] ^= 1;
    parts[3] = flipped.toString('base64url');
    expect(() => box.open(parts.join('.'), 'agent/a/secret_environment')).to.throw(SecretBoxError);
    expect(() => box.open(sealed, 'agent/b/secret_environment')).to.throw(SecretBoxError);
    expect(() => box.open('plain text')).to.throw(SecretBoxError, 'not a sealed value');
  });

  it('parses configured keys in base64 and base64url and explains a bad entry', () => {
    const standard = `a:${current.key.toString('base64')},b:${older.key.toString('base64url')}`;
    expect(parseSecretKeys(standard, 'MANAGER_SECRET_KEYS').map((key) => key.id)).to.deep.equal([
      'a',
      'b',
    ]);
    expect(() => parseSecretKeys('a:c2hvcnQ', 'MANAGER_SECRET_KEYS')).to.throw(
      SecretBoxError,
      'MANAGER_SECRET_KEYS entry 1',
    );
    expect(() => parseSecretKeys(formatSecretKeys([current, current]), 'X')).to.throw('twice');
  });

  it('generates a development key once, keeps it with mode 0600 and warns', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agenstra-secret-box-'));
    try {
      const developmentKeyFile = path.join(dir, 'state', 'secret-keys');
      const logged: string[] = [];
      const logger = createLogger({
        service: 'test',
        level: 'warn',
        destination: { write: (line: string) => logged.push(line) },
      });
      const source = {
        configured: undefined,
        variable: 'MANAGER_SECRET_KEYS',
        developmentKeyFile,
        logger,
      };
      const first = loadSecretKeys(source);
      const second = loadSecretKeys(source);
      expect(second).to.deep.equal(first);
      expect(fs.statSync(developmentKeyFile).mode & 0o777).to.equal(0o600);
      expect(logged.join('')).to.contain('WARNING: MANAGER_SECRET_KEYS is not set');
      expect(logged.join('')).to.not.contain(first[0].key.toString('base64url'));
      const configured = loadSecretKeys({ ...source, configured: formatSecretKeys([older]) });
      expect(configured[0].id).to.equal('older');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
