#!/usr/bin/env bash
# Install a userbpf build into a scratch prefix and use it as a user would:
#   a. a C program built with `cc app.c $(pkg-config --cflags --libs userbpf)`
#   b. a CMake project with find_package(userbpf), linked shared and static (2 checks)
#   c. the installed CLI (P/bin/userbpf): create, update, dump, show a pinned map
#   d. the interposer P/lib/libuserbpf-preload.so: exports syscall(); with
#      bpftool installed, LD_PRELOADed into bpftool it creates and shows a map
# Usage: install-check.sh BUILD_DIR [WORK_DIR]. Runs 5 checks; the last line
# is "install checks: N passed, N failed"; the exit status is 0 if all passed.
set -uo pipefail

BUILD=${1:?usage: install-check.sh BUILD_DIR [WORK_DIR]}
WORK=${2:-$(mktemp -d /tmp/userbpf-install.XXXXXX)}
P="$WORK/prefix"
rm -rf "$P" "$WORK/c" "$WORK/cmake" "$WORK/fs"
mkdir -p "$WORK/c" "$WORK/cmake" "$WORK/fs"
# A private pin root, so the checks neither see nor leave other objects.
export USERBPF_FS="$WORK/fs"
CHECKS=5
failed=0

ok() { echo "  ok: $*"; }
bad() { echo "  FAILED: $*"; failed=$((failed + 1)); }

echo "installing $BUILD into $P"
if ! cmake --install "$BUILD" --prefix "$P" >"$WORK/install.log" 2>&1; then
  cat "$WORK/install.log"
  echo "  FAILED: cmake --install"
  echo "install checks: 0 passed, $CHECKS failed"
  exit 1
fi

LIBDIR=$(dirname "$(find "$P" -name 'libuserbpf.so' -print -quit)")

# The program every check builds: a map through the C ABI, as in the README.
cat >"$WORK/c/app.c" <<'EOF'
#include <userbpf/bpf.h>
#include <stdio.h>
#include <string.h>
#include <stdint.h>

int main(void) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.map_type = BPF_MAP_TYPE_ARRAY;
  attr.key_size = 4;
  attr.value_size = 8;
  attr.max_entries = 4;
  int fd = (int)userbpf_bpf(BPF_MAP_CREATE, &attr, sizeof(attr));
  if (fd < 0) { perror("BPF_MAP_CREATE"); return 1; }

  uint32_t key = 2;
  uint64_t value = 42, read_back = 0;
  memset(&attr, 0, sizeof(attr));
  attr.map_fd = (uint32_t)fd;
  attr.key = (uintptr_t)&key;
  attr.value = (uintptr_t)&value;
  if (userbpf_bpf(BPF_MAP_UPDATE_ELEM, &attr, sizeof(attr)) < 0) { perror("BPF_MAP_UPDATE_ELEM"); return 1; }
  attr.value = (uintptr_t)&read_back;
  if (userbpf_bpf(BPF_MAP_LOOKUP_ELEM, &attr, sizeof(attr)) < 0) { perror("BPF_MAP_LOOKUP_ELEM"); return 1; }
  if (read_back != 42) { fprintf(stderr, "read back %llu, wanted 42\n", (unsigned long long)read_back); return 1; }
  printf("map %d: key 2 = %llu\n", fd, (unsigned long long)read_back);
  return 0;
}
EOF

# ---- a. pkg-config
echo "a. cc app.c \$(pkg-config --cflags --libs userbpf)"
export PKG_CONFIG_PATH="$LIBDIR/pkgconfig"
flags=$(pkg-config --cflags --libs userbpf 2>&1)
echo "  pkg-config says: $flags"
if (cd "$WORK/c" && cc -Wall -Werror app.c $flags -o app 2>&1) && LD_LIBRARY_PATH="$LIBDIR" "$WORK/c/app"; then
  ok "pkg-config build runs"
else
  bad "pkg-config build"
fi

# ---- b. find_package
echo "b. a CMake project with find_package(userbpf), linked with the shared and the static library"
cp "$WORK/c/app.c" "$WORK/cmake/app.c"
cat >"$WORK/cmake/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.20)
project(userbpf_consumer C)
find_package(userbpf REQUIRED)
add_executable(app_shared app.c)
target_link_libraries(app_shared PRIVATE userbpf::userbpf)
add_executable(app_static app.c)
target_link_libraries(app_static PRIVATE userbpf::userbpf_static)
EOF
if cmake -S "$WORK/cmake" -B "$WORK/cmake/build" -DCMAKE_PREFIX_PATH="$P" >"$WORK/cmake.log" 2>&1; then
  for app in app_shared app_static; do
    if cmake --build "$WORK/cmake/build" --target "$app" >"$WORK/cmake-$app.log" 2>&1 &&
       "$WORK/cmake/build/$app"; then
      ok "find_package: $app builds and runs"
    else
      grep -E 'error|undefined' "$WORK/cmake-$app.log" | head -n 10 | sed 's/^/    /'
      bad "find_package: $app"
    fi
  done
else
  tail -n 30 "$WORK/cmake.log" | sed 's/^/    /'
  bad "find_package: configure"
  failed=$((failed + 1))  # both programs are lost
fi

# ---- c. the installed CLI
echo "c. the installed CLI"
CLI="$P/bin/userbpf"
if [ -x "$CLI" ] &&
   "$CLI" map create /sys/fs/bpf/install_check type array key 4 value 4 entries 8 name install_check &&
   "$CLI" map update pinned /sys/fs/bpf/install_check key 1 0 0 0 value 7 0 0 0 &&
   [ "$("$CLI" -j map lookup pinned /sys/fs/bpf/install_check key 1 0 0 0)" = \
     '{"key":["0x01","0x00","0x00","0x00"],"value":["0x07","0x00","0x00","0x00"]}' ] &&
   "$CLI" map show pinned /sys/fs/bpf/install_check | grep -q 'array  name install_check' &&
   ! "$CLI" map lookup pinned /sys/fs/bpf/install_check key 9 0 0 0 2>/dev/null; then
  ok "userbpf map create/update/lookup/show"
else
  bad "installed CLI"
fi

# ---- d. the LD_PRELOAD interposer
echo "d. the LD_PRELOAD interposer"
PRELOAD="$LIBDIR/libuserbpf-preload.so"
BPFTOOL=$(command -v bpftool || echo /usr/sbin/bpftool)
if [ ! -f "$PRELOAD" ] || ! nm -D --defined-only "$PRELOAD" | grep -qw syscall; then
  bad "libuserbpf-preload.so is not installed or does not export syscall"
elif [ ! -x "$BPFTOOL" ]; then
  ok "libuserbpf-preload.so installed (bpftool not installed: not run)"
elif LD_PRELOAD="$PRELOAD" "$BPFTOOL" map create /sys/fs/bpf/preload_check type hash key 4 value 4 entries 4 \
       name preload_check && [ -e "$USERBPF_FS/preload_check" ] &&
     shown=$(LD_PRELOAD="$PRELOAD" "$BPFTOOL" map show pinned /sys/fs/bpf/preload_check) &&
     grep -q 'name preload_check' <<<"$shown"; then
  ok "LD_PRELOAD=libuserbpf-preload.so bpftool map create/show"
else
  bad "LD_PRELOAD=libuserbpf-preload.so bpftool"
fi
rm -rf "$USERBPF_FS"

echo "install checks: $((CHECKS - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
