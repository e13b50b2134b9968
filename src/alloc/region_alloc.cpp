#include "alloc/region_alloc.h"

#include <errno.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <new>

// liburcu's own names (call_rcu, rcu_barrier, rcu_read_ongoing map to the
// bulletproof flavour that src/alloc/rcu.cpp uses); alloc/rcu.h is not
// included here, its names would clash with these macros.
#include <urcu-bp.h>

#include "alloc/rcu_order.h"

namespace userbpf {
namespace {

// A batch of freed slots on its way through a grace period (this process's
// memory, not the region's). `first` is written last, with release, and read
// first, with acquire: liburcu is not instrumented, so this is how
// ThreadSanitizer learns that the frees happened before the callback.
//
// A child made by fork() inherits the parent's queued callbacks (liburcu
// moves them to the child's worker); the region is shared, so only the
// process that queued a batch may give its slots back.
struct DeferredBatch {
  struct rcu_head head;
  uint8_t *base;
  RegionSlab *slab;
  uint64_t last;
  uint32_t count;
  uint32_t cpu;
  pid_t owner;
  std::atomic<uint64_t> first;
};

std::atomic<uint64_t> &link_of(uint8_t *base, const RegionSlab &slab, uint64_t slot) {
  return *reinterpret_cast<std::atomic<uint64_t> *>(base + slot + slab.free.link_offset);
}

RegionPendingFrees &pending_of(uint8_t *base, const RegionSlab &slab, uint32_t cpu) {
  return reinterpret_cast<RegionPendingFrees *>(base + slab.pending_offset)[cpu];
}

void reclaim_batch(struct rcu_head *head) {
  auto *batch = reinterpret_cast<DeferredBatch *>(reinterpret_cast<uint8_t *>(head) - offsetof(DeferredBatch, head));
  const uint64_t first = batch->first.load(std::memory_order_acquire);
  if (batch->owner == getpid()) {
    pcpu_freelist_push_chain(batch->base, batch->slab->free, first, batch->last, batch->cpu);
    batch->slab->in_flight.fetch_sub(batch->count, std::memory_order_release);
  }
  delete batch;
  rcu_callback_ran();
}

// Lock CPU cpu's pending batch, or another one when it cannot be locked (a
// signal handler interrupted this thread while it held it, or a stuck holder).
RegionPendingFrees &lock_pending(uint8_t *base, const RegionSlab &slab, uint32_t cpu) {
  const uint32_t n = slab.free.ncpus;
  for (uint32_t i = 0;; ++i) {
    RegionPendingFrees &p = pending_of(base, slab, (cpu + i) % n);
    if (res_spin_lock(p.lock) == 0) return p;
    if (i % n == n - 1) sched_yield();
  }
}

// With p locked: add the chain first ... last (count slots) to it.
void add_chain(uint8_t *base, const RegionSlab &slab, RegionPendingFrees &p, uint64_t first, uint64_t last,
               uint32_t count) {
  link_of(base, slab, last).store(p.first, std::memory_order_relaxed);
  if (p.count == 0) p.last = last;
  p.first = first;
  p.count += count;
}

// Hand a chain to call_rcu; if there is no memory for that, it waits in CPU
// cpu's pending batch again.
void queue_batch(uint8_t *base, RegionSlab &slab, uint64_t first, uint64_t last, uint32_t count, uint32_t cpu) {
  auto *batch = new (std::nothrow) DeferredBatch;
  if (!batch) {
    RegionPendingFrees &p = lock_pending(base, slab, cpu);
    add_chain(base, slab, p, first, last, count);
    res_spin_unlock(p.lock);
    return;
  }
  batch->base = base;
  batch->slab = &slab;
  batch->last = last;
  batch->count = count;
  batch->cpu = cpu;
  batch->owner = getpid();
  slab.in_flight.fetch_add(count, std::memory_order_relaxed);
  batch->first.store(first, std::memory_order_release);
  rcu_callback_queued();
  call_rcu(&batch->head, reclaim_batch);
}

// Detach p's chain if it holds at least min slots (p locked).
bool take_chain(RegionPendingFrees &p, uint32_t min, uint64_t *first, uint64_t *last, uint32_t *count) {
  if (p.count == 0 || p.count < min) return false;
  *first = p.first;
  *last = p.last;
  *count = p.count;
  p.first = p.last = 0;
  p.count = 0;
  return true;
}

// Back slots [first, first + count) and their side arrays with memory.
int commit_slots(RegionSlab &slab, uint32_t first, uint32_t count, RegionCommitFn commit, void *ctx) {
  if (int err = commit(ctx, slab.slots_offset + uint64_t{first} * slab.slot_size, uint64_t{count} * slab.slot_size))
    return err;
  for (uint32_t k = 0; k < slab.side_count; ++k) {
    uint64_t start = slab.side_offset + k * slab.side_pitch + uint64_t{first} * slab.side_stride;
    if (int err = commit(ctx, start, uint64_t{count} * slab.side_stride)) return err;
  }
  return 0;
}

// Make sure slot index is backed: commit chunk after chunk up to it.
int ensure_committed(RegionSlab &slab, uint32_t index, RegionCommitFn commit, void *ctx) {
  if (index < slab.committed.load(std::memory_order_acquire)) return 0;
  ResSpinGuard guard(slab.commit_lock);
  if (!guard.ok()) return -ENOMEM;
  for (;;) {
    uint32_t done = slab.committed.load(std::memory_order_relaxed);
    if (index < done) return 0;
    uint32_t count = std::min(slab.chunk, slab.capacity - done);
    if (int err = commit_slots(slab, done, count, commit, ctx)) return err;
    slab.committed.store(done + count, std::memory_order_release);
  }
}

} // namespace

void region_slab_init(uint8_t *base, RegionSlab &slab, const RegionSlabConfig &config) {
  slab.slots_offset = config.slots_offset;
  slab.slot_size = config.slot_size;
  slab.side_offset = config.side_offset;
  slab.side_stride = config.side_stride;
  slab.side_pitch = config.side_pitch;
  slab.side_count = config.side_count;
  slab.capacity = config.capacity;
  slab.pending_offset = config.heads_offset + pcpu_freelist_heads_size(config.ncpus);
  // Commit about 64 KiB of slots at a time: few fallocate() calls, little waste.
  uint64_t bytes_per_slot = config.slot_size + uint64_t{config.side_count} * config.side_stride;
  slab.chunk = static_cast<uint32_t>(std::clamp<uint64_t>(65536 / std::max<uint64_t>(bytes_per_slot, 1), 1, 4096));
  slab.bump.store(0, std::memory_order_relaxed);
  slab.committed.store(0, std::memory_order_relaxed);
  slab.in_flight.store(0, std::memory_order_relaxed);
  res_spin_lock_init(slab.commit_lock);
  pcpu_freelist_init(base, slab.free, config.heads_offset, config.ncpus, config.link_offset);
  for (uint32_t cpu = 0; cpu < config.ncpus; ++cpu) {
    RegionPendingFrees &p = pending_of(base, slab, cpu);
    res_spin_lock_init(p.lock);
    p.count = 0;
    p.first = p.last = 0;
  }
}

int region_slab_alloc(uint8_t *base, RegionSlab &slab, uint32_t cpu, RegionCommitFn commit, void *ctx,
                      uint64_t *slot_offset, uint32_t *slot_index) {
  if (uint64_t slot = pcpu_freelist_pop(base, slab.free, cpu)) {
    *slot_offset = slot;
    *slot_index = static_cast<uint32_t>((slot - slab.slots_offset) / slab.slot_size);
    return 0;
  }
  // Nothing to recycle: hand out a slot never used before.
  uint32_t index = slab.bump.load(std::memory_order_relaxed);
  do {
    if (index >= slab.capacity) return -ENOMEM;
  } while (!slab.bump.compare_exchange_weak(index, index + 1, std::memory_order_relaxed));
  if (int err = ensure_committed(slab, index, commit, ctx)) {
    // Give the index back if nobody took a later one; otherwise it stays
    // unused (its memory could not be committed anyway).
    uint32_t expected = index + 1;
    slab.bump.compare_exchange_strong(expected, index, std::memory_order_relaxed);
    return err;
  }
  *slot_offset = slab.slots_offset + uint64_t{index} * slab.slot_size;
  *slot_index = index;
  return 0;
}

void region_slab_free(uint8_t *base, RegionSlab &slab, uint64_t slot_offset, uint32_t cpu) {
  pcpu_freelist_push(base, slab.free, slot_offset, cpu);
}

void region_slab_free_after_grace_period(uint8_t *base, RegionSlab &slab, uint64_t slot_offset, uint32_t cpu) {
  cpu %= slab.free.ncpus;
  RegionPendingFrees &p = lock_pending(base, slab, cpu);
  add_chain(base, slab, p, slot_offset, slot_offset, 1);
  uint64_t first, last;
  uint32_t count;
  const bool full = take_chain(p, kFreeBatch, &first, &last, &count);
  res_spin_unlock(p.lock);
  if (full) queue_batch(base, slab, first, last, count, cpu);
}

bool region_slab_wait_for_deferred(uint8_t *base, RegionSlab &slab) {
  bool any_pending = false;
  for (uint32_t cpu = 0; cpu < slab.free.ncpus; ++cpu) {
    uint64_t first, last;
    uint32_t count;
    RegionPendingFrees &p = pending_of(base, slab, cpu);
    if (res_spin_lock(p.lock) != 0) continue;
    const bool any = take_chain(p, 1, &first, &last, &count);
    res_spin_unlock(p.lock);
    if (any) queue_batch(base, slab, first, last, count, cpu);
    any_pending |= any;
  }
  if (!any_pending && slab.in_flight.load(std::memory_order_acquire) == 0) return false;
  if (rcu_read_ongoing()) return false;
  rcu_barrier();
  return true;
}

} // namespace userbpf
