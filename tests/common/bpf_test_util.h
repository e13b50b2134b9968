// Helpers shared by userbpf's tests: thin wrappers over userbpf_bpf() (and,
// for differential tests, the kernel's bpf()) that return -errno on failure.
#pragma once

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include <userbpf/bpf.h>

namespace ubt {

using BpfFn = long (*)(int cmd, union bpf_attr *attr, unsigned int size);

inline long userbpf_call(int cmd, union bpf_attr *attr, unsigned int size) {
  return userbpf_bpf(cmd, attr, size);
}
inline long kernel_call(int cmd, union bpf_attr *attr, unsigned int size) {
  return syscall(__NR_bpf, cmd, attr, size);
}

// Result >= 0, or -errno.
inline long call(BpfFn fn, int cmd, union bpf_attr &attr) {
  long r = fn(cmd, &attr, sizeof(attr));
  return r < 0 ? -errno : r;
}

inline long map_create(BpfFn fn, uint32_t type, uint32_t key_size, uint32_t value_size,
                       uint32_t max_entries, uint32_t flags = 0, const char *name = nullptr,
                       uint64_t map_extra = 0) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.map_type = type;
  a.key_size = key_size;
  a.value_size = value_size;
  a.max_entries = max_entries;
  a.map_flags = flags;
  a.map_extra = map_extra;
  if (name) strncpy(a.map_name, name, sizeof(a.map_name) - 1);
  return call(fn, BPF_MAP_CREATE, a);
}

inline long map_lookup(BpfFn fn, int fd, const void *key, void *value, uint64_t flags = 0) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.map_fd = fd;
  a.key = reinterpret_cast<uintptr_t>(key);
  a.value = reinterpret_cast<uintptr_t>(value);
  a.flags = flags;
  return call(fn, BPF_MAP_LOOKUP_ELEM, a);
}

inline long map_update(BpfFn fn, int fd, const void *key, const void *value, uint64_t flags = 0) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.map_fd = fd;
  a.key = reinterpret_cast<uintptr_t>(key);
  a.value = reinterpret_cast<uintptr_t>(value);
  a.flags = flags;
  return call(fn, BPF_MAP_UPDATE_ELEM, a);
}

inline long map_delete(BpfFn fn, int fd, const void *key) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.map_fd = fd;
  a.key = reinterpret_cast<uintptr_t>(key);
  return call(fn, BPF_MAP_DELETE_ELEM, a);
}

inline long map_get_next_key(BpfFn fn, int fd, const void *key, void *next_key) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.map_fd = fd;
  a.key = reinterpret_cast<uintptr_t>(key);
  a.next_key = reinterpret_cast<uintptr_t>(next_key);
  return call(fn, BPF_MAP_GET_NEXT_KEY, a);
}

inline long map_lookup_and_delete(BpfFn fn, int fd, const void *key, void *value, uint64_t flags = 0) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.map_fd = fd;
  a.key = reinterpret_cast<uintptr_t>(key);
  a.value = reinterpret_cast<uintptr_t>(value);
  a.flags = flags;
  return call(fn, BPF_MAP_LOOKUP_AND_DELETE_ELEM, a);
}

inline long map_freeze(BpfFn fn, int fd) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.map_fd = fd;
  return call(fn, BPF_MAP_FREEZE, a);
}

// One of the four batch commands. *count is in/out as attr.batch.count.
inline long map_batch(BpfFn fn, int cmd, int fd, const void *in_batch, void *out_batch, void *keys,
                      void *values, uint32_t *count, uint64_t elem_flags = 0, uint64_t flags = 0) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.batch.map_fd = fd;
  a.batch.in_batch = reinterpret_cast<uintptr_t>(in_batch);
  a.batch.out_batch = reinterpret_cast<uintptr_t>(out_batch);
  a.batch.keys = reinterpret_cast<uintptr_t>(keys);
  a.batch.values = reinterpret_cast<uintptr_t>(values);
  a.batch.count = *count;
  a.batch.elem_flags = elem_flags;
  a.batch.flags = flags;
  long r = call(fn, cmd, a);
  *count = a.batch.count;
  return r;
}

// BPF_OBJ_GET_INFO_BY_FD into *info (Info: struct bpf_map_info,
// bpf_prog_info, ...), zeroed first: 0 or the negative errno.
template <typename Info> long object_info(BpfFn fn, int fd, Info *info) {
  memset(info, 0, sizeof(*info));
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.info.bpf_fd = static_cast<uint32_t>(fd);
  a.info.info_len = sizeof(*info);
  a.info.info = reinterpret_cast<uintptr_t>(info);
  return call(fn, BPF_OBJ_GET_INFO_BY_FD, a);
}

