#!/usr/bin/env bash
# Runs GoogleTest binaries one after another and ends with a single tally line,
# "tests: N passed, M failed", that CI reads. Exit status is non-zero if any binary fails.
set -uo pipefail

passed=0
failed=0
status=0
for bin in "$@"; do
  echo "== $bin"
  out=$(mktemp)
  "$bin" --gtest_brief=1 2>&1 | tee "$out"
  rc=${PIPESTATUS[0]}
  # gtest's summary: "[  PASSED  ] 12 tests." and, on failure, "[  FAILED  ] 2 tests, listed below:"
  p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) tests\{0,1\}\..*/\1/p' "$out" | tail -1)
  f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) tests\{0,1\}, listed below:.*/\1/p' "$out" | tail -1)
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
  if [[ $rc -ne 0 ]]; then
    status=1
    [[ -z "$f" ]] && failed=$((failed + 1))  # crashed before its summary
  fi
  rm -f "$out"
done
echo "tests: $passed passed, $failed failed"
exit $status
