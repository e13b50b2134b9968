#!/bin/bash
# LD_PRELOAD=libuserbpf-preload.so into an unmodified libbpf-based program:
# bpftool (its own libbpf inside, libc's syscall() from outside) creates,
# updates, dumps and shows maps, loads and pins a program with BTF and global
# data, all in userbpf: the objects appear in the private pin root and the
# kernel never sees them.
# Usage: preload_test.sh LIBUSERBPF_PRELOAD_SO GLOBALS_BPF_O
set -u
preload=$1
obj=$2
bpftool=$(command -v bpftool || echo /usr/sbin/bpftool)
if [ ! -x "$bpftool" ]; then
  echo "SKIP: bpftool not installed"
  exit 77
fi
# Without the library, ld.so only warns and bpftool would pin into the real
# /sys/fs/bpf, leaving pins that fail every later run: refuse instead.
if [ ! -f "$preload" ]; then
  echo "FAIL: $preload does not exist (build the userbpf_preload target)"
  exit 1
fi
root=$(mktemp -d /dev/shm/userbpf-preload-XXXXXX)
trap 'rm -rf "$root"' EXIT
export USERBPF_FS=$root
fails=0
# A sanitizer build of the library needs its runtime loaded first, in a
# program that was not built with it.
runtimes=""
for rt in $(ldd "$preload" 2>/dev/null | awk '/lib(asan|ubsan|tsan)\.so/ { print $3 }'); do
  runtimes="$runtimes $rt"
done
if [ -n "$runtimes" ]; then
  # bpftool itself is not instrumented: its own leaks at exit are not ours.
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
fi
ub() { LD_PRELOAD="${runtimes# } $preload" "$bpftool" "$@"; }
expect() { # expect WHAT PATTERN OUTPUT
  if ! grep -q -- "$2" <<<"$3"; then
    echo "FAIL: $1: no '$2' in:"
    echo "$3"
    fails=$((fails + 1))
  fi
}

out=$(ub map create /sys/fs/bpf/pl_m type hash key 4 value 8 entries 16 name pl_m 2>&1) || echo "FAIL: map create: $out"
[ -e "$root/pl_m" ] || { echo "FAIL: the pin is not in the userbpf pin root"; fails=$((fails + 1)); }
out=$(ub map update pinned /sys/fs/bpf/pl_m key 1 0 0 0 value 2 0 0 0 0 0 0 0 2>&1) || { echo "FAIL: map update: $out"; fails=$((fails + 1)); }
expect "map dump" "Found 1 element" "$(ub map dump pinned /sys/fs/bpf/pl_m 2>&1)"
expect "map dump" "value: 02 00 00 00 00 00 00 00" "$(ub map dump pinned /sys/fs/bpf/pl_m 2>&1)"
expect "map show -j" '"name":"pl_m"' "$(ub -j map show pinned /sys/fs/bpf/pl_m 2>&1)"
out=$(ub prog load "$obj" /sys/fs/bpf/pl_p 2>&1) || { echo "FAIL: prog load: $out"; fails=$((fails + 1)); }
prog=$(ub prog show pinned /sys/fs/bpf/pl_p 2>&1)
expect "prog show" "socket_filter  name count_packets" "$prog"
expect "prog show" "btf_id" "$prog"
if [ "$(uname -m)" = x86_64 ]; then # the JIT's code, built by the info call in bpftool's process
  expect "prog show: jited" "jited [1-9][0-9]*B" "$prog"
fi
expect "map dump (BTF)" '"total": 100' "$(ub map dump name globals.data 2>&1)"
expect "btf show" "prog_ids" "$(ub btf show 2>&1)"
# The kernel has none of it.
if "$bpftool" map show 2>/dev/null | grep -q "name pl_m"; then
  echo "FAIL: the kernel has the map"
  fails=$((fails + 1))
fi
if [ "$fails" -ne 0 ]; then
  echo "$fails failure(s)"
  exit 1
fi
echo "preload: all bpftool commands went to userbpf"
