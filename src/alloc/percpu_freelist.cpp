#include "alloc/percpu_freelist.h"

#include <errno.h>
#include <sched.h>
#include <time.h>

namespace userbpf {

// ---------------------------------------------------------------------------
// ResSpinLock

namespace {

// The locks this thread holds, to refuse re-entrant locking (-EDEADLK) the
// way rqspinlock's per-CPU held-locks table does. A thread holds few locks at
// once (bucket -> freelist, LRU list -> bucket); deeper nesting is simply not
// tracked.
//
// A signal handler may run a map operation at any point of this thread,
// including in the middle of push/pop below. Each update is written so that
// the interrupted code still sees its own entries when the handler returns
// (the handler's entries are above ours and are gone again by then).
constexpr uint32_t kMaxHeld = 16;
struct HeldLocks {
  const void *locks[kMaxHeld];
  uint32_t depth;
};
thread_local HeldLocks t_held;

bool held_by_this_thread(const void *lock) {
  uint32_t depth = t_held.depth;
  if (depth > kMaxHeld) depth = kMaxHeld;
  for (uint32_t i = 0; i < depth; ++i)
    if (t_held.locks[i] == lock) return true;
  return false;
}

void record_held(const void *lock) {
  uint32_t depth = t_held.depth;
  if (depth < kMaxHeld) t_held.locks[depth] = lock;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  t_held.depth = depth + 1;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  // A handler that ran between the two writes above used the same slot.
  if (depth < kMaxHeld) t_held.locks[depth] = lock;
}

void forget_held(const void *lock) {
  uint32_t depth = t_held.depth;
  if (depth == 0) return;
  if (depth > kMaxHeld) { // beyond what we track: the top is not recorded
    t_held.depth = depth - 1;
    return;
  }
  // Locks are released in reverse order of taking them, so this is the top.
  uint32_t i = depth - 1;
  while (i > 0 && t_held.locks[i] != lock) --i;
  for (; i + 1 < depth; ++i) t_held.locks[i] = t_held.locks[i + 1];
  std::atomic_signal_fence(std::memory_order_seq_cst);
  t_held.depth = depth - 1;
}

constexpr uint32_t kHeldBit = 1;
constexpr uint32_t kSpinsBeforeYield = 128;

uint64_t monotonic_ns() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

inline void cpu_relax() { __builtin_ia32_pause(); }

// Try once to move the lock from free (word) to held by us.
inline bool try_take(ResSpinLock &lock, uint32_t word) {
  return (word & kHeldBit) == 0 &&
         lock.word.compare_exchange_strong(word, (word + 2) | kHeldBit, std::memory_order_acquire,
                                           std::memory_order_relaxed);
}

int lock_slow(ResSpinLock &lock) {
  uint32_t seen = lock.word.load(std::memory_order_relaxed);
  uint64_t deadline = 0; // set at the first yield; reset whenever the holder changes
  uint32_t spins = 0;
  for (;;) {
    uint32_t word = lock.word.load(std::memory_order_relaxed);
    if (try_take(lock, word)) return 0;
    if (word != seen) { // someone else got it in between: progress, not a stuck holder
      seen = word;
      deadline = 0;
    }
    if (++spins < kSpinsBeforeYield) {
      cpu_relax();
      continue;
    }
    // The holder may be a preempted thread: let it run.
    spins = 0;
    sched_yield();
    uint64_t now = monotonic_ns();
    if (deadline == 0) deadline = now + kResSpinLockTimeoutNs;
    else if (now > deadline) return -ETIMEDOUT;
  }
}

} // namespace

void res_spin_lock_init(ResSpinLock &lock) { lock.word.store(0, std::memory_order_relaxed); }

int res_spin_lock(ResSpinLock &lock) {
  if (held_by_this_thread(&lock)) return -EDEADLK;
  if (!try_take(lock, lock.word.load(std::memory_order_relaxed))) {
    if (int err = lock_slow(lock)) return err;
  }
  record_held(&lock);
  return 0;
}

bool res_spin_trylock(ResSpinLock &lock) {
  if (held_by_this_thread(&lock)) return false;
  if (!try_take(lock, lock.word.load(std::memory_order_relaxed))) return false;
  record_held(&lock);
  return true;
}

void res_spin_unlock(ResSpinLock &lock) {
  forget_held(&lock);
  // Only the holder writes the word while it is held (waiters only try to
  // take a free lock), so a plain store releases it: no locked instruction.
  lock.word.store(lock.word.load(std::memory_order_relaxed) & ~kHeldBit, std::memory_order_release);
}

// ---------------------------------------------------------------------------
// PcpuFreelist

namespace {

PcpuFreelistHead &head_of(uint8_t *base, const PcpuFreelist &fl, uint32_t index) {
  return reinterpret_cast<PcpuFreelistHead *>(base + fl.heads_offset)[index];
}

std::atomic<uint64_t> &link_of(uint8_t *base, const PcpuFreelist &fl, uint64_t node) {
  return *reinterpret_cast<std::atomic<uint64_t> *>(base + node + fl.link_offset);
}

// With head's lock held (or before anyone can see the list): first ... last
// (linked already) go in front.
void push_chain(uint8_t *base, const PcpuFreelist &fl, PcpuFreelistHead &head, uint64_t first, uint64_t last) {
  link_of(base, fl, last).store(head.first.load(std::memory_order_relaxed), std::memory_order_relaxed);
  head.first.store(first, std::memory_order_relaxed);
}
void push_node(uint8_t *base, const PcpuFreelist &fl, PcpuFreelistHead &head, uint64_t node) {
  push_chain(base, fl, head, node, node);
}

bool push_locked(uint8_t *base, const PcpuFreelist &fl, PcpuFreelistHead &head, uint64_t first, uint64_t last) {
  if (res_spin_lock(head.lock) != 0) return false;
  push_chain(base, fl, head, first, last);
  res_spin_unlock(head.lock);
  return true;
}

uint64_t pop_locked(uint8_t *base, const PcpuFreelist &fl, PcpuFreelistHead &head) {
  // Looking without the lock first keeps a pop from taking the locks of
  // every empty list on a full map.
  if (head.first.load(std::memory_order_relaxed) == 0) return 0;
  if (res_spin_lock(head.lock) != 0) return 0;
  uint64_t node = head.first.load(std::memory_order_relaxed);
  if (node) head.first.store(link_of(base, fl, node).load(std::memory_order_relaxed), std::memory_order_relaxed);
  res_spin_unlock(head.lock);
  return node;
}

} // namespace

void pcpu_freelist_init(uint8_t *base, PcpuFreelist &fl, uint64_t heads_offset, uint32_t ncpus,
                        uint32_t link_offset) {
  fl.heads_offset = heads_offset;
  fl.ncpus = ncpus;
  fl.link_offset = link_offset;
  for (uint32_t i = 0; i <= ncpus; ++i) {
    PcpuFreelistHead &head = head_of(base, fl, i);
    res_spin_lock_init(head.lock);
    head.first.store(0, std::memory_order_relaxed);
  }
}

void pcpu_freelist_populate(uint8_t *base, PcpuFreelist &fl, uint64_t first_node, uint64_t stride,
                            uint32_t nr) {
  const uint32_t share = nr / fl.ncpus;
  const uint32_t remainder = nr % fl.ncpus;
  uint64_t node = first_node;
  for (uint32_t cpu = 0; cpu < fl.ncpus; ++cpu) {
    PcpuFreelistHead &head = head_of(base, fl, cpu);
    const uint32_t count = share + (cpu < remainder ? 1 : 0);
    for (uint32_t i = 0; i < count; ++i, node += stride) push_node(base, fl, head, node);
  }
}

void pcpu_freelist_push_chain(uint8_t *base, PcpuFreelist &fl, uint64_t first, uint64_t last, uint32_t cpu) {
  if (push_locked(base, fl, head_of(base, fl, cpu), first, last)) return;
  // Our list is locked by this very thread (a signal handler interrupted a
  // push or pop) or stuck: any other list will do, and the extra list is
  // there for a single-CPU system.
  for (;;) {
    for (uint32_t i = 1; i < fl.ncpus; ++i) {
      if (push_locked(base, fl, head_of(base, fl, (cpu + i) % fl.ncpus), first, last)) return;
    }
    if (push_locked(base, fl, head_of(base, fl, fl.ncpus), first, last)) return;
    sched_yield();
  }
}

void pcpu_freelist_push(uint8_t *base, PcpuFreelist &fl, uint64_t node, uint32_t cpu) {
  pcpu_freelist_push_chain(base, fl, node, node, cpu);
}

uint64_t pcpu_freelist_pop(uint8_t *base, PcpuFreelist &fl, uint32_t cpu) {
  for (uint32_t i = 0; i < fl.ncpus; ++i) {
    if (uint64_t node = pop_locked(base, fl, head_of(base, fl, (cpu + i) % fl.ncpus))) return node;
  }
  return pop_locked(base, fl, head_of(base, fl, fl.ncpus));
}

} // namespace userbpf
