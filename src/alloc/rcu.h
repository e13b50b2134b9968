// Grace periods for memory freed while lock-free readers may still see it,
// from liburcu (the "bulletproof" flavour: any thread may read without
// registering first, which a library called from arbitrary threads needs).
//
// Scope: readers in this process. Regions shared by several processes never
// unmap memory that another process may read; elements freed there are only
// recycled, and readers detect recycling (hash nulls markers), as the kernel's
// SLAB_TYPESAFE_BY_RCU caches do.
#pragma once

#include <functional>

namespace userbpf {

void rcu_read_lock();
void rcu_read_unlock();
// Run fn after every reader that might see the old memory has finished.
void rcu_defer(std::function<void()> fn);
// Wait for a grace period (slow; for tests and teardown).
void rcu_synchronize();
// Wait for every callback queued with rcu_defer so far to have run.
void rcu_barrier();

struct RcuReadGuard {
  RcuReadGuard() { rcu_read_lock(); }
  ~RcuReadGuard() { rcu_read_unlock(); }
  RcuReadGuard(const RcuReadGuard &) = delete;
  RcuReadGuard &operator=(const RcuReadGuard &) = delete;
};

} // namespace userbpf
