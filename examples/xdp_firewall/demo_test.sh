#!/usr/bin/env bash
# Tests of the main demo's program (xdp-firewall-replay).
#   demo_test.sh unit REPLAY CAPTURE
#       runs it on userbpf and checks what it printed adds up;
#   demo_test.sh diff REPLAY REPLAY_KERNEL CAPTURE
#       runs the same program built without libuserbpf on the kernel, and
#       requires the same counters and verdicts (exit 77, a skip, where the
#       kernel's bpf() is not available).
set -uo pipefail
mode=$1
shift
ARGS=(--block 10.66.6.6 --block 192.0.2.99 --block-tcp-port 23)
export USERBPF_FS
USERBPF_FS=$(mktemp -d /tmp/userbpf-demo-test.XXXXXX)
trap 'rm -rf "$USERBPF_FS"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# What does not depend on the run: the counters and verdicts.
results() { sed -n '/^protocol/,$p' "$1"; }

case "$mode" in
unit)
  replay=$1 capture=$2
  out=$(mktemp)
  "$replay" "${ARGS[@]}" "$capture" >"$out" 2>&1 || { cat "$out"; fail "the demo failed"; }
  cat "$out"
  grep -q '^20000 packets in' "$out" || fail "not every packet ran"
  # The protocol rows add up to the packets, and pass + drop too.
  sum=$(sed -n '/^protocol/,/^$/p' "$out" | awk 'NR > 1 && NF >= 3 { s += $(NF-1) } END { print s + 0 }')
  [ "$sum" = 20000 ] || fail "protocol counters add up to $sum, not 20000"
  pass=$(sed -n 's/^verdicts: pass \([0-9]*\).*/\1/p' "$out")
  drop=$(sed -n 's/.* drop \([0-9]*\).*/\1/p' "$out")
  [ $((pass + drop)) = 20000 ] || fail "pass $pass + drop $drop is not 20000"
  # Every drop has a reason the program counted.
  # Each reason ends in its count ("by port N", "malformed N", "from ADDR N").
  reasons=$(sed -n 's/^dropped: //p' "$out" | tr ',' '\n' | awk '{ s += $NF } END { print s + 0 }')
  [ "$reasons" = "$drop" ] || fail "drop reasons add up to $reasons, not $drop"
  [ "$drop" -gt 0 ] && [ "$pass" -gt 0 ] || fail "expected both verdicts"
  # Bad input: a file that is not a capture.
  if "$replay" "$replay" >"$out" 2>&1; then fail "a non-capture file was accepted"; fi
  grep -q 'xdp-firewall-replay' "$out" || fail "no error message for a bad capture: $(cat "$out")"
  rm -f "$out"
  echo "PASS"
  ;;
diff)
  replay=$1 kernel_replay=$2 capture=$3
  ours=$(mktemp) theirs=$(mktemp)
  if ! "$kernel_replay" "${ARGS[@]}" "$capture" >"$theirs" 2>&1; then
    if grep -q 'Operation not permitted\|Function not implemented' "$theirs"; then
      echo "SKIP: the kernel's bpf() is not available here: $(head -n 3 "$theirs")"
      exit 77
    fi
    cat "$theirs"
    fail "the kernel run failed"
  fi
  "$replay" "${ARGS[@]}" "$capture" >"$ours" 2>&1 || { cat "$ours"; fail "the userbpf run failed"; }
  if ! diff <(results "$theirs") <(results "$ours"); then fail "userbpf's counters differ from the kernel's (< kernel, > userbpf)"; fi
  results "$ours"
  echo "PASS: the same counters and verdicts as the kernel"
  rm -f "$ours" "$theirs"
  ;;
*) echo "usage: $0 unit|diff ..." >&2; exit 2 ;;
esac
