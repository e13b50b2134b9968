#include "alloc/rcu.h"
#include "alloc/rcu_order.h"

#include <pthread.h>

#include <atomic>

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
  rcu_callback_ran();
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

std::atomic<long> callbacks_queued{0}; // and not run yet (alloc/rcu_order.h)

// Which threads have read: the first thread to enter a read-side section,
// and whether any other ever did. While one thread alone reads, memory
// another thread frees cannot be in use by a reader, and memory the reader
// frees outside its sections cannot either: rcu_defer() then runs the
// callback at once. A process that loads an object once, on one thread,
// neither starts liburcu's callback thread (25-80 us) nor waits a grace
// period to reuse the files it released (handle.cpp, "Recycling"). A thread
// that exits leaves its mark: once two threads have read, every callback
// waits for a grace period. Nor does a callback run at once while one
// queued before it waits (rcu_order.h).
std::atomic<pthread_t> first_reader{0};
std::atomic<bool> many_readers{false};

// A thread's first read-side section, seen before it reads anything: with
// rcu_defer()'s fence, either the thread that frees sees this thread as a
// reader, or this thread's reads come after the memory was unpublished.
__attribute__((noinline)) void note_reader(pthread_t self) {
  pthread_t none = 0;
  if (!first_reader.compare_exchange_strong(none, self) && none != self) many_readers.store(true);
  std::atomic_thread_fence(std::memory_order_seq_cst);
}

bool sole_reader_outside_section() {
  if (many_readers.load(std::memory_order_relaxed)) return false; // for good: no fence needed to know it
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (many_readers.load(std::memory_order_relaxed) || callbacks_queued.load(std::memory_order_acquire) != 0)
    return false;
  const pthread_t reader = first_reader.load(std::memory_order_relaxed);
  if (reader != 0 && !pthread_equal(reader, pthread_self())) return false;
  return !urcu_bp_read_ongoing();
}

} // namespace

void rcu_callback_queued() { callbacks_queued.fetch_add(1); }
void rcu_callback_ran() { callbacks_queued.fetch_sub(1, std::memory_order_release); }

void rcu_read_lock() {
  if (!many_readers.load(std::memory_order_relaxed)) {
    const pthread_t self = pthread_self();
    if (first_reader.load(std::memory_order_relaxed) != self) note_reader(self);
  }
  urcu_bp_read_lock();
}
void rcu_read_unlock() {
#ifdef USERBPF_TSAN
  TSAN_RELEASE(&grace_period_sync);
#endif
  urcu_bp_read_unlock();
}

void rcu_defer(std::function<void()> fn) {
  if (sole_reader_outside_section()) {
    fn();
    return;
  }
  auto *d = new Deferred{{}, new std::function<void()>(std::move(fn))};
  TSAN_RELEASE(d);
  rcu_callback_queued();
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
