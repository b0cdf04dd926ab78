import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { PROTO_ROOT } from './index';

describe('buf lint', () => {
  it('finds no STANDARD rule violations in the contracts', function () {
    this.timeout(120_000);
    const buf = require.resolve('@bufbuild/buf/bin/buf');
    const result = spawnSync(buf, ['lint', '--error-format', 'text'], {
      cwd: path.dirname(PROTO_ROOT),
      encoding: 'utf8',
    });
    expect(result.error, 'buf could not be run').to.equal(undefined);
    expect(`${result.stdout}${result.stderr}`.trim(), 'buf lint output').to.equal('');
    expect(result.status).to.equal(0);
  });
});
