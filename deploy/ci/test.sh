#!/usr/bin/env bash
# The test command (`npm test`). Sets up what the tests need on this machine, then lints, builds
# and runs every test. Made for a fresh machine run as root (CI: a fresh clone, no stdin).
#
#   bash deploy/ci/test.sh               set up, lint, build, run every test
#   bash deploy/ci/test.sh --setup-only  only the set-up: Docker, PostgreSQL, NATS, Chromium, agent image
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

setup_only=false
case "${1:-}" in
  "") ;;
  --setup-only) setup_only=true ;;
  *)
    echo "usage: bash deploy/ci/test.sh [--setup-only]" >&2
    exit 2
    ;;
esac

# One ordered log: progress, tool output and errors interleave as they happened.
exec 2>&1
started=$SECONDS
note() { printf '[test %s] %s\n' "$(date -u +%H:%M:%S)" "$*"; }
fail() {
  note "ERROR: $*" >&2
  exit 1
}
trap 'status=$?; ((status == 0)) || note "FAILED (exit ${status}) after $((SECONDS - started))s" >&2' EXIT

timed() {
  local title="$1"
  shift
  printf '\n'
  note "== ${title}"
  local step_started=$SECONDS
  "$@"
  note "${title}: done in $((SECONDS - step_started))s"
}

is_root() { [[ "$(id -u)" == 0 ]]; }
port_answers() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

wait_for() {
  local seconds="$1"
  shift
  local waited
  for ((waited = 0; waited < seconds; waited++)); do
    "$@" && return 0
    sleep 1
  done
  "$@"
}

apt_updated=false
apt_install() {
  is_root || fail "$* must be installed, which needs root (run as root or install it)"
  if ! $apt_updated; then
    note "apt-get update"
    apt-get update -qq || fail "apt-get update failed"
    apt_updated=true
  fi
  note "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -o Dpkg::Use-Pty=0 "$@" ||
    fail "apt-get install $* failed"
}

docker_answers() { docker info >/dev/null 2>&1; }

ensure_docker() {
  if docker_answers; then
    note "Docker Engine answers (server $(docker version --format '{{.Server.Version}}'))"
    return
  fi
  is_root || fail "the Docker Engine does not answer and starting one needs root"
  command -v dockerd >/dev/null && command -v docker >/dev/null || apt_install docker.io
  # A dockerd that died leaves its pid file behind, and a new one refuses to start over it.
  if [[ -f /var/run/docker.pid ]] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
    rm -f /var/run/docker.pid
  fi
  local log=/var/log/agenstra-dockerd.log
  note "starting dockerd in the background (log: ${log})"
  setsid nohup dockerd >>"$log" 2>&1 </dev/null &
  if ! wait_for 60 docker_answers; then
    tail -n 30 "$log" >&2
    fail "dockerd did not answer within 60s (log above)"
  fi
  note "Docker Engine answers (server $(docker version --format '{{.Server.Version}}'))"
}

postgres_answers() { port_answers 127.0.0.1 5432; }

ensure_postgres() {
  if ! postgres_answers; then
    is_root || fail "PostgreSQL does not answer on 127.0.0.1:5432 and starting it needs root"
    if ! compgen -G '/etc/postgresql/*/main' >/dev/null; then
      apt_install postgresql
      trust_local_connections
    fi
    local version
    version="$(ls /etc/postgresql | sort -V | tail -n 1)"
    if postgres_answers; then
      # The package's own start came before our pg_hba.conf change.
      pg_ctlcluster --skip-systemctl-redirect "$version" main reload
    else
      note "starting PostgreSQL ${version}/main"
      pg_ctlcluster --skip-systemctl-redirect "$version" main start ||
        fail "pg_ctlcluster could not start ${version}/main"
    fi
    wait_for 60 postgres_answers || fail "PostgreSQL did not answer on 127.0.0.1:5432 within 60s"
  fi
  note "PostgreSQL answers on 127.0.0.1:5432"
  # DATABASE_URL's default names this database; the services create their schemas in it.
  if command -v psql >/dev/null &&
    [[ "$(psql -h 127.0.0.1 -U postgres -Atc "select 1 from pg_database where datname = 'agenstra'")" != 1 ]]; then
    note "creating database agenstra"
    psql -h 127.0.0.1 -U postgres -qc 'create database agenstra' || fail "could not create database agenstra"
  fi
}

