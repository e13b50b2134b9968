#!/usr/bin/env bash
# Build userbpf every way CI needs and run every test:
#   1. normal build, ctest of everything (unit, diff, stress; diff tests skip
#      themselves where the kernel's bpf() is unavailable)
#   2. AddressSanitizer + UndefinedBehaviorSanitizer build: unit and diff tests
#   3. ThreadSanitizer build: stress tests
#   4. clang + libFuzzer build: every fuzz target for FUZZ_SECONDS each
#   5. install check: cmake --install, then a C program built with pkg-config
#      and a CMake project with find_package(userbpf), and the installed CLI
# Every stage runs even if an earlier one failed; the exit status is non-zero
# if anything failed. The last line is "N passed, N failed, N skipped" (tests).
#
# Environment: JOBS (default 2), BUILD_PREFIX (build directories: PREFIX,
# PREFIX-asan, PREFIX-tsan, PREFIX-fuzz; default "build"), FUZZ_SECONDS
# (default 60), SKIP_DEPS=1 to skip installing Debian packages.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
JOBS=${JOBS:-2}
B=${BUILD_PREFIX:-build}
case "$B" in /*) ;; *) B="$ROOT/$B" ;; esac
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
LOG_DIR="$B-logs"
mkdir -p "$LOG_DIR"
WORK=$(mktemp -d /tmp/userbpf-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

T0=$SECONDS
TESTS_PASSED=0
TESTS_FAILED=0
TESTS_SKIPPED=0
SUMMARY=()
FLAKY=()

say() { printf '\n==== %s\n' "$*"; }
elapsed() { local s=$(($1)); printf '%dm%02ds' $((s / 60)) $((s % 60)); }

# stage_result NAME STATUS DETAIL START_SECONDS
stage_result() {
  SUMMARY+=("$(printf '%-5s %-44s %s (%s)' "$2" "$1" "$3" "$(elapsed $((SECONDS - $4)))")")
}

# build DIR TARGETS... -- CMAKE_ARGS...: configure and build, output to a log.
build() {
  local dir=$1; shift
  local targets=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do targets+=(--target "$1"); shift; done
  [ $# -gt 0 ] && shift
  local log="$LOG_DIR/$(basename "$dir").log"
  echo "building $dir (log: $log)"
  if ! { cmake -S "$ROOT" -B "$dir" "$@" && cmake --build "$dir" -j"$JOBS" "${targets[@]}"; } >"$log" 2>&1; then
    echo "BUILD FAILED: $dir; the last lines of $log:"
    grep -E 'error|Error' "$log" | head -n 20 | sed 's/^/    /'
    tail -n 30 "$log" | sed 's/^/    /'
    return 1
  fi
}

# run_ctest DIR NAME CTEST_ARGS...: runs ctest, adds its counts to the totals
# (read from its JUnit report) and sets CTEST_DETAIL.
run_ctest() {
  local dir=$1 name=$2; shift 2
  local junit="$LOG_DIR/$name-junit.xml"
  rm -f "$junit"
  (cd "$dir" && ctest --output-on-failure -j"$JOBS" --output-junit "$junit" "$@")
  local rc=$?
  # A test that fails once and passes when rerun alone is reported as FLAKY
  # (by name, in the summary) rather than failing the stage: a flaky test is
  # a bug to find, listed where everyone sees it, not a reason to hide it.
  local recovered=0
  if [ "$rc" -ne 0 ] && [ -f "$dir/Testing/Temporary/LastTestsFailed.log" ]; then
    local flaky
    flaky=$(cut -d: -f2- "$dir/Testing/Temporary/LastTestsFailed.log" | tr '\n' ' ')
    local nfailed
    nfailed=$(wc -l <"$dir/Testing/Temporary/LastTestsFailed.log")
    echo "rerunning the failed tests once, alone: $flaky"
    if (cd "$dir" && ctest --rerun-failed --output-on-failure -j1 "$@"); then
      FLAKY+=("$name: $flaky")
      recovered=$nfailed
      rc=0
    fi
  fi
  local total=0 failed=0 skipped=0
  if [ -f "$junit" ]; then
    local head
    # The attributes of <testsuite> span several lines.
    head=$(tr '\n\t' '  ' <"$junit" | grep -m1 -o '<testsuite [^>]*>')
    total=$(sed -n 's/.* tests="\([0-9]*\)".*/\1/p' <<<"$head")
    failed=$(sed -n 's/.* failures="\([0-9]*\)".*/\1/p' <<<"$head")
    skipped=$(sed -n 's/.* skipped="\([0-9]*\)".*/\1/p' <<<"$head")
    total=${total:-0} failed=${failed:-0} skipped=${skipped:-0}
  fi
  failed=$((failed > recovered ? failed - recovered : 0))
  if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; total=$((total + 1)); fi  # ctest itself failed
  TESTS_PASSED=$((TESTS_PASSED + total - failed - skipped))
  TESTS_FAILED=$((TESTS_FAILED + failed))
  TESTS_SKIPPED=$((TESTS_SKIPPED + skipped))
  CTEST_DETAIL="$total tests, $failed failed, $skipped skipped"
  return "$rc"
}

