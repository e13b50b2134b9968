#!/usr/bin/env bash
# The userbpf demo: build the project; load an XDP firewall written in C into
# userbpf with Debian's unmodified libbpf, replay a packet capture through it
# and print what it counted; then look at its program and maps with the
# `userbpf` command line, as bpftool would show them on the kernel. No root,
# no kernel BPF.
#
# Environment: JOBS (default 2), BUILD_DIR (default "build"), SKIP_DEPS=1 to
# skip installing Debian packages, SKIP_BUILD=1 to use an existing build,
# CAPTURE=FILE.pcap to replay your own Ethernet capture instead of the
# bundled one.
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
  note "built: $BUILD/libuserbpf.so, $BUILD/libuserbpf.a, the CLI $BUILD/tools/cli/userbpf"
  note "and the demo: $BUILD/examples/xdp_firewall/ (firewall.bpf.o, xdp-firewall-replay, demo.pcap)"
fi
CLI="$BUILD/tools/cli/userbpf"
FW="$BUILD/examples/xdp_firewall"
CAPTURE=${CAPTURE:-$FW/demo.pcap}

# The demo gets a pin root of its own (USERBPF_FS), so it neither sees nor
# disturbs your maps; it is removed at the end.
export USERBPF_FS
USERBPF_FS=$(mktemp -d /tmp/userbpf-demo.XXXXXX)
trap 'rm -rf "$USERBPF_FS"' EXIT

step "What is this?"
note "userbpf is the Linux BPF subsystem in user space: the same bpf() ABI, verifier, map types and"
note "errno values, in any process. Programs built with clang load through unmodified libbpf."
run version

step "1. An XDP firewall in C, built with clang -target bpf"
note "examples/xdp_firewall/firewall.bpf.c counts packets per protocol in a per-CPU array, drops"
note "sources found in a blocklist hash and packets to blocked ports (settings in .rodata), and"
note "counts drops in .bss. The build compiled it and made a libbpf skeleton of it (bpftool gen"
note "skeleton). userbpf's verifier checks it as the kernel's would:"
run verify "$FW/firewall.bpf.o"

step "2. Load it with libbpf into userbpf and replay a capture through it"
note "xdp-firewall-replay (examples/xdp_firewall/replay.cpp) is an ordinary libbpf program linked"
note "with libuserbpf: firewall__open/load, map updates, BPF_PROG_TEST_RUN per packet, map reads."
note "The capture: $(basename "$CAPTURE") ($(du -h "$CAPTURE" | cut -f1))."
printf '%s$ %s%s\n' "$bold" "xdp-firewall-replay --block 10.66.6.6 --block 192.0.2.99 --block-tcp-port 23 $(basename "$CAPTURE")" "$reset"
"$FW/xdp-firewall-replay" --block 10.66.6.6 --block 192.0.2.99 --block-tcp-port 23 "$CAPTURE"

step "3. The same program from the command line: load, pin, run one packet, look at it"
run prog load "$FW/firewall.bpf.o" /sys/fs/bpf/firewall
run prog show pinned /sys/fs/bpf/firewall
note "One packet (an ARP request, 60 bytes) through it: XDP_PASS is 2."
ARP=ffffffffffff020000000002080600010800060400010000000000000a0001050000000000000a000001
ARP=$ARP$(printf '0%.0s' $(seq 1 36))
run prog run pinned /sys/fs/bpf/firewall hex "$ARP" repeat 1000
note "The first instructions, as the verifier accepted them (bpftool's 'dump xlated'):"
# (Through a file: with pipefail, head closing the pipe early would fail the demo.)
XLATED=$(mktemp)
run prog dump xlated pinned /sys/fs/bpf/firewall >"$XLATED"
head -n 16 "$XLATED"
rm -f "$XLATED"
note "The maps it uses, created when it was loaded:"
run map show

step "4. Maps from the command line, as bpftool drives kernel maps"
run map create /sys/fs/bpf/demo_hash type hash key 4 value 8 entries 16 name demo_hash
run map update pinned /sys/fs/bpf/demo_hash key 1 0 0 0 value 10 0 0 0 0 0 0 0
run map update pinned /sys/fs/bpf/demo_hash key hex 03 00 00 00 value hex 2a 00 00 00 00 00 00 00 noexist
note "'noexist' refuses to replace a key that is there; the error is the kernel's (EEXIST):"
run map update pinned /sys/fs/bpf/demo_hash key 1 0 0 0 value 99 0 0 0 0 0 0 0 noexist || true
run map dump pinned /sys/fs/bpf/demo_hash
note "JSON, shaped like bpftool's, for scripts:"
run -j map lookup pinned /sys/fs/bpf/demo_hash key 3 0 0 0
note "Pins are files in the pin root: they outlive every process, and removing the last one frees the object."
(cd "$USERBPF_FS" && ls -l firewall demo_hash)

step "Done. Next: scripts/test.sh builds every way and runs every test; README.md has the rest."
