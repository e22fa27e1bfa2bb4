#!/usr/bin/env bash
# Runs every uvu test file (test/**/*.test.ts and co-located *.test.ts) and prints the closing
# line CI reads: "N passed, N failed, N skipped". uvu prints Total/Passed/Skipped instead and
# exits 0 when nothing ran, so both are translated here. register.mjs = tsx + resolution of
# 'tessera' for packages nested in the repo (examples/), as third-party plugins get it.
#
set -u
cd "$(dirname "$0")/.."
pattern=${1:-'\.test\.ts$'}
dirs=${TEST_DIRS:-test plugins kernels core examples}
total=0; passed=0; skipped=0; rc=0
for dir in $dirs; do
  [ -d "$dir" ] || continue
  out=$(NO_COLOR=1 node --import ./core/loader/register.mjs node_modules/uvu/bin.js "$dir" "$pattern" -i node_modules -i fixtures 2>&1); r=$?
  printf '%s\n' "$out"
  get() { printf '%s\n' "$out" | awk -v k="$1:" '$1==k {v=$2} END {print v+0}'; }
  t=$(get Total); p=$(get Passed); s=$(get Skipped)
  if [ "$r" -ne 0 ] && [ "$t" -eq 0 ]; then t=1; fi  # an import-time crash counts as a failure
  total=$((total + t)); passed=$((passed + p)); skipped=$((skipped + s))
  [ "$r" -ne 0 ] && rc=$r
done
failed=$((total - passed - skipped))
echo "$passed passed, $failed failed, $skipped skipped"
if [ "$total" -eq 0 ]; then echo "no tests ran" >&2; exit 1; fi
[ "$failed" -gt 0 ] && [ "$rc" -eq 0 ] && rc=1
exit $rc