# run_ctest_tree DIR NAME CTEST_ARGS...: run_ctest on DIR, and also on the
# CLI's tests when the top-level CTestTestfile cannot reach them (tools/ is
# added before enable_testing(), so no tools/CTestTestfile.cmake links them).
run_ctest_tree() {
  local dir=$1 name=$2; shift 2
  local rc=0 detail
  run_ctest "$dir" "$name" "$@" || rc=1
  detail=$CTEST_DETAIL
  if [ ! -f "$dir/tools/CTestTestfile.cmake" ] && [ -f "$dir/tools/cli/CTestTestfile.cmake" ]; then
    local args=() a
    for a in "$@"; do [ "$a" != --no-tests=error ] && args+=("$a"); done
    run_ctest "$dir/tools/cli" "$name-cli" "${args[@]}" || rc=1
    detail="$detail; CLI: $CTEST_DETAIL"
  fi
  CTEST_DETAIL=$detail
  return $rc
}

# Source files of a test kind, e.g. have_sources tests/unit 'test_*.cpp'.
have_sources() { compgen -G "$ROOT/$1/$2" >/dev/null; }
target_names() { for f in "$ROOT"/$1/$2; do [ -e "$f" ] && basename "${f%.*}"; done; }

fail_stage() { # NAME DETAIL START
  TESTS_FAILED=$((TESTS_FAILED + 1))
  stage_result "$1" FAIL "$2" "$3"
}

# ---------------------------------------------------------------- 0. packages
if [ "${SKIP_DEPS:-0}" != 1 ]; then
  say "0. Debian packages"
  if ! "$ROOT/scripts/install-deps.sh"; then
    echo "cannot install the packages userbpf needs" >&2
    echo "0 passed, 1 failed"
    exit 1
  fi
fi

# Sanitizers stop at the first report; LeakSanitizer is on.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:check_initialization_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}

# -------------------------------------------------------------- 1. normal build
say "1. normal build, every test"
t=$SECONDS
NAME="1 build + ctest (all tests)"
if build "$B" -- -DCMAKE_BUILD_TYPE=RelWithDebInfo -DUSERBPF_WERROR=ON; then
  NORMAL_BUILD_OK=1
  if run_ctest_tree "$B" normal --timeout 900 --no-tests=error; then
    stage_result "$NAME" PASS "$CTEST_DETAIL" $t
  else
    stage_result "$NAME" FAIL "$CTEST_DETAIL" $t
  fi
else
  NORMAL_BUILD_OK=0
  fail_stage "$NAME" "build failed, see $LOG_DIR/$(basename "$B").log" $t
fi

# ------------------------------------------------------------ 2. ASan + UBSan
say "2. AddressSanitizer + UndefinedBehaviorSanitizer: unit and diff tests"
t=$SECONDS
NAME="2 asan+ubsan: unit + diff tests"
if ! have_sources tests/unit 'test_*.cpp' && ! have_sources tests/diff 'diff_*.cpp'; then
  stage_result "$NAME" SKIP "no unit or diff tests in the tree" $t
elif build "$B-asan" -- -DCMAKE_BUILD_TYPE=Debug -DUSERBPF_SANITIZE=address,undefined -DUSERBPF_BUILD_BENCH=OFF; then
  if run_ctest_tree "$B-asan" asan -L 'unit|diff' --timeout 1200; then
    stage_result "$NAME" PASS "$CTEST_DETAIL" $t
  else
    stage_result "$NAME" FAIL "$CTEST_DETAIL" $t
  fi
else
  fail_stage "$NAME" "build failed, see $LOG_DIR/$(basename "$B")-asan.log" $t
fi

# ------------------------------------------------------------------- 3. TSan
say "3. ThreadSanitizer: stress tests"
t=$SECONDS
NAME="3 tsan: stress tests"
if ! have_sources tests/stress 'stress_*.cpp'; then
  stage_result "$NAME" SKIP "no stress tests in the tree" $t
else
  mapfile -t STRESS_TARGETS < <(target_names tests/stress 'stress_*.cpp')
  if build "$B-tsan" "${STRESS_TARGETS[@]}" -- -DCMAKE_BUILD_TYPE=RelWithDebInfo -DUSERBPF_SANITIZE=thread \
      -DUSERBPF_BUILD_BENCH=OFF; then
    # Stress tests are timing-heavy: one at a time, so they do not starve each other.
    if run_ctest "$B-tsan" tsan -L stress -j1 --timeout 1800 --no-tests=error; then
      stage_result "$NAME" PASS "$CTEST_DETAIL" $t
    else
      stage_result "$NAME" FAIL "$CTEST_DETAIL" $t
    fi
  else
    fail_stage "$NAME" "build failed, see $LOG_DIR/$(basename "$B")-tsan.log" $t
  fi
fi

