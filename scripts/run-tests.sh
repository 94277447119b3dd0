#!/usr/bin/env bash
# Runs the test files, once `npm test` has brought up what they need. Most run two files at a time
# (the real-Swarm files mostly wait on Swarm). These run one at a time, after the others: the files
# that make watched services (an updater under test watches every service of the shared test swarm
# that carries `container-updater.watch`, whichever test made it, and would update it), and the
# cluster files (node-failure restarts the cluster manager's engine under the other files' feet).
set -uo pipefail
cd "$(dirname "$0")/.."
shopt -s nullglob
serial=(test/swarm/watch-*.test.ts test/faults/watch-*.test.ts test/browser/*.test.ts test/cluster/*.test.ts)
parallel=()
for f in test/unit/*.test.ts test/routes/*.test.ts test/swarm/*.test.ts test/faults/*.test.ts test/image/*.test.ts test/cluster/*.test.ts; do
  case " ${serial[*]} " in *" $f "*) ;; *) parallel+=("$f") ;; esac
done
rc=0
node --import tsx --test --test-concurrency=2 --test-timeout=600000 "${parallel[@]}" || rc=$?
node --import tsx --test --test-concurrency=1 --test-timeout=600000 "${serial[@]}" || rc=$?
exit "$rc"
