// Runs every benchmark in this folder (files named *.bench.js) one after another. Each prints its
// figure beside a raw baseline measured in the same run; nothing here asserts a timing.
const { readdirSync } = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const only = process.argv[2];
const benches = readdirSync(__dirname)
  .filter((name) => name.endsWith('.bench.js'))
  .filter((name) => !only || name.includes(only))
  .sort();
let failed = 0;
for (const name of benches) {
  console.log(`\n== ${name}`);
  const result = spawnSync(process.execPath, [path.join(__dirname, name)], { stdio: 'inherit' });
  if (result.status !== 0) failed += 1;
}
process.exit(failed === 0 ? 0 : 1);
