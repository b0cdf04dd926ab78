// Plain CommonJS so mocha runs it as is, without a compile step.
const { execFileSync, spawnSync } = require('node:child_process');
const path = require('node:path');
const { expect } = require('chai');

const buildScript = path.join(__dirname, 'build.sh');

function runBuild() {
  const result = spawnSync('bash', [buildScript], { encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`build.sh exited ${result.status}:\n${result.stderr}`);
  }
  return { image: result.stdout.trim(), progress: result.stderr };
}

function inspectImage(reference, format) {
  return execFileSync('docker', ['image', 'inspect', '--format', format, reference], {
    encoding: 'utf8',
  }).trim();
}

// The options the manager starts every agent container with.
const hardenedRunOptions = [
  '--rm',
  '--user',
  'agent',
  '--cap-drop',
  'ALL',
  '--security-opt',
  'no-new-privileges',
  '--pids-limit',
  '128',
  '--memory',
  '256m',
  '--network',
  'none',
];

describe('agent image', function () {
  let image;

  function runInAgentContainer(script) {
    return execFileSync('docker', ['run', ...hardenedRunOptions, image, 'sh', '-c', script], {
      encoding: 'utf8',
    });
  }

  before(function () {
    // A cold build includes debootstrap; a warm one takes seconds.
    this.timeout(20 * 60 * 1000);
    image = runBuild().image;
  });

  it('tags the image with the hash of its inputs and as latest', function () {
    expect(image).to.match(/^agenstra\/agent:[0-9a-f]{16}$/);
    const hash = image.split(':')[1];
    expect(inspectImage(image, '{{index .Config.Labels "agenstra.image.inputs-hash"}}')).to.equal(
      hash,
    );
    expect(inspectImage('agenstra/agent:latest', '{{.Id}}')).to.equal(
      inspectImage(image, '{{.Id}}'),
    );
  });

  it('reuses the built image when nothing changed (cache hit)', function () {
    const second = runBuild();
    expect(second.image).to.equal(image);
    expect(second.progress).to.include(`cache hit: ${image}`);
    expect(second.progress).not.to.include('building agenstra/agent');
  });

  it('runs as the agent user (uid 1000), not root', function () {
    expect(runInAgentContainer('id -u; id -un; id -g').trim().split('\n')).to.deep.equal([
      '1000',
      'agent',
      '1000',
    ]);
  });

  it('starts in /workspace with git and node on the path', function () {
    const output = runInAgentContainer(
      'pwd; git --version; node -e "process.stdout.write(String(1 + 1))"',
    );
    const [workingDirectory, gitVersion, nodeResult] = output.trim().split('\n');
    expect(workingDirectory).to.equal('/workspace');
    expect(gitVersion).to.match(/^git version \d+\.\d+/);
    expect(nodeResult).to.equal('2');
  });

  it('lets the agent write to /workspace and git init there', function () {
    const output = runInAgentContainer(
      'echo hello > /workspace/notes.txt && git init --quiet /workspace && git -C /workspace status --porcelain=v2',
    );
    expect(output.trim()).to.equal('? notes.txt');
  });

  it('refuses to let the agent write outside its home and workspace', function () {
    const output = runInAgentContainer(
      'touch /usr/bin/planted 2>/dev/null && echo wrote || echo refused',
    );
    expect(output.trim()).to.equal('refused');
  });

  it('holds no capabilities and cannot gain privileges', function () {
    const status = runInAgentContainer('grep -E "^(CapEff|CapPrm|NoNewPrivs):" /proc/self/status');
    expect(status).to.match(/^CapEff:\s+0000000000000000$/m);
    expect(status).to.match(/^CapPrm:\s+0000000000000000$/m);
    expect(status).to.match(/^NoNewPrivs:\s+1$/m);
  });

  it('ships the agent runner folder at /opt/agenstra/runner', function () {
    const manifest = JSON.parse(runInAgentContainer('cat /opt/agenstra/runner/package.json'));
    expect(manifest.name).to.equal('@agenstra/agent-runner');
  });
});
