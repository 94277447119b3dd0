#!/usr/bin/env bash
# The unit and route tests on Node 24 (the image's Node), after the main run on the machine's Node.
# better-sqlite3's native addon is built for one Node ABI, so they run from a copy of the tree
# installed under Node 24: the npm registry's node-linux-<arch>@24 package (the official build,
# with the headers node-gyp compiles the addon against when its prebuilt binary cannot be fetched;
# python3, make and g++ as for npm ci). Fails, never skips, when Node 24 cannot be had.
set -euo pipefail
cd "$(dirname "$0")/.."
case "$(uname -m)" in x86_64) arch=x64 ;; aarch64) arch=arm64 ;; *) echo "test-node24: no Node 24 package for $(uname -m)" >&2; exit 1 ;; esac
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
npm install --prefix "$dir/node24" --no-save --no-audit --no-fund "node-linux-$arch@24" >/dev/null
nodedir="$dir/node24/node_modules/node-linux-$arch"
[[ -x "$nodedir/bin/node" && -f "$nodedir/include/node/node.h" ]] || { echo "test-node24: node-linux-$arch@24 has no node binary or headers" >&2; exit 1; }
mkdir "$dir/tree"
git ls-files -z | xargs -0 cp --parents -t "$dir/tree"
cd "$dir/tree"
export PATH="$nodedir/bin:$PATH" npm_config_nodedir="$nodedir"
echo "test-node24: $(node --version)"
case "$(node --version)" in v24.*) ;; *) echo "test-node24: expected Node 24" >&2; exit 1 ;; esac
npm ci --no-audit --no-fund
npm run test:unit