# The services connect as postgres without a password (DATABASE_URL's default), as on our
# machines; a cluster installed here gets the same local trust.
trust_local_connections() {
  local hba
  for hba in /etc/postgresql/*/main/pg_hba.conf; do
    note "trusting local TCP connections in ${hba}"
    sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  done
}

nats_info() {
  local line
  exec 3<>/dev/tcp/127.0.0.1/4222 || return 1
  read -r -t 5 line <&3 || true
  exec 3<&-
  echo "$line"
}

ensure_nats() {
  if ! port_answers 127.0.0.1 4222; then
    is_root || fail "NATS does not answer on 127.0.0.1:4222 and starting it needs root"
    [[ -x /usr/sbin/nats-server ]] || apt_install nats-server
    mkdir -p /var/lib/nats-server
    note "starting nats-server with JetStream (log: /var/log/nats-server.log)"
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
      -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
    if ! wait_for 30 port_answers 127.0.0.1 4222; then
      tail -n 30 /var/log/nats-server.log >&2 || true
      fail "nats-server did not answer on 127.0.0.1:4222 within 30s"
    fi
  fi
  # The server announces JetStream in the INFO line it sends on connect.
  nats_info 2>/dev/null | grep -q '"jetstream":true' ||
    fail "the NATS server on 127.0.0.1:4222 runs without JetStream (start it with -js)"
  note "NATS answers on 127.0.0.1:4222 with JetStream"
}

ensure_chromium() {
  [[ -x /usr/bin/chromium ]] || apt_install chromium
  note "$(/usr/bin/chromium --version 2>/dev/null || echo 'chromium installed')"
}

# The git tests run a real SSH server (sshd as a child process) for clone/fetch/push with a key.
ensure_sshd() {
  [[ -x /usr/sbin/sshd ]] || apt_install openssh-server
  note "$(/usr/sbin/sshd -V 2>&1 | head -n 1 || echo 'sshd installed')"
}

ensure_dependencies() {
  if [[ -d node_modules ]]; then
    note "node_modules present"
  else
    npm install || fail "npm install failed"
  fi
}

note "Agenstra test command: $(node --version 2>/dev/null || echo 'node missing'), npm $(npm --version 2>/dev/null || echo missing), $(whoami), CI=${CI:-unset}"
command -v node >/dev/null || fail "node is not installed"

timed "Docker Engine" ensure_docker
timed "PostgreSQL" ensure_postgres
timed "NATS with JetStream" ensure_nats
timed "Chromium" ensure_chromium
timed "OpenSSH server (for git tests)" ensure_sshd
timed "npm dependencies" ensure_dependencies
timed "agent image" bash deploy/agent-image/build.sh

if $setup_only; then
  note "set-up complete in $((SECONDS - started))s (--setup-only: no lint, build or tests)"
  exit 0
fi

# Lint problems do not stop the run, so one run shows lint, build and test failures together.
lint_passed=true
lint() { npm run lint || lint_passed=false; }
build() { npm run build || fail "the build failed (output above)"; }
summary_file="$(mktemp)"
mocha_status=0
run_tests() {
  npx mocha --reporter "${PWD}/deploy/ci/summary-reporter.js" \
    --reporter-option "summaryFile=${summary_file}" || mocha_status=$?
}

timed "lint" lint
timed "build" build
timed "tests" run_tests

printf '\n'
$lint_passed || note "lint FAILED (see above)"
if [[ -s "$summary_file" ]]; then
  node -e '
    const { passes, failures, pending } = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log(`${passes} passed, ${failures} failed${pending ? `, ${pending} pending` : ""}`);
  ' "$summary_file"
else
  echo "0 passed, 1 failed (mocha stopped before finishing the run, exit ${mocha_status})"
  mocha_status=1
fi
rm -f "$summary_file"
note "total $((SECONDS - started))s"
if ! $lint_passed || ((mocha_status != 0)); then
  exit 1
fi
