// Running test code on each CPU in turn.
#pragma once

#include <sched.h>

#include <cstdint>
#include <functional>

namespace ubt {

// Calls fn(cpu) with the calling thread pinned to each CPU below ncpus that
// it may run on, then restores its affinity. Returns how many CPUs it visited
// (0 if the affinity could not be read or set).
inline int on_each_allowed_cpu(uint32_t ncpus, const std::function<void(uint32_t)> &fn) {
  cpu_set_t saved;
  if (sched_getaffinity(0, sizeof(saved), &saved) != 0) return 0;
  int visited = 0;
  for (uint32_t cpu = 0; cpu < ncpus && cpu < CPU_SETSIZE; cpu++) {
    if (!CPU_ISSET(cpu, &saved)) continue;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    if (sched_setaffinity(0, sizeof(one), &one) != 0) break;
    fn(cpu);
    visited++;
  }
  sched_setaffinity(0, sizeof(saved), &saved);
  return visited;
}

} // namespace ubt
