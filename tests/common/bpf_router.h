// syscall() for test and benchmark binaries that run libbpf against both the
// kernel and userbpf: include in exactly one translation unit of the binary.
//
// libbpf calls syscall(__NR_bpf, ...). This definition, in the executable,
// takes precedence over libc's: __NR_bpf goes to the backend chosen for the
// calling thread (ubt::t_backend), every other number to the real syscall().
// (Programs linked with libuserbpf.so get libuserbpf's own syscall() instead,
// which always chooses userbpf; these binaries link the objects directly.)
#pragma once

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <sys/syscall.h>

#include <userbpf/bpf.h>

namespace ubt {
enum class Backend { kKernel, kUserbpf };
inline thread_local Backend t_backend = Backend::kKernel;

// Run `fn` with bpf() going to `backend`, then back to the kernel.
template <typename F> auto with_backend(Backend backend, F &&fn) {
  struct Restore {
    ~Restore() { t_backend = Backend::kKernel; }
  } restore;
  t_backend = backend;
  return fn();
}
} // namespace ubt

// No AddressSanitizer here: the six argument slots are read whatever the
// number takes, and for shorter calls the last ones are the caller's stack.
extern "C" __attribute__((no_sanitize("address"))) long syscall(long nr, ...) noexcept {
  using SyscallFn = long (*)(long, ...);
  static SyscallFn real = reinterpret_cast<SyscallFn>(dlsym(RTLD_NEXT, "syscall"));
  va_list ap;
  va_start(ap, nr);
  long a[6];
  for (long &x : a) x = va_arg(ap, long);
  va_end(ap);
  if (nr == __NR_bpf && ubt::t_backend == ubt::Backend::kUserbpf)
    return userbpf_bpf(static_cast<int>(a[0]), reinterpret_cast<union bpf_attr *>(a[1]),
                       static_cast<unsigned int>(a[2]));
  if (!real) {
    errno = ENOSYS;
    return -1;
  }
  return real(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}
