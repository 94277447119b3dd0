#!/usr/bin/env bash
# A three-node Docker Swarm (1 manager, 2 workers) and a registry with htpasswd credentials, all on
# this one machine, for the multi-node tests (test/cluster/). Root only. Idempotent and cheap when
# the cluster is already up.
#
#   scripts/test-cluster.sh up | down | status
#   scripts/test-cluster.sh stop-node nodeN [SIGNAL]   kill nodeN's dockerd by its PID (default KILL)
#   scripts/test-cluster.sh start-node nodeN           start nodeN's dockerd again (it rejoins)
#
# Shape: a hub network namespace holds a bridge (198.18.0.1/24) and the registry (198.18.0.1:5000);
# each node is a namespace of its own (198.18.0.11, .12, .13) joined to the bridge by a veth pair,
# running its own dockerd (and containerd) in a private mount and UTS namespace. Every address is
# in 198.18.0.0/15, which is neither private nor public: with no default route nothing leaves the
# machine, and nothing collides with the networks of the machine's own engine.
#
# The default engine (/var/run/docker.sock) and its swarm are never touched: each node's daemon
# listens on /run/container-updater-cluster/nodeN/docker.sock, and inside a node's mount namespace
# /var/run/docker.sock is that node's own socket (a container of the node mounting the socket, such
# as the updater deployed with deploy/stack.yml, reaches its node, not the host's engine).
# Nothing on the host changes: no bridge, no route, no firewall rule outside the namespaces.
set -euo pipefail

STATE_DIR=/var/lib/container-updater-cluster
RUN_DIR=/run/container-updater-cluster
HUB_NS=cu-cluster-hub
NODES=(node1 node2 node3)
REGISTRY_ADDR=198.18.0.1:5000
REGISTRY_USER=cu-cluster

