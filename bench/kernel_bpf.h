// The kernel's bpf(), for the benchmarks that link libuserbpf.so: that
// library defines syscall() and sends __NR_bpf to userbpf (the interposer
// libbpf goes through), so a plain syscall(__NR_bpf, ...) there would time
// userbpf on both sides. This calls glibc's own syscall().
#pragma once

#include <dlfcn.h>
#include <errno.h>
#include <sys/syscall.h>

#include <linux/bpf.h>

inline long kernel_bpf(int cmd, union bpf_attr *attr, unsigned int size) {
  using SyscallFn = long (*)(long, ...);
  static const SyscallFn libc_syscall = [] {
    void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    return libc ? reinterpret_cast<SyscallFn>(dlsym(libc, "syscall")) : nullptr;
  }();
  if (!libc_syscall) {
    errno = ENOSYS;
    return -1;
  }
  return libc_syscall(__NR_bpf, cmd, attr, size);
}
