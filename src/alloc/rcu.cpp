#include "alloc/rcu.h"

#include <pthread.h>

#include <urcu-bp.h>
#include <urcu/urcu-bp.h>

// liburcu maps the generic RCU names onto its flavour with macros; our
// wrappers have the same names, so take the macros back.
#undef rcu_read_lock
#undef rcu_read_unlock
#undef rcu_synchronize
#undef rcu_barrier
#undef rcu_defer

// ThreadSanitizer cannot see liburcu's synchronization (lock-free queues and
// barriers in an uninstrumented library). Tell it what a grace period means:
// the end of every read-side section happens before every callback and every
// synchronize that follows it.
#if defined(__SANITIZE_THREAD__)
#define USERBPF_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define USERBPF_TSAN 1
#endif
#endif
#ifdef USERBPF_TSAN
extern "C" void __tsan_acquire(void *addr);
extern "C" void __tsan_release(void *addr);
static char grace_period_sync;
#define TSAN_RELEASE(p) __tsan_release(p)
#define TSAN_ACQUIRE(p) __tsan_acquire(p)
#else
#define TSAN_RELEASE(p) ((void)(p))
#define TSAN_ACQUIRE(p) ((void)(p))
#endif

namespace userbpf {
namespace {

struct Deferred {
  rcu_head head; // first member: a Deferred* is its rcu_head*
  std::function<void()> *fn;
};

void run_deferred(rcu_head *head) {
  Deferred *d = reinterpret_cast<Deferred *>(head);
  TSAN_ACQUIRE(d);
#ifdef USERBPF_TSAN
  TSAN_ACQUIRE(&grace_period_sync);
#endif
  (*d->fn)();
  delete d->fn;
  delete d;
}

// Keep liburcu consistent across fork(): its registry lock and call_rcu
// worker must not be held mid-operation when the child starts.
void before_fork() {
  urcu_bp_call_rcu_before_fork();
  urcu_bp_before_fork();
}
void after_fork_parent() {
  urcu_bp_after_fork_parent();
  urcu_bp_call_rcu_after_fork_parent();
}
void after_fork_child() {
  urcu_bp_after_fork_child();
  urcu_bp_call_rcu_after_fork_child();
}
[[maybe_unused]] const int atfork_registered = pthread_atfork(before_fork, after_fork_parent, after_fork_child);

} // namespace

void rcu_read_lock() { urcu_bp_read_lock(); }
void rcu_read_unlock() {
#ifdef USERBPF_TSAN
  TSAN_RELEASE(&grace_period_sync);
#endif
  urcu_bp_read_unlock();
}

void rcu_defer(std::function<void()> fn) {
  auto *d = new Deferred{{}, new std::function<void()>(std::move(fn))};
  TSAN_RELEASE(d);
  urcu_bp_call_rcu(&d->head, run_deferred);
}

void rcu_synchronize() {
  urcu_bp_synchronize_rcu();
#ifdef USERBPF_TSAN
  TSAN_ACQUIRE(&grace_period_sync);
#endif
}
void rcu_barrier() { urcu_bp_barrier(); }

} // namespace userbpf
