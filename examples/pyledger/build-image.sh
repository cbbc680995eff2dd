#!/usr/bin/env bash
# Builds pyledger's image without any registry, on the Debian base scripts/offline-images.sh
# imports (debootstrap + docker import). scripts/offline-images.sh calls this; by hand:
#
#   examples/pyledger/build-image.sh [BASE_IMAGE] [TAG]
#       BASE_IMAGE default auditchaos/debian:bookworm, TAG default auditchaos/pyledger:dev
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
base=${1:-${PYLEDGER_BASE_IMAGE:-auditchaos/debian:bookworm}}
tag=${2:-${PYLEDGER_IMAGE:-auditchaos/pyledger:dev}}
docker image inspect "$base" >/dev/null 2>&1 || {
  echo "build-image: base image $base is absent (scripts/offline-images.sh imports it)" >&2
  exit 3
}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! docker build -q --build-arg "BASE_IMAGE=$base" -t "$tag" "$here" >"$log" 2>&1; then
  grep -v -e DEPRECATED -e 'legacy builder' -e buildx "$log" >&2
  echo "build-image: docker build of $tag failed" >&2
  exit 3
fi
echo "$tag"
