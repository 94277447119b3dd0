# Shared by the test scripts (sourced, never run). The sourcing script defines `log` and `fail`
# (how it gives up: exit 1, or under test-swarm.sh outside CI a skip).

wait_for() { # wait_for SECONDS COMMAND...: true once COMMAND succeeds, false at the deadline
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

apt_install() { # apt_install PACKAGE...: from Debian's packages, the index updated once per boot
  [[ $(id -u) -eq 0 ]] || fail "cannot install $* without root"
  log "installing $* from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  if [[ ! -f "$RUN_DIR/apt-updated" ]]; then
    apt-get update -qq >&2 || fail "apt-get update failed; install $* by hand"
    touch "$RUN_DIR/apt-updated"
  fi
  apt-get install -y -qq --no-install-recommends "$@" >&2 || fail "apt-get install $* failed; install it by hand"
}

registry_config() { # registry_config ROOTDIR ADDR [HTPASSWD REALM]: a docker-registry config on stdout
  cat <<CONFIG
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $1
  delete:
    enabled: true
http:
  addr: $2
CONFIG
  if [[ $# -ge 4 ]]; then
    cat <<CONFIG
auth:
  htpasswd:
    realm: $4
    path: $3
CONFIG
  fi
}