# ------------------------------------------------------------------- 4. fuzz
say "4. libFuzzer targets, ${FUZZ_SECONDS}s each"
t=$SECONDS
NAME="4 fuzz (clang, libFuzzer)"
if [ ! -f "$ROOT/fuzz/CMakeLists.txt" ]; then
  stage_result "$NAME" SKIP "no fuzz targets in the tree" $t
elif CC=clang CXX=clang++ build "$B-fuzz" -- -DCMAKE_BUILD_TYPE=RelWithDebInfo -DUSERBPF_BUILD_FUZZ=ON -DUSERBPF_WERROR=ON \
    -DUSERBPF_BUILD_TESTS=OFF -DUSERBPF_BUILD_BENCH=OFF; then
  mapfile -t FUZZERS < <(find "$B-fuzz/fuzz" -path '*/CMakeFiles' -prune -o -type f -executable ! -name '*.so*' -print | sort)
  fuzz_failed=0
  for bin in "${FUZZERS[@]}"; do
    fname=$(basename "$bin")
    corpus="$WORK/corpus-$fname"
    mkdir -p "$corpus"
    seeds=()
    [ -d "$ROOT/fuzz/corpus/$fname" ] && seeds+=("$ROOT/fuzz/corpus/$fname")
    dict=()
    [ -f "$ROOT/fuzz/$fname.dict" ] && dict+=("-dict=$ROOT/fuzz/$fname.dict")
    log="$LOG_DIR/fuzz-$fname.log"
    echo "fuzzing $fname for ${FUZZ_SECONDS}s (log: $log)"
    # A private pin root: whatever the fuzzer creates is thrown away.
    if USERBPF_FS=$(mktemp -d "$WORK/fs-XXXXXX") "$bin" -max_total_time="$FUZZ_SECONDS" -timeout=30 \
        -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$LOG_DIR/fuzz-$fname-" "${dict[@]}" \
        "$corpus" "${seeds[@]}" >"$log" 2>&1; then
      echo "  ok: $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?') runs"
      TESTS_PASSED=$((TESTS_PASSED + 1))
    else
      echo "  FAILED: $fname; crash input saved as $LOG_DIR/fuzz-$fname-*"
      # What failed and the input that makes it fail come first: a report
      # that is cut short still says what to fix and how to reproduce it.
      grep -m3 -E '^==== |ERROR: (libFuzzer|AddressSanitizer|UndefinedBehaviorSanitizer)|runtime error:' "$log" |
        sed 's/^/    /'
      for crash in "$LOG_DIR/fuzz-$fname-"*; do
        [ -f "$crash" ] && [ "$(stat -c %s "$crash")" -le 4096 ] || continue
        echo "    reproduce: echo $(base64 -w0 "$crash") | base64 -d >in && $bin in"
      done
      echo "    the last lines of $log:"
      tail -n 40 "$log" | sed 's/^/    /'
      TESTS_FAILED=$((TESTS_FAILED + 1))
      fuzz_failed=$((fuzz_failed + 1))
    fi
  done
  if [ ${#FUZZERS[@]} -eq 0 ]; then
    stage_result "$NAME" SKIP "the fuzz build made no targets" $t
  elif [ $fuzz_failed -eq 0 ]; then
    stage_result "$NAME" PASS "${#FUZZERS[@]} targets, 0 failed" $t
  else
    stage_result "$NAME" FAIL "${#FUZZERS[@]} targets, $fuzz_failed failed" $t
  fi
else
  fail_stage "$NAME" "build failed, see $LOG_DIR/$(basename "$B")-fuzz.log" $t
fi

# ---------------------------------------------------------------- 5. install
say "5. install check: pkg-config, find_package, the installed CLI"
t=$SECONDS
NAME="5 install: pkg-config, find_package, CLI"
if [ "$NORMAL_BUILD_OK" != 1 ]; then
  fail_stage "$NAME" "no normal build to install" $t
else
  "$ROOT/scripts/install-check.sh" "$B" "$WORK/install" | tee "$LOG_DIR/install-check.log"
  counts=$(tail -n 1 "$LOG_DIR/install-check.log" | sed -n 's/^install checks: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p')
  read -r ic_passed ic_failed <<<"${counts:-0 1}"
  TESTS_PASSED=$((TESTS_PASSED + ic_passed))
  TESTS_FAILED=$((TESTS_FAILED + ic_failed))
  if [ "$ic_failed" -eq 0 ]; then
    stage_result "$NAME" PASS "$ic_passed checks, 0 failed" $t
  else
    stage_result "$NAME" FAIL "$((ic_passed + ic_failed)) checks, $ic_failed failed" $t
  fi
fi

# ---------------------------------------------------------------- summary
say "summary ($(elapsed $((SECONDS - T0))) in all; logs in $LOG_DIR)"
for line in "${SUMMARY[@]}"; do echo "  $line"; done
for line in "${FLAKY[@]}"; do echo "  FLAKY (failed, then passed when rerun alone): $line"; done
echo "$TESTS_PASSED passed, $TESTS_FAILED failed, $TESTS_SKIPPED skipped"
[ "$TESTS_FAILED" -eq 0 ]
