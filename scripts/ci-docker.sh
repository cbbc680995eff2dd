#!/usr/bin/env bash
# CI's Docker setup, runnable as root on a fresh Debian 12 machine with only Debian's package
# mirror and the npm registry reachable: installs docker.io, docker-compose and debootstrap when
# missing, starts dockerd when no engine answers, builds the stack's images offline
# (scripts/offline-images.sh), then runs the given command with the image variables exported and
# AUDITCHAOS_REQUIRE_DOCKER=1. A second run skips everything already done.
#
#   scripts/ci-docker.sh npm run test:docker
#   scripts/ci-docker.sh                      (set up only; prints the variables)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
log() { echo "ci-docker: $*" >&2; }
start=$(date +%s)

missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null; then missing+=(docker-compose); fi
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { log "need root to install ${missing[*]}"; exit 3; }
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=300 update -qq >&2
  apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

dockerd_log=/var/log/auditchaos-dockerd.log
engine_up() { timeout 10 docker info >/dev/null 2>&1; }
wait_engine() {
  for _ in $(seq 1 60); do
    engine_up && return 0
    sleep 0.5
  done
  return 1
}
start_dockerd() {
  log "starting dockerd $*"
  # setsid: the daemon outlives this script and the CI step's process group.
  setsid dockerd "$@" >>"$dockerd_log" 2>&1 </dev/null &
  echo $! >/var/run/auditchaos-dockerd.pid
  wait_engine
}
stop_our_dockerd() {
  local pid
  pid=$(cat /var/run/auditchaos-dockerd.pid 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  fi
}
if ! engine_up; then
  if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ] && systemctl start docker >&2 2>&1 && wait_engine; then
    log "dockerd started by systemd"
  elif start_dockerd; then
    log "dockerd started (log: $dockerd_log)"
  else
    # Fallbacks for restricted sandboxes: no overlayfs, then no iptables.
    stop_our_dockerd
    if start_dockerd --storage-driver=vfs; then
      log "dockerd started with --storage-driver=vfs (slower, no overlayfs here)"
    else
      stop_our_dockerd
      if start_dockerd --storage-driver=vfs --iptables=false; then
        log "dockerd started with --storage-driver=vfs --iptables=false"
      else
        log "the Docker engine would not start; last lines of $dockerd_log:"
        tail -25 "$dockerd_log" >&2 || true
        exit 3
      fi
    fi
  fi
fi
log "engine: $(docker version --format '{{.Server.Version}}' 2>/dev/null)"

exports=$("$repo/scripts/offline-images.sh" --env)
eval "$exports"
export AUDITCHAOS_REQUIRE_DOCKER=1
log "ready in $(($(date +%s) - start)) s"
if [ $# -gt 0 ]; then
  exec "$@"
else
  echo "$exports"
  echo "export AUDITCHAOS_REQUIRE_DOCKER=1"
fi
