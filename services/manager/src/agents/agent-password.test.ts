import { expect } from 'chai';
import { generateAgentPassword, hashAgentPassword, verifyAgentPassword } from './agent-password.js';

describe('agent passwords', () => {
  it('generates base64url passwords of at least 128 bits, different each time', () => {
    const first = generateAgentPassword();
    expect(first).to.match(/^[A-Za-z0-9_-]+$/);
    expect(Buffer.from(first, 'base64url').length * 8).to.be.at.least(128);
    expect(generateAgentPassword()).to.not.equal(first);
  });

  it('stores a salted scrypt hash with its parameters, never the password', async () => {
    const hash = await hashAgentPassword('correct horse');
    expect(hash).to.match(/^scrypt\$16384\$8\$1\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/);
    expect(hash).to.not.contain('correct horse');
    expect(await hashAgentPassword('correct horse')).to.not.equal(hash);
  });

  it('accepts the right password and refuses a wrong one', async () => {
    const hash = await hashAgentPassword('correct horse');
    expect(await verifyAgentPassword('correct horse', hash)).to.equal(true);
    expect(await verifyAgentPassword('correct horsf', hash)).to.equal(false);
    expect(await verifyAgentPassword('', hash)).to.equal(false);
  });

  it('refuses every password against a malformed stored hash', async () => {
    for (const stored of [
      '',
      'plain',
      'scrypt$1$2$3',
      'argon2$16384$8$1$c2FsdA$aGFzaA',
      'scrypt$x$8$1$c2FsdA$aGFzaA',
    ]) {
      expect(await verifyAgentPassword('anything', stored)).to.equal(false);
    }
  });
});
