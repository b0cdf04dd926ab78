#!/usr/bin/env bash
# Builds the offline base of the agent image: a minimal Debian rootfs made with debootstrap from
# the apt mirror this machine already uses, imported into Docker. No container registry is
# needed, which is the point: the machines we run on cannot reach one.
#
#   build-base.sh                 build (or reuse) the base; prints the image reference on stdout
#   build-base.sh --print-image   print the reference the current inputs map to, build nothing
#
# Env: BASE_SUITE (bookworm), BASE_MIRROR (first non-security URI of the host's apt sources),
#      AGENSTRA_CACHE_DIR (/var/cache/agenstra, outside the clone so fresh clones reuse it).
# Progress goes to stderr; stdout carries only the image reference.
set -euo pipefail

suite="${BASE_SUITE:-bookworm}"
# git, node and tini are what the agent image needs; openssh-client lets the runner push over ssh.
packages="git,nodejs,ca-certificates,tini,openssh-client"
cache_dir="${AGENSTRA_CACHE_DIR:-/var/cache/agenstra}"

log() { printf '[build-base %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
fail() {
  log "ERROR: $*"
  exit 1
}

# The package list and every build step live in this file, so hashing it covers them.
inputs_hash="$({ cat "${BASH_SOURCE[0]}"; echo "$suite"; dpkg --print-architecture; } | sha256sum | cut -c1-16)"
image="agenstra/debian-base:${inputs_hash}"
tarball="${cache_dir}/debian-base-${inputs_hash}.tar"

if [[ "${1:-}" == "--print-image" ]]; then
  echo "$image"
  exit 0
fi

host_mirror() {
  local uri=""
  if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
    uri="$(awk '/^URIs:/ && $2 !~ /security/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources)"
  fi
  if [[ -z "$uri" && -f /etc/apt/sources.list ]]; then
    uri="$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { print $i; exit } }' /etc/apt/sources.list)"
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

# debootstrap mounts /proc (and sometimes /dev) inside the target; removing or packing the tree
# while they are mounted would reach into the host's.
unmount_under() {
  local mount_point
  awk -v root="$1" 'index($2, root) == 1 { print $2 }' /proc/mounts | sort -r |
    while read -r mount_point; do umount -l "$mount_point" || true; done
}

unmount_and_remove() {
  if [[ -d "$1" ]]; then
    unmount_under "$1"
    rm -rf --one-file-system "$1"
  fi
}

build_rootfs_tarball() {
  [[ "$(id -u)" == 0 ]] || fail "debootstrap must run as root (or set AGENT_BASE_IMAGE to an existing image)"
  command -v debootstrap >/dev/null || fail "debootstrap is not installed: apt-get install debootstrap"
  local mirror="${BASE_MIRROR:-$(host_mirror)}"
  mkdir -p "${cache_dir}/debs"
  work_dir="$(mktemp -d "${cache_dir}/rootfs-${inputs_hash}.XXXXXX")"
  trap 'unmount_and_remove "$work_dir"' EXIT
  local rootfs="${work_dir}/rootfs"

  log "debootstrap ${suite} (minbase + ${packages}) from ${mirror}"
  local started=$SECONDS
  # The downloaded .debs are kept apart from the rootfs so a changed package list re-downloads little.
  if ! debootstrap --variant=minbase --include="$packages" --cache-dir="${cache_dir}/debs" \
    "$suite" "$rootfs" "$mirror" >"${work_dir}/debootstrap.log" 2>&1; then
    tail -n 30 "${work_dir}/debootstrap.log" >&2
    [[ -f "${rootfs}/debootstrap/debootstrap.log" ]] && tail -n 30 "${rootfs}/debootstrap/debootstrap.log" >&2
    fail "debootstrap failed (log above)"
  fi
  log "debootstrap done in $((SECONDS - started))s"

  unmount_under "$rootfs"
  rm -rf "${rootfs}/var/cache/apt/"*.bin "${rootfs}/var/cache/apt/archives/"*.deb \
    "${rootfs}/var/lib/apt/lists/"* "${rootfs}/var/log/"* "${rootfs}/tmp/"* \
    "${rootfs}/usr/share/doc/"* "${rootfs}/usr/share/man/"* "${rootfs}/usr/share/info/"* \
    "${rootfs}/usr/share/locale/"* "${rootfs}/etc/resolv.conf" "${rootfs}/etc/hostname"

  tar -C "$rootfs" --numeric-owner -cf "${tarball}.partial" .
  mv "${tarball}.partial" "$tarball"
  log "rootfs cached at ${tarball} ($(du -h "$tarball" | cut -f1))"
}

# Older tarballs are kept a little while so switching between branches stays cheap.
prune_old_tarballs() {
  find "$cache_dir" -maxdepth 1 -name 'debian-base-*.tar' -printf '%T@ %p\n' | sort -rn |
    tail -n +3 | cut -d' ' -f2- | xargs -r rm -f
}

command -v docker >/dev/null || fail "docker CLI not found"

if docker image inspect "$image" >/dev/null 2>&1; then
  log "cache hit: ${image} is already in Docker"
  echo "$image"
  exit 0
fi

mkdir -p "$cache_dir"
if [[ -f "$tarball" ]]; then
  log "cache hit: rootfs ${tarball}"
else
  log "cache miss: building rootfs for ${image}"
  build_rootfs_tarball
fi

docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["bash"]' \
  --message "agenstra offline base (debootstrap ${suite}: ${packages})" \
  "$tarball" "$image" >/dev/null
touch "$tarball"
prune_old_tarballs
log "imported ${image}"
echo "$image"
