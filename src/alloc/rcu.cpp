#include "alloc/rcu.h"

#include <urcu-bp.h>
#include <urcu/urcu-bp.h>

namespace userbpf {
namespace {

struct Deferred {
  rcu_head head;
  std::function<void()> fn;
};

void run_deferred(rcu_head *head) {
  Deferred *d = caa_container_of(head, Deferred, head);
  d->fn();
  delete d;
}

} // namespace

void rcu_read_lock() { urcu_bp_read_lock(); }
void rcu_read_unlock() { urcu_bp_read_unlock(); }

void rcu_defer(std::function<void()> fn) {
  auto *d = new Deferred{{}, std::move(fn)};
  urcu_bp_call_rcu(&d->head, run_deferred);
}

void rcu_synchronize() { urcu_bp_synchronize_rcu(); }
void rcu_barrier() { urcu_bp_barrier(); }

} // namespace userbpf
