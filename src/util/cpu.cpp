// CPUs as the BPF subsystem sees them.
#include <sched.h>

#include <cstdio>
#include <cstring>

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

uint32_t possible_cpus() {
  static const uint32_t n = read_possible();
  return n;
}

uint32_t current_cpu(uint32_t ncpus) {
  // glibc's sched_getcpu() reads the rseq area: no system call.
  int cpu = sched_getcpu();
  if (cpu < 0) cpu = 0;
  return static_cast<uint32_t>(cpu) < ncpus ? static_cast<uint32_t>(cpu) : static_cast<uint32_t>(cpu) % ncpus;
}

} // namespace userbpf

extern "C" __attribute__((visibility("default"))) int userbpf_num_possible_cpus(void) {
  return static_cast<int>(userbpf::possible_cpus());
}
