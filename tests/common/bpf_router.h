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
#include <time.h>

#include <cstdint>

#include <userbpf/bpf.h>

namespace ubt {
enum class Backend { kKernel, kUserbpf };
inline thread_local Backend t_backend = Backend::kKernel;

// When set, called after every bpf() the router forwards, with the backend,
// the command, its result and the nanoseconds it took (bench/libbpf_bench's
// per-command breakdown). Unset, no clock is read.
inline void (*bpf_observer)(Backend backend, int cmd, long ret, uint64_t ns) = nullptr;

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
  auto forward = [&]() -> long {
    if (nr == __NR_bpf && ubt::t_backend == ubt::Backend::kUserbpf)
      return userbpf_bpf(static_cast<int>(a[0]), reinterpret_cast<union bpf_attr *>(a[1]),
                         static_cast<unsigned int>(a[2]));
    if (!real) {
      errno = ENOSYS;
      return -1;
    }
    return real(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
  };
  if (nr != __NR_bpf || !ubt::bpf_observer) return forward();
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  long r = forward();
  int saved_errno = errno;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  uint64_t ns = static_cast<uint64_t>((t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec));
  ubt::bpf_observer(ubt::t_backend, static_cast<int>(a[0]), r, ns);
  errno = saved_errno;
  return r;
}
