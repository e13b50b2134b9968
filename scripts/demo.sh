#!/usr/bin/env bash
# The userbpf demo: build the project, then drive BPF maps through the
# `userbpf` command line, exactly as you would drive kernel maps with bpftool,
# but without root and without touching the kernel's BPF.
#
# Environment: JOBS (default 2), BUILD_DIR (default "build"), SKIP_DEPS=1 to
# skip installing Debian packages, SKIP_BUILD=1 to use an existing build.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
JOBS=${JOBS:-2}
BUILD=${BUILD_DIR:-build}
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac

bold=$'\e[1m' dim=$'\e[2m' reset=$'\e[0m'
if [ ! -t 1 ]; then bold='' dim='' reset=''; fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$reset"; }
note() { printf '%s%s%s\n' "$dim" "$*" "$reset"; }
# Show a command, then run it.
run() {
  printf '%s$ %s%s\n' "$bold" "userbpf ${*}" "$reset"
  "$CLI" "$@"
}

if [ "${SKIP_DEPS:-0}" != 1 ]; then
  step "Installing the Debian packages userbpf needs (when missing)"
  "$ROOT/scripts/install-deps.sh"
fi

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  step "Building userbpf in $BUILD (cmake, -j$JOBS; the log is $BUILD-demo-build.log)"
  if ! { cmake -S "$ROOT" -B "$BUILD" && cmake --build "$BUILD" -j"$JOBS"; } >"$BUILD-demo-build.log" 2>&1; then
    tail -n 40 "$BUILD-demo-build.log"
    echo "The build failed; the whole log is $BUILD-demo-build.log" >&2
    exit 1
  fi
  note "built: $BUILD/libuserbpf.so, $BUILD/libuserbpf.a and the CLI $BUILD/tools/cli/userbpf"
fi
CLI="$BUILD/tools/cli/userbpf"

# The demo gets a pin root of its own (USERBPF_FS), so it neither sees nor
# disturbs your maps; it is removed at the end.
export USERBPF_FS
USERBPF_FS=$(mktemp -d /tmp/userbpf-demo.XXXXXX)
trap 'rm -rf "$USERBPF_FS"' EXIT

step "What is this?"
note "userbpf is the Linux BPF subsystem in user space: the same bpf() ABI, map types and errno"
note "values, in any process. Pins live in a directory tree (the pin root) instead of bpffs;"
note "/sys/fs/bpf/... paths map onto it, so bpftool-style commands work unchanged."
run version

step "1. Create two maps and pin them, as 'bpftool map create' does"
note "A hash map: 4-byte keys, 8-byte values, room for 16 elements."
run map create /sys/fs/bpf/demo_hash type hash key 4 value 8 entries 16 name demo_hash
note "A per-CPU array: every CPU has its own copy of each value."
run map create /sys/fs/bpf/demo_percpu type percpu_array key 4 value 8 entries 4 name demo_percpu
note "Each command was a process of its own: the maps live on through their pins, here:"
(cd "$USERBPF_FS" && ls -l demo_hash demo_percpu)

step "2. Put elements in the hash map (keys and values are bytes, little-endian here)"
run map update pinned /sys/fs/bpf/demo_hash key 1 0 0 0 value 10 0 0 0 0 0 0 0
run map update pinned /sys/fs/bpf/demo_hash key 2 0 0 0 value hex ff 00 00 00 00 00 00 00
run map update pinned /sys/fs/bpf/demo_hash key hex 03 00 00 00 value hex 2a 00 00 00 00 00 00 00 noexist
note "'noexist' refuses to replace a key that is there; the error is the kernel's (EEXIST):"
run map update pinned /sys/fs/bpf/demo_hash key 1 0 0 0 value 99 0 0 0 0 0 0 0 noexist || true

step "3. Read them back"
run map dump pinned /sys/fs/bpf/demo_hash
run map lookup pinned /sys/fs/bpf/demo_hash key 2 0 0 0
note "Walk order is the hash table's bucket order, as in the kernel; getnext without a key gives the first:"
run map getnext pinned /sys/fs/bpf/demo_hash
note "Delete key 2; looking it up again fails with ENOENT, as in the kernel:"
run map delete pinned /sys/fs/bpf/demo_hash key 2 0 0 0
run map lookup pinned /sys/fs/bpf/demo_hash key 2 0 0 0 || true
run map dump pinned /sys/fs/bpf/demo_hash

step "4. The per-CPU array: one value per CPU"
note "From user space an update sets every CPU's copy; a BPF program would change only its own CPU's."
run map update pinned /sys/fs/bpf/demo_percpu key 1 0 0 0 value 7 0 0 0 0 0 0 0
run map lookup pinned /sys/fs/bpf/demo_percpu key 1 0 0 0
run map dump pinned /sys/fs/bpf/demo_percpu

step "5. Show the maps (ids, types, sizes; -f adds where each is pinned)"
run map show
run -f map show
note "JSON, shaped like bpftool's, for scripts (-j; -p pretty-prints):"
run -j map show
run -p map show pinned /sys/fs/bpf/demo_hash
run -j map lookup pinned /sys/fs/bpf/demo_percpu key 1 0 0 0

step "6. Clean up: removing the last pin of a map frees it, as on bpffs"
printf '%s$ %s%s\n' "$bold" "rm \$USERBPF_FS/demo_hash \$USERBPF_FS/demo_percpu" "$reset"
rm "$USERBPF_FS/demo_hash" "$USERBPF_FS/demo_percpu"
run map show
note "(no maps left)"

step "Done. Next: scripts/test.sh builds every way and runs every test; README.md has the rest."
