#!/usr/bin/env bash
# Builds the agent image and tags it agenstra/agent:<inputs hash> and agenstra/agent:latest.
# When an image for the same inputs exists it only re-tags it, so a second run takes seconds.
#
#   bash deploy/agent-image/build.sh
#
# Env: AGENT_BASE_IMAGE  unset: node:22-bookworm-slim when present or pullable, else the offline
#                        debootstrap base (deploy/base-image); "debootstrap": always the offline
#                        base; anything else: used as the base image as is.
#      AGENT_PULL_TIMEOUT seconds to wait for pulling node:22-bookworm-slim (default 20).
#      AGENT_CLIS         which agent CLIs to put in the image (clis/versions.txt): "all" (default),
#                         "none" (fast test images), or a comma list such as "codex,opencode".
#                         Installed on the host by clis/stage-clis.sh, cached by content hash.
# Progress goes to stderr; stdout carries only the image reference agenstra/agent:<hash>.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
base_script="$(cd "${here}/../base-image" && pwd)/build-base.sh"
online_base="node:22-bookworm-slim"
repository="agenstra/agent"
tags_kept=3
started=$SECONDS

log() { printf '[agent-image %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
fail() {
  log "ERROR: $*"
  exit 1
}

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# The debootstrap base's tag is already a hash of its inputs; any other base is identified by its
# image id, so a newer node:22-bookworm-slim gives a new agent image.
describe_base() {
  if [[ "$1" == agenstra/debian-base:* ]]; then
    echo "$1"
  else
    echo "$1@$(docker image inspect --format '{{.Id}}' "$1" 2>/dev/null || echo absent)"
  fi
}

inputs_hash() {
  local base_description="$1"
  {
    local file
    for file in Dockerfile .dockerignore build.sh clis/stage-clis.sh clis/versions.txt; do
      printf '== %s\n' "$file"
      cat "${here}/${file}"
    done
    (cd "$here" && find runner -path runner/node_modules -prune -o -type f -print | LC_ALL=C sort) |
      while read -r file; do
        printf '== %s\n' "$file"
        cat "${here}/${file}"
      done
    printf '== base %s\n' "$base_description"
    printf '== clis %s\n' "$(docker image inspect --format '{{.Id}}' "$clis_image" 2>/dev/null || echo absent)"
  } | sha256sum | cut -c1-16
}

# Keeps the newest tags (and always the current one) so disk use stays bounded.
prune_old_tags() {
  local current="$1" older_tags
  older_tags="$(docker images "$repository" --format '{{.Tag}}' | grep -E '^[0-9a-f]{16}$' | grep -vx "$current" || true)"
  [[ -n "$older_tags" ]] || return 0
  echo "$older_tags" |
    while read -r tag; do
      printf '%s %s\n' "$(docker image inspect --format '{{.Created}}' "${repository}:${tag}")" "$tag"
    done | sort -r | tail -n +"$tags_kept" | cut -d' ' -f2 |
    while read -r tag; do
      log "pruning ${repository}:${tag}"
      docker rmi "${repository}:${tag}" >/dev/null || log "warning: could not remove ${repository}:${tag} (in use?)"
    done
}

finish_with() {
  docker tag "${repository}:$1" "${repository}:latest"
  log "tagged ${repository}:$1 as ${repository}:latest (total $((SECONDS - started))s)"
  echo "${repository}:$1"
  exit 0
}

# Tests and the CI script may run this at the same time; one build at a time keeps the tags sane.
exec {lock_fd}>"${TMPDIR:-/tmp}/agenstra-agent-image.lock"
if ! flock --nonblock "$lock_fd"; then
  log "another build.sh is running; waiting for it"
  flock "$lock_fd"
fi

docker info >/dev/null 2>&1 || fail "the Docker Engine does not answer (is dockerd running? DOCKER_HOST=${DOCKER_HOST:-unset})"

# The CLIs travel in their own small image (FROM scratch), so the agent image build copies them
# with COPY --from instead of sending hundreds of megabytes of build context each time.
clis_stage="$(bash "${here}/clis/stage-clis.sh")" || fail "staging the agent CLIs failed"
clis_image="agenstra/agent-clis:$(basename "$clis_stage")"
if ! image_exists "$clis_image"; then
  log "building ${clis_image} from ${clis_stage}"
  printf 'FROM scratch\nCOPY . /opt/agenstra/clis/\n' |
    docker build --quiet --tag "$clis_image" --file - "$clis_stage" >&2 || fail "building ${clis_image} failed"
fi
log "agent CLIs: $(cut -d' ' -f1 "${clis_stage}/installed.txt" | paste -sd, - | sed 's/^$/none/')"

offline_base="$(bash "$base_script" --print-image)"
case "${AGENT_BASE_IMAGE:-}" in
  "") if image_exists "$online_base"; then base="$online_base"; else base="$offline_base"; fi ;;
  debootstrap) base="$offline_base" ;;
  *) base="$AGENT_BASE_IMAGE" ;;
esac

hash="$(inputs_hash "$(describe_base "$base")")"
if image_exists "${repository}:${hash}"; then
  log "cache hit: ${repository}:${hash} (base ${base})"
  finish_with "$hash"
fi
log "cache miss: no ${repository}:${hash} (base ${base})"

if [[ -z "${AGENT_BASE_IMAGE:-}" && "$base" == "$offline_base" ]]; then
  timeout_seconds="${AGENT_PULL_TIMEOUT:-20}"
  log "trying to pull ${online_base} (up to ${timeout_seconds}s)"
  if timeout "$timeout_seconds" docker pull --quiet "$online_base" >/dev/null 2>&1; then
    base="$online_base"
  else
    log "no registry reachable: building on the offline debootstrap base"
  fi
fi

if [[ "$base" == agenstra/debian-base:* ]]; then
  base_started=$SECONDS
  built_base="$(bash "$base_script")" || fail "building the offline base failed"
  [[ "$built_base" == "$base" ]] || fail "build-base.sh produced ${built_base}, expected ${base}"
  log "offline base ready in $((SECONDS - base_started))s"
  network=none
elif ! image_exists "$base"; then
  log "pulling ${base}"
  docker pull "$base" >&2 || fail "cannot pull base image ${base}"
  network=default
else
  network=default
fi

# The base may have just arrived, which changes its id and so the hash.
hash="$(inputs_hash "$(describe_base "$base")")"
if image_exists "${repository}:${hash}"; then
  log "cache hit: ${repository}:${hash} (base ${base})"
  finish_with "$hash"
fi

log "building ${repository}:${hash} on ${base} (network ${network})"
build_started=$SECONDS
docker build --network="$network" \
  --build-arg BASE_IMAGE="$base" \
  --build-arg INPUTS_HASH="$hash" \
  --build-arg CLIS_IMAGE="$clis_image" \
  --tag "${repository}:${hash}" \
  "$here" >&2 || fail "docker build failed (output above)"
log "image built in $((SECONDS - build_started))s"
prune_old_tags "$hash"
finish_with "$hash"
