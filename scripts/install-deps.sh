#!/usr/bin/env bash
# Install the Debian 12 packages userbpf needs, if any are missing.
#
# Run as root (or with sudo available). Does nothing, and needs no network,
# when everything is already installed; otherwise runs `apt-get update` once
# and installs only the missing packages, non-interactively.
set -euo pipefail

PACKAGES=(
  cmake make pkg-config g++      # the build
  clang libclang-rt-14-dev       # BPF C test programs (-target bpf), libFuzzer and sanitizer runtimes
  libbpf-dev libelf-dev zlib1g-dev bpftool  # ELF/BTF loading, and a real BPF client to compare with
  liburcu-dev                    # RCU grace periods (liburcu-bp)
  libcli11-dev nlohmann-json3-dev  # the userbpf CLI
  libpcap-dev                    # packet replay
  libcapstone-dev                # x86-64 disassembly (JIT checks)
  libgtest-dev libbenchmark-dev  # tests and benchmarks
)

is_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

missing=()
for pkg in "${PACKAGES[@]}"; do
  is_installed "$pkg" || missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages are installed"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
  else
    echo "install-deps: missing packages (${missing[*]}) and not root: run this script as root" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -q
"${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null

still_missing=()
for pkg in "${missing[@]}"; do
  is_installed "$pkg" || still_missing+=("$pkg")
done
if [ ${#still_missing[@]} -ne 0 ]; then
  echo "install-deps: could not install: ${still_missing[*]}" >&2
  exit 1
fi
echo "install-deps: done"