log() { printf 'test-cluster: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
fail() { die "$@"; }
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

node_ns() { echo "cu-cluster-$1"; }
node_addr() { echo "198.18.0.1${1#node}"; }
node_sock() { echo "$RUN_DIR/$1/docker.sock"; }
node_docker() { local node=$1; shift; DOCKER_HOST="unix://$(node_sock "$node")" DOCKER_CONFIG="$RUN_DIR/docker-config" docker "$@"; }
node_pid() { local f="$RUN_DIR/$1/dockerd.pid"; [[ -f $f ]] && kill -0 "$(cat "$f")" 2>/dev/null && cat "$f"; }
node_up() { node_docker "$1" version --format '{{.Server.Version}}' >/dev/null 2>&1; }
node_swarm() { node_docker "$1" info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null || true; }
ns_exists() { [[ -e /run/netns/$1 ]]; }
hub() { nsenter --net="/run/netns/$HUB_NS" "$@"; }

# --- prerequisites ----------------------------------------------------------------------------------
require_tools() {
  [[ $(id -u) -eq 0 ]] || die "must run as root (it creates network namespaces and starts dockerd)"
  mkdir -p "$RUN_DIR" "$STATE_DIR"
  local tool missing=()
  for tool in ip nsenter unshare curl; do command -v "$tool" >/dev/null || missing+=("$tool"); done
  ((${#missing[@]} == 0)) || die "missing tools: ${missing[*]} (Debian: iproute2, util-linux, curl)"
  command -v dockerd >/dev/null && command -v docker >/dev/null || apt_install docker.io
  command -v docker-registry >/dev/null || apt_install docker-registry
}

# A bcrypt hash for the registry's htpasswd file: apache2-utils' htpasswd, else Python's crypt
# module (Debian 12's python3 has it), else install apache2-utils. The registry checks the hash on
# every request (a push or pull makes about ten), so this throwaway test password gets bcrypt's
# lowest cost (4): at the usual cost of 12, on a busy 2-core machine, one push took 5 s instead of
# a fraction of one.
bcrypt_hash() {
  if command -v htpasswd >/dev/null; then
    htpasswd -nbBC 4 "$REGISTRY_USER" "$1" | cut -d: -f2-
    return
  fi
  if command -v python3 >/dev/null && python3 -W ignore -c 'import crypt; crypt.METHOD_BLOWFISH' 2>/dev/null; then
    PASSWORD=$1 python3 -W ignore -c 'import crypt, os; print(crypt.crypt(os.environ["PASSWORD"], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))'
    return
  fi
  apt_install apache2-utils
  htpasswd -nbBC 4 "$REGISTRY_USER" "$1" | cut -d: -f2-
}

# --- network ----------------------------------------------------------------------------------------
ensure_network() {
  if ! ns_exists "$HUB_NS"; then
    ip netns add "$HUB_NS"
    ip -n "$HUB_NS" link set lo up
    ip -n "$HUB_NS" link add br0 type bridge
    ip -n "$HUB_NS" addr add 198.18.0.1/24 dev br0
    ip -n "$HUB_NS" link set br0 up
  fi
  local node ns
  for node in "${NODES[@]}"; do
    ns=$(node_ns "$node")
    ns_exists "$ns" || ip netns add "$ns"
    if ! ip -n "$ns" link show eth0 >/dev/null 2>&1; then
      ip -n "$HUB_NS" link del "v-$node" 2>/dev/null || true
      ip -n "$HUB_NS" link add "v-$node" type veth peer name eth0 netns "$ns"
      ip -n "$HUB_NS" link set "v-$node" master br0 up
      ip -n "$ns" link set lo up
      ip -n "$ns" addr add "$(node_addr "$node")/24" dev eth0
      ip -n "$ns" link set eth0 up
    fi
  done
}

# --- registry ---------------------------------------------------------------------------------------
registry_answers() { [[ $(hub curl -s -o /dev/null -w '%{http_code}' "http://$REGISTRY_ADDR/v2/" 2>/dev/null) == 401 ]]; }

ensure_registry() {
  registry_answers && return
  mkdir -p "$STATE_DIR/registry"
  if [[ ! -s "$RUN_DIR/registry-credentials" ]]; then
    local password
    password=$(head -c 18 /dev/urandom | base64 | tr '+/' 'xy')
    (umask 077 && printf '%s:%s\n' "$REGISTRY_USER" "$password" >"$RUN_DIR/registry-credentials")
    (umask 077 && printf '%s:%s\n' "$REGISTRY_USER" "$(bcrypt_hash "$password")" >"$STATE_DIR/htpasswd")
  fi
  registry_config "$STATE_DIR/registry" "$REGISTRY_ADDR" "$STATE_DIR/htpasswd" container-updater-cluster >"$RUN_DIR/registry.yml"
  local pid
  pid=$(cat "$RUN_DIR/registry.pid" 2>/dev/null || true)
  [[ -n "$pid" ]] && kill "$pid" 2>/dev/null || true
  setsid nohup nsenter --net="/run/netns/$HUB_NS" docker-registry serve "$RUN_DIR/registry.yml" \
    >"$RUN_DIR/registry.log" 2>&1 </dev/null &
  echo $! >"$RUN_DIR/registry.pid"
  wait_for 20 registry_answers || { tail -20 "$RUN_DIR/registry.log" >&2; die "the registry did not come up"; }
}

# --- nodes ------------------------------------------------------------------------------------------
start_node() {
  local node=$1 n=${1#node}
  local dir="$STATE_DIR/$node" run="$RUN_DIR/$node" ns
  ns=$(node_ns "$node")
  if node_pid "$node" >/dev/null; then return; fi
  mkdir -p "$dir/etc-docker" "$dir/data" "$run"
  rm -f "$run/docker.sock"
  # A dockerd killed outright leaves its containerd dying (or, rarely, running): a new dockerd that
  # finds it alive reuses it, then times out when it goes. Let it finish first.
  local containerd_pid
  containerd_pid=$(cat "$run/exec/containerd/containerd.pid" 2>/dev/null || true)
  if [[ -n "$containerd_pid" ]] && kill -0 "$containerd_pid" 2>/dev/null; then
    kill -KILL "$containerd_pid" 2>/dev/null || true
    wait_for 10 eval "! kill -0 $containerd_pid 2>/dev/null" || true
  fi
  rm -f "$run/exec/containerd/containerd.pid"
  # dockerd runs in the background of a small shell that, once the socket exists, binds it over
  # /var/run/docker.sock in this node's private mount namespace, then waits for dockerd to end.
  # shellcheck disable=SC2016 # expanded by the inner shell, from its arguments
  local script='hostname "$1" && mount --bind "$2/etc-docker" /etc/docker || exit 1
    shift 2; sock=$1; shift
    "$@" & pid=$!
    while kill -0 "$pid" 2>/dev/null && [ ! -S "$sock" ]; do sleep 0.1; done
    if [ -S "$sock" ] && [ -e /run/docker.sock ]; then mount --bind "$sock" /run/docker.sock; fi
    wait "$pid"'
  setsid nohup nsenter --net="/run/netns/$ns" unshare --mount --uts --propagation slave \
    sh -c "$script" sh "cu-$node" "$dir" "$run/docker.sock" \
    dockerd -H "unix://$run/docker.sock" --data-root "$dir/data" --exec-root "$run/exec" \
    --pidfile "$run/dockerd.pid" --containerd-namespace "cu-$node" --containerd-plugins-namespace "cu-$node-plugins" \
    --cgroup-parent "/cu-cluster-$node" --bip "198.19.$n.1/24" --default-address-pool base=198.19.64.0/18,size=24 \
    --insecure-registry "$REGISTRY_ADDR" --swarm-default-advertise-addr "$(node_addr "$node")" --log-level warn \
    >"$run/dockerd.log" 2>&1 </dev/null &
  wait_for 60 node_up "$node" || { tail -20 "$run/dockerd.log" >&2; die "$node's dockerd did not come up"; }
}

manager_ready() { [[ $(node_docker node1 info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}' 2>/dev/null) == "active true" ]]; }
ready_nodes() { node_docker node1 node ls --format '{{.Hostname}} {{.Status}}' 2>/dev/null | awk '$2 == "Ready"' | sort -u | wc -l; }
all_ready() { [[ $(ready_nodes) -eq ${#NODES[@]} ]]; }

ensure_swarm() {
  local fresh=false state node token
  state=$(node_swarm node1)
  if [[ "$state" != active ]]; then
    [[ "$state" == inactive ]] || node_docker node1 swarm leave --force >/dev/null 2>&1 || true
    log "swarm init on node1"
    node_docker node1 swarm init --advertise-addr "$(node_addr node1)" --listen-addr "$(node_addr node1):2377" \
      --default-addr-pool 198.19.128.0/18 >/dev/null
    fresh=true
  fi
  wait_for 30 manager_ready || die "node1 is not a working swarm manager"
  token=$(node_docker node1 swarm join-token -q worker)
  for node in "${NODES[@]:1}"; do
    state=$(node_swarm "$node")
    if [[ "$state" == active ]] && ! $fresh; then continue; fi
    [[ "$state" == inactive ]] || node_docker "$node" swarm leave --force >/dev/null 2>&1 || true
    log "$node joins the swarm"
    node_docker "$node" swarm join --token "$token" "$(node_addr node1):2377" >/dev/null
  done
  wait_for 60 all_ready || { node_docker node1 node ls >&2; die "not every node is Ready"; }
  # A node that rejoined under a new ID leaves its old entry behind, Down.
  local stale
  stale=$(node_docker node1 node ls --format '{{.ID}} {{.Status}}' | awk '$2 == "Down" { print $1 }')
  # shellcheck disable=SC2086 # one ID per word
  [[ -z "$stale" ]] || node_docker node1 node rm --force $stale >/dev/null 2>&1 || true
}

# The test client's Docker config: logged in to the registry (used by the script and the tests).
ensure_login() {
  local config="$RUN_DIR/docker-config"
  mkdir -p "$config"
  grep -q "$REGISTRY_ADDR" "$config/config.json" 2>/dev/null && return
  cut -d: -f2- "$RUN_DIR/registry-credentials" |
    node_docker node1 login --username "$REGISTRY_USER" --password-stdin "$REGISTRY_ADDR" >/dev/null 2>"$RUN_DIR/login.log" ||
    { cat "$RUN_DIR/login.log" >&2; die "docker login to the registry failed"; }
}

# Test services left by an interrupted run (the tests label theirs).
remove_stale_services() {
  local stale
  stale=$(node_docker node1 service ls -q --filter label=container-updater.test=1 2>/dev/null || true)
  # shellcheck disable=SC2086 # one ID per word
  [[ -z "$stale" ]] || node_docker node1 service rm $stale >/dev/null 2>&1 || true
}

healthy() {
  registry_answers && all_ready && [[ -s "$RUN_DIR/docker-config/config.json" ]] || return 1
  local node
  for node in "${NODES[@]}"; do [[ $(node_swarm "$node") == active ]] || return 1; done
}

cmd_up() {
  require_tools
  if ns_exists "$HUB_NS" && healthy; then
    log "already up"
    return
  fi
  ensure_network
  ensure_registry
  local node pids=()
  for node in "${NODES[@]}"; do start_node "$node" & pids+=($!); done
  # Only these: the registry started above is a child of this shell too.
  wait "${pids[@]}" || true
  for node in "${NODES[@]}"; do node_up "$node" || die "$node's dockerd is not running (log: $RUN_DIR/$node/dockerd.log)"; done
  ensure_swarm
  ensure_login
  remove_stale_services
  log "ready: manager unix://$(node_sock node1), registry $REGISTRY_ADDR (credentials in $RUN_DIR/registry-credentials)"
}

# --- teardown ---------------------------------------------------------------------------------------
# Kills every process left in a node's cgroups (its containers) and removes the cgroup dirs.
clear_cgroups() {
  local node=$1 dir pid
  for dir in /sys/fs/cgroup/*/"cu-cluster-$node" /sys/fs/cgroup/"cu-cluster-$node"; do
    [[ -d "$dir" ]] || continue
    while read -r pid; do kill -9 "$pid" 2>/dev/null || true; done < <(find "$dir" -name cgroup.procs -exec cat {} + 2>/dev/null)
  done
  for dir in /sys/fs/cgroup/*/"cu-cluster-$node" /sys/fs/cgroup/"cu-cluster-$node"; do
    [[ -d "$dir" ]] || continue
    # Children first: a cgroup dir can only be removed when empty.
    find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
}

stop_node() { # stop_node NODE SIGNAL
  local node=$1 signal=${2:-TERM} pid
  pid=$(node_pid "$node") || return 0
  kill "-$signal" "$pid"
  wait_for 20 eval "! kill -0 $pid 2>/dev/null" || kill -KILL "$pid" 2>/dev/null || true
}

cmd_down() {
  [[ $(id -u) -eq 0 ]] || die "must run as root"
  local node ns pid pids=()
  for node in "${NODES[@]}"; do
    # Containers first: busybox's sleep ignores SIGTERM, and dockerd would wait for each of them.
    clear_cgroups "$node"
    stop_node "$node" TERM & pids+=($!)
  done
  wait "${pids[@]}" || true
  for node in "${NODES[@]}"; do
    ns=$(node_ns "$node")
    # Whatever is still in the node's namespace (a containerd left by a killed dockerd, its shims).
    if ns_exists "$ns"; then
      for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    fi
    clear_cgroups "$node"
  done
  pid=$(cat "$RUN_DIR/registry.pid" 2>/dev/null || true)
  if [[ -n "$pid" ]]; then kill "$pid" 2>/dev/null || true; fi
  if ns_exists "$HUB_NS"; then
    for pid in $(ip netns pids "$HUB_NS" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
  fi
  sleep 0.3
  for node in "${NODES[@]}"; do
    ns=$(node_ns "$node")
    if ns_exists "$ns"; then ip netns del "$ns"; fi
  done
  if ns_exists "$HUB_NS"; then ip netns del "$HUB_NS"; fi
  # Container mounts lived in the nodes' private mount namespaces, gone with their processes.
  rm -rf "$RUN_DIR" "$STATE_DIR" || { sleep 1; rm -rf "$RUN_DIR" "$STATE_DIR"; }
  log "down"
}

cmd_status() {
  local node rc=0
  if ! ns_exists "$HUB_NS"; then log "down"; exit 3; fi
  if registry_answers; then log "registry $REGISTRY_ADDR answers (401 without credentials)"; else log "registry not answering"; rc=1; fi
  for node in "${NODES[@]}"; do
    if node_up "$node"; then log "$node: dockerd $(node_pid "$node"), swarm $(node_swarm "$node")"; else log "$node: dockerd not running"; rc=1; fi
  done
  if manager_ready; then node_docker node1 node ls >&2; else log "no swarm manager"; rc=1; fi
  exit "$rc"
}

valid_node() { [[ " ${NODES[*]} " == *" $1 "* ]] || die "unknown node '$1' (one of: ${NODES[*]})"; }

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  stop-node) valid_node "${2:-}"; stop_node "$2" "${3:-KILL}" ;;
  start-node) valid_node "${2:-}"; require_tools; start_node "$2" ;;
  *) die "usage: $0 up|down|status|stop-node NODE [SIGNAL]|start-node NODE" ;;
esac
