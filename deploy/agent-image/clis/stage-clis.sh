#!/usr/bin/env bash
# Installs the agent CLIs from the npm registry into a staging directory on the host (the offline
# base image has no npm), cached by content hash, and prints that directory on stdout.
#
#   bash deploy/agent-image/clis/stage-clis.sh            # the CLIs pinned in versions.txt
#   AGENT_CLIS=none bash deploy/agent-image/clis/stage-clis.sh   # an empty staging dir
#
# Layout of the staging dir (copied to /opt/agenstra/clis in the image):
#   <cli>/node_modules/...   one npm prefix per CLI
#   bin/<command>            relative symlinks, put on PATH by the Dockerfile
#   installed.txt            "<cli> <package@version> <command>" per CLI that installed and ran
# Best effort: a CLI whose install or `--version` fails is skipped with a note on stderr, and
# its adapter then reports cli_missing. Cursor's cursor-agent is not on npm (only Cursor's own
# installer ships it), so it is never staged here.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache_root="${AGENT_CLIS_CACHE:-/var/cache/agenstra/agent-clis}"
selection="${AGENT_CLIS:-all}"

log() { printf '[agent-clis %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

if [[ "$selection" == "none" ]]; then
  entries=""
else
  entries="$(grep -Ev '^\s*(#|$)' "${here}/versions.txt")"
  if [[ "$selection" != "all" ]]; then
    entries="$(echo "$entries" | awk -v wanted=",${selection}," 'index(wanted, "," $1 ",")')"
  fi
fi

hash="$({
  cat "${BASH_SOURCE[0]}"
  printf '== selection\n%s\n== arch %s\n' "$entries" "$(uname -m)"
} | sha256sum | cut -c1-16)"
stage="${cache_root}/${hash}"
if [[ -f "${stage}/installed.txt" ]]; then
  log "cache hit: ${stage}"
  echo "$stage"
  exit 0
fi

command -v npm >/dev/null || {
  log "npm is not installed on this host: staging no CLIs"
  entries=""
}

work="$(mktemp -d "${cache_root}.tmp.XXXXXX" 2>/dev/null || { mkdir -p "$(dirname "$cache_root")" && mktemp -d "${cache_root}.tmp.XXXXXX"; })"
trap 'rm -rf "$work"' EXIT
mkdir -p "${work}/bin"
: >"${work}/installed.txt"

while read -r cli package command; do
  [[ -n "${cli:-}" ]] || continue
  log "installing ${package} (${cli})"
  if ! npm install --prefix "${work}/${cli}" --omit=dev --no-audit --no-fund --no-save --loglevel=error \
    "$package" >&2; then
    log "NOTE: skipping ${cli}: npm install ${package} failed (output above); its adapter reports cli_missing"
    rm -rf "${work:?}/${cli}"
    continue
  fi
  # npm's bin shims are relative symlinks; a CLI that downloads its binary from elsewhere at
  # install time has nothing runnable here.
  if ! version="$(timeout 60 "${work}/${cli}/node_modules/.bin/${command}" --version 2>&1 | head -1)"; then
    log "NOTE: skipping ${cli}: ${command} --version failed after install (${version}); its adapter reports cli_missing"
    rm -rf "${work:?}/${cli}"
    continue
  fi
  ln -s "../${cli}/node_modules/.bin/${command}" "${work}/bin/${command}"
  printf '%s %s %s\n' "$cli" "$package" "$command" >>"${work}/installed.txt"
  log "installed ${cli}: ${version}"
done <<<"$entries"

# Platform packages are hard-linked into their wrappers by install scripts; Docker's COPY would
# store each link as a full copy, so every extra link becomes a relative symlink.
declare -A first_path_of_inode=()
while read -r inode file; do
  if [[ -z "${first_path_of_inode[$inode]:-}" ]]; then
    first_path_of_inode[$inode]="$file"
  else
    rm "$file"
    ln -sr "${first_path_of_inode[$inode]}" "$file"
  fi
done < <(find "$work" -type f -links +1 -printf '%i %p\n' | sort -k1,1 -k2)
# Codex's voice helper is for its interactive UI, never used in `codex exec`.
rm -rf "${work}"/codex/node_modules/@openai/codex-linux-*/vendor/*/codex-resources/voice

chmod -R a+rX "$work"
mkdir -p "$cache_root"
rm -rf "$stage"
mv "$work" "$stage"
trap - EXIT
log "staged $(wc -l <"${stage}/installed.txt") CLI(s) in ${stage} ($(du -sh "$stage" | cut -f1))"
echo "$stage"
