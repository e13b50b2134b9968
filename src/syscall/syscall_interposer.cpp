// syscall(): a program's bpf() goes to userbpf, every other system call to
// the kernel.
//
// libbpf (Debian's libbpf-dev, or a copy linked into a tool such as bpftool)
// issues every BPF command as syscall(__NR_bpf, ...). libuserbpf defines a
// function named syscall, so in a program linked with libuserbpf.so (which
// comes before libc in the dynamic linker's search order), or with
// libuserbpf-preload.so in LD_PRELOAD, that call reaches this definition
// instead of glibc's: __NR_bpf goes to userbpf_bpf(), and every other number
// is made here with the architecture's system call instruction (calling
// glibc's syscall() would need dlsym(RTLD_NEXT), and the instruction is all
// glibc's wrapper does anyway).
//
// This file is not part of the objects internal test binaries link: those
// choose per call where bpf() goes (see tests/diff/diff_verifier.cpp). It is
// linked into libuserbpf.so, libuserbpf.a and libuserbpf-preload.so only.
//
// The result follows glibc's syscall(): the kernel's value, or -1 with errno
// set. Every caller's six argument registers are read whatever the number
// takes, as glibc's wrapper does (extra ones are ignored by the kernel).
// Not for clone/vfork-style calls that return twice on a new stack: those
// go through glibc's own wrappers (fork(), posix_spawn()), never syscall().
#include <errno.h>
#include <stdarg.h>
#include <sys/syscall.h>

#include <userbpf/bpf.h>

namespace {

long raw_syscall6(long nr, long a1, long a2, long a3, long a4, long a5, long a6) {
#if defined(__x86_64__)
  register long r10 __asm__("r10") = a4;
  register long r8 __asm__("r8") = a5;
  register long r9 __asm__("r9") = a6;
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
#elif defined(__aarch64__)
  register long x8 __asm__("x8") = nr;
  register long x0 __asm__("x0") = a1;
  register long x1 __asm__("x1") = a2;
  register long x2 __asm__("x2") = a3;
  register long x3 __asm__("x3") = a4;
  register long x4 __asm__("x4") = a5;
  register long x5 __asm__("x5") = a6;
  __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory", "cc");
  return x0;
#else
#error "syscall_interposer.cpp: add this architecture's system call instruction"
#endif
}

} // namespace

// No AddressSanitizer here: for calls with fewer arguments the last slots
// read are the caller's stack (clang's ASan reports that as an underflow).
extern "C" __attribute__((visibility("default"), no_sanitize("address"))) long syscall(long number, ...) noexcept {
  va_list ap;
  va_start(ap, number);
  long a[6];
  for (long &x : a) x = va_arg(ap, long);
  va_end(ap);
  if (number == __NR_bpf)
    return userbpf_bpf(static_cast<int>(a[0]), reinterpret_cast<union bpf_attr *>(a[1]),
                       static_cast<unsigned int>(a[2]));
  long r = raw_syscall6(number, a[0], a[1], a[2], a[3], a[4], a[5]);
  if (r < 0 && r > -4096) {
    errno = static_cast<int>(-r);
    return -1;
  }
  return r;
}
