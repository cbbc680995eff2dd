#!/usr/bin/env bash
# Builds every image the compose stack needs without any image registry: a Debian base from
# debootstrap + `docker import`, PostgreSQL from Debian's packages, Node from this host's own
# binary, the reference service from this repository, the built-in proxy in place of
# ghcr.io/shopify/toxiproxy, and the example stack examples/pyledger (Python from Debian). Needs
# root, docker, debootstrap and Debian's package mirror (or DEBIAN_MIRROR pointing at a local one).
# Idempotent: images that exist are kept, except the three built from this repository, which are
# rebuilt (fast: Docker's layer cache), and the Postgres image when its files changed.
#
#   scripts/offline-images.sh               build, then print the variables to export
#   eval "$(scripts/offline-images.sh --env)"   build quietly and export them into this shell
#   scripts/offline-images.sh --rebuild     rebuild the base, Node and Postgres images too
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
prefix=${AUDITCHAOS_IMAGE_PREFIX:-auditchaos}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=bookworm
env_only=0
rebuild=0
for a in "$@"; do
  case "$a" in
    --env) env_only=1 ;;
    --rebuild) rebuild=1 ;;
    -h | --help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "unknown argument: $a" >&2; exit 2 ;;
  esac
done

log() { if [ "$env_only" = 1 ]; then echo "offline-images: $*" >&2; else echo "offline-images: $*"; fi; }
# Builds quietly; on failure shows the builder's output (the legacy builder's deprecation notice is noise).
build() {
  if ! docker build -q "$@" >"$work/build.log" 2>&1; then
    grep -v -e DEPRECATED -e 'legacy builder' -e buildx "$work/build.log" >&2
    echo "offline-images: docker build $* failed" >&2
    exit 3
  fi
}
have_image() { [ "$rebuild" = 0 ] && docker image inspect "$1" >/dev/null 2>&1; }

command -v docker >/dev/null || { echo "offline-images: docker is not installed" >&2; exit 3; }
docker info >/dev/null 2>&1 || { echo "offline-images: the Docker engine does not answer (is dockerd running?)" >&2; exit 3; }

node_bin=$(command -v node || true)
[ -n "$node_bin" ] || { echo "offline-images: node is not installed on this host" >&2; exit 3; }
node_bin=$(readlink -f "$node_bin")
node_version=$("$node_bin" --version | sed 's/^v//')

base_image=$prefix/debian:$suite
node_image=$prefix/node:$node_version-$suite
postgres_image=$prefix/postgres:15-$suite
auditlog_image=$prefix/auditlog:dev
proxy_image=$prefix/proxy:dev
pyledger_image=$prefix/pyledger:dev

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

start=$(date +%s)
if have_image "$base_image"; then
  log "$base_image present"
else
  command -v debootstrap >/dev/null || { echo "offline-images: debootstrap is not installed (apt-get install debootstrap)" >&2; exit 3; }
  log "debootstrap $suite (minbase) from $mirror"
  debootstrap --variant=minbase "$suite" "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; exit 3; }
  # Slim the image a little: no docs, no apt lists (each build refreshes its own).
  rm -rf "$work/rootfs/var/lib/apt/lists/"* "$work/rootfs/usr/share/doc/"* "$work/rootfs/usr/share/man/"*
  echo "deb $mirror $suite main" >"$work/rootfs/etc/apt/sources.list"
  tar -C "$work/rootfs" -c . | docker import --change 'CMD ["/bin/bash"]' - "$base_image" >/dev/null
  rm -rf "$work/rootfs"
  log "$base_image imported"
fi

if have_image "$node_image"; then
  log "$node_image present"
else
  log "building $node_image from this host's Node ($node_bin)"
  mkdir -p "$work/node"
  cp "$repo/compose/offline/node/Dockerfile" "$work/node/"
  cp "$node_bin" "$work/node/node"
  build --build-arg "BASE_IMAGE=$base_image" -t "$node_image" "$work/node"
fi

# The Postgres image is kept only while it was built from the same files (its entrypoint changes
# with the repository): a label holds their hash.
pg_context=$(cat "$repo"/compose/offline/postgres/* | sha256sum | cut -c1-16)
pg_label=$(docker image inspect -f '{{index .Config.Labels "io.auditchaos.context"}}' "$postgres_image" 2>/dev/null || true)
if have_image "$postgres_image" && [ "$pg_label" = "$pg_context" ]; then
  log "$postgres_image present"
else
  log "building $postgres_image from Debian's postgresql-15"
  build --build-arg "BASE_IMAGE=$base_image" --label "io.auditchaos.context=$pg_context" \
    -t "$postgres_image" "$repo/compose/offline/postgres"
fi

log "building $auditlog_image from this repository"
build --build-arg "NODE_IMAGE=$node_image" -f "$repo/compose/auditlog/Dockerfile" \
  -t "$auditlog_image" "$repo"
log "building $proxy_image (built-in Toxiproxy-compatible proxy)"
build --build-arg "APP_IMAGE=$auditlog_image" \
  -t "$proxy_image" "$repo/compose/proxy"
log "building $pyledger_image (examples/pyledger: Debian's python3 + psycopg2)"
"$repo/examples/pyledger/build-image.sh" "$base_image" "$pyledger_image" >/dev/null
log "done in $(($(date +%s) - start)) s"

exports="export AUDITCHAOS_POSTGRES_IMAGE=$postgres_image
export AUDITCHAOS_TOXIPROXY_IMAGE=$proxy_image
export AUDITCHAOS_NODE_IMAGE=$node_image
export AUDITCHAOS_AUDITLOG_IMAGE=$auditlog_image
export PYLEDGER_BASE_IMAGE=$base_image
export PYLEDGER_IMAGE=$pyledger_image"
if [ "$env_only" = 1 ]; then
  echo "$exports"
else
  echo
  echo "Use these images with auditchaos (or docker compose -f compose/stack.yml):"
  echo "$exports"
fi
