// Building blocks for map families whose data lives in a shared region:
//
//  * ResSpinLock - a spin lock that lives in shared memory, modelled on the
//    kernel's rqspinlock ("resilient" spin lock, kernel/bpf/rqspinlock.c) that
//    hash maps, LRU lists and the per-CPU freelist use since Linux 6.15:
//    taking a lock this thread already holds fails with -EDEADLK instead of
//    hanging (a BPF program run from a signal handler that interrupted a map
//    update), and waiting longer than a timeout fails with -ETIMEDOUT (in user
//    space: a holder that died, or was stopped, with the lock held).
//
//  * PcpuFreelist - the kernel's percpu_freelist (kernel/bpf/percpu_freelist.c):
//    preallocated elements wait in one list per CPU, each with its own lock;
//    push goes to this CPU's list, pop takes from this CPU's list first and
//    steals from the others when it is empty. Two CPUs that allocate and free
//    at the same time touch different cache lines.
//
// Everything here is plain data inside the region, valid in every process that
// maps it: nodes are named by their offset from a base address (the map's data
// area), never by pointers. Offset 0 means "none".
#pragma once

#include <atomic>
#include <cstdint>

namespace userbpf {

// ---------------------------------------------------------------------------
// ResSpinLock

struct ResSpinLock {
  // Bit 0: held. Bits 1..31: how many times it was taken (wraps), so that a
  // waiter can tell a busy lock from one stuck with the same holder.
  std::atomic<uint32_t> word;
};
static_assert(sizeof(ResSpinLock) == 4);

// How long a waiter waits for one holder before giving up with -ETIMEDOUT.
// The kernel's rqspinlock gives up after 0.25 s; a kernel lock holder cannot
// be preempted, a user-space one can, so we allow more before declaring the
// holder stuck.
constexpr uint64_t kResSpinLockTimeoutNs = 1'000'000'000;

void res_spin_lock_init(ResSpinLock &lock);
// 0, or -EDEADLK (this thread already holds it), or -ETIMEDOUT.
[[nodiscard]] int res_spin_lock(ResSpinLock &lock);
// Take the lock only if it is free right now (and not held by this thread).
[[nodiscard]] bool res_spin_trylock(ResSpinLock &lock);
void res_spin_unlock(ResSpinLock &lock);

// Holds a ResSpinLock for a scope when locking succeeded (check ok()).
class ResSpinGuard {
 public:
  explicit ResSpinGuard(ResSpinLock &lock) : lock_(lock), err_(res_spin_lock(lock)) {}
  ~ResSpinGuard() {
    if (err_ == 0) res_spin_unlock(lock_);
  }
  ResSpinGuard(const ResSpinGuard &) = delete;
  ResSpinGuard &operator=(const ResSpinGuard &) = delete;
  bool ok() const { return err_ == 0; }
  int error() const { return err_; }

 private:
  ResSpinLock &lock_;
  int err_;
};

// ---------------------------------------------------------------------------
// PcpuFreelist

// One CPU's list, alone on its cache line.
struct alignas(64) PcpuFreelistHead {
  ResSpinLock lock;
  uint32_t reserved;
  std::atomic<uint64_t> first; // offset of the first free node, 0 if empty
};

// The freelist's header (inside the region). The per-CPU heads are an array
// of ncpus + 1 PcpuFreelistHead at heads_offset; the last one is the "extra"
// list that takes a node when no per-CPU list can be locked.
struct PcpuFreelist {
  uint64_t heads_offset; // from base
  uint32_t ncpus;
  uint32_t link_offset;  // where, inside a node, its 8-byte "next free" link is
};

// Bytes of the heads array for ncpus CPUs.
constexpr uint64_t pcpu_freelist_heads_size(uint32_t ncpus) {
  return uint64_t{ncpus + 1} * sizeof(PcpuFreelistHead);
}

// Set up an empty freelist whose heads array is at base + heads_offset
// (pcpu_freelist_heads_size bytes, 64-byte aligned, zero-filled).
void pcpu_freelist_init(uint8_t *base, PcpuFreelist &fl, uint64_t heads_offset, uint32_t ncpus,
                        uint32_t link_offset);

// Hand nr nodes, at first_node + i * stride, to the CPUs' lists: CPU c gets
// the c-th share, as the kernel's pcpu_freelist_populate. Not thread-safe:
// for initialization, before anyone else sees the freelist.
void pcpu_freelist_populate(uint8_t *base, PcpuFreelist &fl, uint64_t first_node, uint64_t stride,
                            uint32_t nr);

// Give a node back (to CPU cpu's list, or any other when that one cannot be
// locked). Never fails.
void pcpu_freelist_push(uint8_t *base, PcpuFreelist &fl, uint64_t node, uint32_t cpu);

// Give back a chain of nodes at once: first ... last, already linked through
// their links (last's link is overwritten).
void pcpu_freelist_push_chain(uint8_t *base, PcpuFreelist &fl, uint64_t first, uint64_t last, uint32_t cpu);

// Take a node: CPU cpu's list first, then the others in order. 0 when every
// list is empty (or could not be locked).
uint64_t pcpu_freelist_pop(uint8_t *base, PcpuFreelist &fl, uint32_t cpu);

} // namespace userbpf
