// libc functions libuserbpf interposes so that its fd table stays true, map
// fds get the kernel's mmap() semantics (see handle.h) and handles read as
// the kernel's anon inodes through readlink(). Each forwards to
// the system call itself, so there is no dlsym() and no recursion; for fds
// that are not userbpf handles the only cost is one table probe.
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "alloc/rcu.h"
#include "object/fd_table.h"
#include "object/handle.h"

// Not instrumented by ThreadSanitizer: its runtime calls mmap() while it
// starts, before instrumented code may run.
#define USERBPF_INTERPOSE extern "C" __attribute__((visibility("default"), no_sanitize("thread")))

namespace userbpf {
Handle *handle_detach(int fd);
void handle_release(Handle *h);
extern int g_tracked_mappings; // writable map mappings in this process
} // namespace userbpf

using namespace userbpf;

USERBPF_INTERPOSE int close(int fd) {
  Handle *h = fd_table_get(fd) ? handle_detach(fd) : nullptr;
  int r = static_cast<int>(syscall(SYS_close, fd));
  if (h) handle_release(h);
  return r;
}

__attribute__((no_sanitize("thread"))) static int dup_onto(int oldfd, int newfd, int flags, bool is_dup3) {
  Handle *h = (oldfd != newfd && fd_table_get(newfd)) ? handle_detach(newfd) : nullptr;
  int r = static_cast<int>(is_dup3 ? syscall(SYS_dup3, oldfd, newfd, flags)
                                   : (oldfd == newfd ? syscall(SYS_fcntl, oldfd, F_GETFD) < 0 ? -1 : newfd
                                                     : syscall(SYS_dup3, oldfd, newfd, 0)));
  if (h) handle_release(h);
  return r;
}

USERBPF_INTERPOSE int dup2(int oldfd, int newfd) { return dup_onto(oldfd, newfd, 0, false); }
USERBPF_INTERPOSE int dup3(int oldfd, int newfd, int flags) { return dup_onto(oldfd, newfd, flags, true); }

USERBPF_INTERPOSE int close_range(unsigned int first, unsigned int last, int flags) {
  std::vector<Handle *> closing;
  if (!(flags & CLOSE_RANGE_CLOEXEC)) {
    unsigned int top = static_cast<unsigned int>(kFdChunks) * kFdChunkSize - 1;
    for (unsigned int fd = first; fd <= last && fd <= top; ++fd) {
      if ((fd & (kFdChunkSize - 1)) == 0 && !g_fd_chunks[fd >> kFdChunkBits].load()) {
        fd += kFdChunkSize - 1; // empty chunk
        continue;
      }
      if (fd_table_get(static_cast<int>(fd)))
        if (Handle *h = handle_detach(static_cast<int>(fd))) closing.push_back(h);
    }
  }
  int r = static_cast<int>(syscall(SYS_close_range, first, last, flags));
  for (Handle *h : closing) handle_release(h);
  return r;
}

USERBPF_INTERPOSE void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
  if (fd >= 0 && !(flags & MAP_ANONYMOUS)) {
    RcuReadGuard guard;
    int err = 0;
    if (const Handle *h = handle_get(fd, &err)) return handle_mmap(*h, addr, len, prot, flags, fd, off);
  }
  long r = syscall(SYS_mmap, addr, len, prot, flags, fd, off);
  return r == -1 ? MAP_FAILED : reinterpret_cast<void *>(r);
}

USERBPF_INTERPOSE void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
  return mmap(addr, len, prot, flags, fd, off);
}

USERBPF_INTERPOSE int munmap(void *addr, size_t len) {
  int r = static_cast<int>(syscall(SYS_munmap, addr, len));
  if (r == 0 && __atomic_load_n(&g_tracked_mappings, __ATOMIC_RELAXED) > 0) handle_munmap(addr, len);
  return r;
}

// readlink() of /proc/self/fd/N for a handle: the kernel's anon inode name
// ("anon_inode:bpf-map", ...), not the store file's path. Tools tell a map fd
// from a program fd this way (bpftool's get_fd_type()).
namespace {

// The fd number in "/proc/self/fd/N", "/proc/<our pid>/fd/N" or "/dev/fd/N";
// -1 for any other path.
__attribute__((no_sanitize("thread"))) int fd_of_proc_path(const char *path) {
  const char *rest = nullptr;
  if (strncmp(path, "/proc/self/fd/", 14) == 0) {
    rest = path + 14;
  } else if (strncmp(path, "/dev/fd/", 8) == 0) {
    rest = path + 8;
  } else if (strncmp(path, "/proc/", 6) == 0) {
    char *end = nullptr;
    long pid = strtol(path + 6, &end, 10);
    if (end == path + 6 || pid != getpid() || strncmp(end, "/fd/", 4) != 0) return -1;
    rest = end + 4;
  } else {
    return -1;
  }
  char *end = nullptr;
  long fd = strtol(rest, &end, 10);
  if (end == rest || *end || fd < 0 || fd > INT32_MAX) return -1;
  return static_cast<int>(fd);
}

const char *anon_inode_name(ObjectKind kind) {
  switch (kind) {
    case ObjectKind::kMap: return "anon_inode:bpf-map";
    case ObjectKind::kProg: return "anon_inode:bpf-prog";
    case ObjectKind::kLink: return "anon_inode:bpf_link";
    case ObjectKind::kBtf: return "anon_inode:btf";
  }
  return nullptr;
}

// The link text for a handle fd, or nullptr for anything else.
__attribute__((no_sanitize("thread"))) const char *handle_link_text(const char *path) {
  int fd = fd_of_proc_path(path);
  if (fd < 0) return nullptr;
  RcuReadGuard guard;
  int err = 0;
  const Handle *h = handle_get(fd, &err);
  return h ? anon_inode_name(h->obj->kind) : nullptr;
}

ssize_t copy_link_text(const char *text, char *buf, size_t size) {
  size_t n = std::min(strlen(text), size);
  memcpy(buf, text, n);
  return static_cast<ssize_t>(n);
}

} // namespace

USERBPF_INTERPOSE ssize_t readlink(const char *path, char *buf, size_t size) {
  if (const char *text = handle_link_text(path)) return copy_link_text(text, buf, size);
  return syscall(SYS_readlinkat, AT_FDCWD, path, buf, size);
}

USERBPF_INTERPOSE ssize_t readlinkat(int dirfd, const char *path, char *buf, size_t size) {
  if (path[0] == '/' || dirfd == AT_FDCWD)
    if (const char *text = handle_link_text(path)) return copy_link_text(text, buf, size);
  return syscall(SYS_readlinkat, dirfd, path, buf, size);
}