// The id of the object behind fd; 0 if its info cannot be had.
template <typename Info> uint32_t object_id(BpfFn fn, int fd) {
  Info info;
  return object_info(fn, fd, &info) == 0 ? info.id : 0;
}

// Load a GPL socket filter made of raw instructions (log level 1): its fd,
// or the negative errno; the verifier's log in *log when given.
inline long load_socket_filter(BpfFn fn, const struct bpf_insn *insns, size_t count, std::string *log = nullptr) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  a.insns = reinterpret_cast<uintptr_t>(insns);
  a.insn_cnt = static_cast<uint32_t>(count);
  a.license = reinterpret_cast<uintptr_t>("GPL");
  static char buf[16384];
  buf[0] = 0;
  a.log_buf = reinterpret_cast<uintptr_t>(buf);
  a.log_size = sizeof(buf);
  a.log_level = 1;
  long fd = call(fn, BPF_PROG_LOAD, a);
  if (log) *log = buf;
  return fd;
}

// Test-run a program once on a zeroed 64-byte packet: its return value as
// the kernel reports it (retval, the low 32 bits, signed), or the negative
// errno of the command with *ok false.
inline long long test_run_retval(BpfFn fn, int prog_fd, bool *ok = nullptr) {
  unsigned char packet[64] = {};
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.test.prog_fd = static_cast<uint32_t>(prog_fd);
  a.test.data_in = reinterpret_cast<uintptr_t>(packet);
  a.test.data_size_in = sizeof(packet);
  long r = call(fn, BPF_PROG_TEST_RUN, a);
  if (ok) *ok = r == 0;
  return r == 0 ? static_cast<int32_t>(a.test.retval) : r;
}

// Is the kernel's bpf() usable here (root, BPF enabled)? Differential tests
// skip with this reason when it is not.
inline bool kernel_bpf_available(std::string *why) {
  long fd = map_create(kernel_call, BPF_MAP_TYPE_ARRAY, 4, 4, 1);
  if (fd < 0) {
    if (why) *why = std::string("kernel bpf() unavailable: ") + strerror(static_cast<int>(-fd));
    return false;
  }
  close(static_cast<int>(fd));
  return true;
}

// Give this test process its own userbpf pin root, so tests never see each
// other's objects. Call before the first userbpf_bpf().
// On tmpfs (/dev/shm) where there is one, as the default root is.
// Remove a pin root made for tests, whole. userbpf's own exit handlers and
// threads (liburcu's, the one making program files ahead) may still remove
// or add files meanwhile: a failed remove does not stop the walk, and a root
// not empty yet gets another pass.
inline void remove_fs_root(const std::string &root) {
  for (int pass = 0; pass < 5 && access(root.c_str(), F_OK) == 0; pass++) {
    if (pass) usleep(10000);
    nftw(root.c_str(), [](const char *path, const struct stat *, int, struct FTW *) {
      remove(path);
      return 0;
    }, 16, FTW_DEPTH | FTW_PHYS);
  }
}

// Give this process a pin root of its own (USERBPF_FS), removed when it
// exits (not when a forked child does: a child that made its own, or exits
// with _exit, calls remove_fs_root itself). Returns the root, or "".
inline std::string use_private_fs_root() {
  char shm_tmpl[] = "/dev/shm/userbpf-test-XXXXXX";
  char tmp_tmpl[] = "/tmp/userbpf-test-XXXXXX";
  const char *dir = mkdtemp(shm_tmpl);
  if (!dir) dir = mkdtemp(tmp_tmpl);
  if (dir) {
    setenv("USERBPF_FS", dir, 1);
    // Every root this process made (tests may ask more than once), removed
    // by one exit handler.
    static std::vector<std::string> *roots = new std::vector<std::string>;
    static pid_t owner = 0;
    if (owner != getpid()) { // first call in this process (or a child of a caller)
      roots->clear();
      owner = getpid();
      static bool registered = false;
      if (!registered) {
        registered = true;
        atexit([] {
          if (getpid() != owner) return;
          for (const std::string &r : *roots) remove_fs_root(r);
        });
      }
    }
    roots->push_back(dir);
  }
  return dir ? dir : "";
}

} // namespace ubt
