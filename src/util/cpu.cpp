// CPUs as the BPF subsystem sees them.
#include <sched.h>

#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>

#if __has_include(<sys/rseq.h>) && defined(__x86_64__)
#include <sys/rseq.h>
#define USERBPF_RSEQ_CPU 1
#endif

#include "maps/map.h"

namespace userbpf {
namespace {

// Parse a CPU list like "0-3,5,7-8" (the format of .../cpu/possible) and
// return the highest CPU number + 1, as libbpf's libbpf_num_possible_cpus().
uint32_t parse_possible(const char *s) {
  uint32_t highest = 0;
  bool any = false;
  while (*s) {
    unsigned a = 0, b = 0;
    int n = 0;
    if (sscanf(s, "%u-%u%n", &a, &b, &n) == 2) {
    } else if (sscanf(s, "%u%n", &a, &n) == 1) {
      b = a;
    } else {
      break;
    }
    if (b + 1 > highest) highest = b + 1;
    any = true;
    s += n;
    if (*s == ',') ++s;
    else break;
  }
  return any ? highest : 0;
}

// The CPU this thread last ran on, from the rseq area glibc (2.35+)
// registers for every thread: one load from thread-local memory. glibc 2.36's
// sched_getcpu() goes through the vDSO instead (about 6.6 ns a call on this
// VM against 1.5 ns), and get_smp_processor_id and per-CPU maps call it on
// every use. -1 when there is no registered area (rseq disabled, or
// registration failed: cpu_id is then negative too).
int rseq_cpu() {
#ifdef USERBPF_RSEQ_CPU
  if (__rseq_size == 0) return -1;
  uintptr_t thread_pointer; // x86-64: the TCB's first word points to itself
  asm("mov %%fs:0, %0" : "=r"(thread_pointer));
  const auto *area = reinterpret_cast<const volatile struct rseq *>(thread_pointer + __rseq_offset);
  return static_cast<int32_t>(area->cpu_id);
#else
  return -1;
#endif
}

uint32_t read_possible() {
  FILE *f = fopen("/sys/devices/system/cpu/possible", "re");
  uint32_t n = 0;
  if (f) {
    char buf[4096] = {};
    if (fgets(buf, sizeof(buf), f)) n = parse_possible(buf);
    fclose(f);
  }
  if (n == 0) {
    cpu_set_t set;
    n = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 1;
  }
  return n ? n : 1;
}

} // namespace

bool current_cpu_thread_offset(int32_t *offset) {
#ifdef USERBPF_RSEQ_CPU
  if (__rseq_size == 0) return false;
  const int64_t at = static_cast<int64_t>(__rseq_offset) + static_cast<int64_t>(offsetof(struct rseq, cpu_id));
  if (at < INT32_MIN || at > INT32_MAX) return false;
  *offset = static_cast<int32_t>(at);
  return true;
#else
  (void)offset;
  return false;
#endif
}

uint32_t possible_cpus() {
  static const uint32_t n = read_possible();
  return n;
}

uint32_t current_cpu(uint32_t ncpus) {
  int cpu = rseq_cpu();
  if (cpu < 0) cpu = sched_getcpu(); // the vDSO: no system call either
  if (cpu < 0) cpu = 0;
  return static_cast<uint32_t>(cpu) < ncpus ? static_cast<uint32_t>(cpu) : static_cast<uint32_t>(cpu) % ncpus;
}

} // namespace userbpf

extern "C" __attribute__((visibility("default"))) int userbpf_num_possible_cpus(void) {
  return static_cast<int>(userbpf::possible_cpus());
}
