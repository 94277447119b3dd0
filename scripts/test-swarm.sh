#!/usr/bin/env bash
# Brings up what the real-Swarm tests need, idempotently: a Docker engine, a single-node Swarm and a
# registry on 127.0.0.1:5000, plus busybox for building test images. Safe to run again and again.
#
# - If no Docker engine answers, it installs Debian's docker.io (as root) and starts dockerd itself;
#   only a daemon it started (or CU_TEST_SWARM_INIT=1) gets a `docker swarm init`, so a developer's
#   own engine is never turned into a swarm behind their back.
# - dockerd may have been stopped with /var/lib/docker still holding a swarm from an earlier run: the
#   restarted manager is waited for, and re-created only if it does not come back.
# - Outside CI a missing engine is a warning (the Swarm tests then skip); with CI=true it fails.
set -euo pipefail

STATE_DIR=${CU_TEST_STATE_DIR:-/var/lib/container-updater-test}
RUN_DIR=${CU_TEST_RUN_DIR:-/run/container-updater-test}
REGISTRY_ADDR=127.0.0.1:5000
OWNED_MARK="$RUN_DIR/dockerd.owned"

log() { printf 'test-swarm: %s\n' "$*" >&2; }
give_up() {
  log "$*"
  if [[ "${CI:-}" == "true" ]]; then exit 1; fi
  log "continuing without a test Swarm: the Swarm tests will be skipped (they fail under CI=true)"
  exit 0
}
is_root() { [[ $(id -u) -eq 0 ]]; }
docker_up() { docker info >/dev/null 2>&1; }
fail() { give_up "$@"; }
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

mkdir -p "$RUN_DIR" "$STATE_DIR" 2>/dev/null || { RUN_DIR=$(mktemp -d); OWNED_MARK="$RUN_DIR/dockerd.owned"; }

# 1. The Docker engine.
owned=false
if [[ -f "$OWNED_MARK" ]] && kill -0 "$(cat "$OWNED_MARK")" 2>/dev/null; then owned=true; fi
if ! docker_up; then
  if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null; then apt_install docker.io; fi
  is_root || give_up "no Docker engine answers and only root can start one"
  if [[ -S /var/run/docker.sock ]] && ! docker_up; then rm -f /var/run/docker.sock; fi
  log "starting dockerd (log: $RUN_DIR/dockerd.log)"
  setsid nohup dockerd --host unix:///var/run/docker.sock --pidfile "$RUN_DIR/dockerd.pid" \
    >"$RUN_DIR/dockerd.log" 2>&1 < /dev/null &
  echo $! >"$OWNED_MARK"
  owned=true
  wait_for 60 docker_up || { tail -20 "$RUN_DIR/dockerd.log" >&2; give_up "dockerd did not come up"; }
fi

# 2. The Swarm.
swarm_state() { docker info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}' 2>/dev/null || true; }
manager_ready() { [[ "$(swarm_state)" == "active true" ]] && docker node ls >/dev/null 2>&1; }
may_init=false
if $owned || [[ "${CU_TEST_SWARM_INIT:-}" == "1" ]]; then may_init=true; fi
state=$(swarm_state)
if [[ "$state" == "inactive false" ]]; then
  $may_init || give_up "this Docker engine is not in a swarm and was not started by this script; run with CU_TEST_SWARM_INIT=1 to let it run 'docker swarm init'"
  log "docker swarm init"
  docker swarm init --advertise-addr 127.0.0.1 >/dev/null
elif ! manager_ready; then
  # A swarm kept in /var/lib/docker from an earlier run takes a moment to elect itself again.
  log "waiting for the swarm manager (state: $state)"
  if ! wait_for 30 manager_ready; then
    $may_init || give_up "this engine's swarm is not a working manager (state: $(swarm_state))"
    log "re-creating the single-node swarm"
    docker swarm leave --force >/dev/null 2>&1 || true
    docker swarm init --force-new-cluster --advertise-addr 127.0.0.1 >/dev/null 2>&1 ||
      docker swarm init --advertise-addr 127.0.0.1 >/dev/null
  fi
fi
wait_for 30 manager_ready || give_up "the swarm manager is not ready (state: $(swarm_state))"

# Services left behind by an interrupted run (the tests label theirs). CU_TEST_SHARED=1 leaves them,
# and the images, alone: several work trees may run their tests on this one swarm at once.
stale=""
[[ "${CU_TEST_SHARED:-}" == "1" ]] || stale=$(docker service ls -q --filter label=container-updater.test=1)
if [[ -n "$stale" ]]; then
  log "removing $(wc -w <<<"$stale") test services left by an earlier run"
  # shellcheck disable=SC2086 # one ID per word
  docker service rm $stale >/dev/null
fi
# Images the test services pulled from the test registry (each run makes new ones).
old_images=""
[[ "${CU_TEST_SHARED:-}" == "1" ]] ||
  old_images=$(docker images --format '{{.Repository}} {{.ID}}' | awk '$1 ~ /^127\.0\.0\.1:5000\/cu-/ { print $2 }' | sort -u)
if [[ -n "$old_images" ]]; then
  # shellcheck disable=SC2086 # one ID per word
  docker rmi -f $old_images >/dev/null 2>&1 || true
fi

# 3. The registry on 127.0.0.1:5000 (loopback registries need no TLS for Docker).
registry_up() { curl -fsS -o /dev/null "http://$REGISTRY_ADDR/v2/" 2>/dev/null; }
if ! registry_up; then
  command -v docker-registry >/dev/null || apt_install docker-registry
  # Test images are made fresh by every run: start from an empty store so it cannot grow forever.
  rm -rf "$STATE_DIR/registry"
  mkdir -p "$STATE_DIR/registry"
  registry_config "$STATE_DIR/registry" "$REGISTRY_ADDR" >"$RUN_DIR/registry.yml"
  log "starting docker-registry on $REGISTRY_ADDR"
  setsid nohup docker-registry serve "$RUN_DIR/registry.yml" >"$RUN_DIR/registry.log" 2>&1 < /dev/null &
  wait_for 30 registry_up || { tail -20 "$RUN_DIR/registry.log" >&2; give_up "the registry did not come up"; }
fi

# 4. busybox, from which the tests `docker import` their tiny images; jq, which the fault-injecting
#    Docker CLI wrapper (test/faults/docker-faulty) reads its rules with.
if ! { ldd /bin/busybox 2>&1 || true; } | grep -q 'not a dynamic'; then apt_install busybox-static; fi
command -v jq >/dev/null || apt_install jq

log "ready: swarm manager $(docker info --format '{{.Swarm.NodeID}}'), registry $REGISTRY_ADDR"
