#include "alloc/region_alloc.h"

#include <errno.h>
#include <sched.h>

#include <algorithm>
#include <cstddef>

// liburcu's own names (call_rcu, rcu_barrier, rcu_read_ongoing map to the
// bulletproof flavour that src/alloc/rcu.cpp uses); alloc/rcu.h is not
// included here, its names would clash with these macros.
#include <urcu-bp.h>

namespace userbpf {
namespace {

// What a slot holds while its free waits for a grace period. The callback
// gets only the rcu_head's address: area_offset (where this area is, from the
// region's base) gives the base back, slab_offset the slab.
// The offsets are atomics written with release and read with acquire: liburcu
// is not instrumented, so this is how ThreadSanitizer learns that the free
// happened before its callback.
struct DeferArea {
  struct rcu_head head;
  std::atomic<uint64_t> area_offset;
  std::atomic<uint64_t> slab_offset;
};
static_assert(sizeof(DeferArea) == 32, "a slot lends 32 bytes to a deferred free");

uint32_t this_cpu(uint32_t ncpus) {
  int cpu = sched_getcpu();
  return cpu < 0 ? 0 : static_cast<uint32_t>(cpu) % ncpus;
}

void reclaim_after_grace_period(struct rcu_head *head) {
  auto *area = reinterpret_cast<DeferArea *>(head);
  const uint64_t slab_offset = area->slab_offset.load(std::memory_order_acquire);
  const uint64_t area_offset = area->area_offset.load(std::memory_order_acquire);
  uint8_t *base = reinterpret_cast<uint8_t *>(area) - area_offset;
  auto &slab = *reinterpret_cast<RegionSlab *>(base + slab_offset);
  uint64_t slot = area_offset - slab.defer_offset;
  // The push below reuses these bytes as the freelist link: read first.
  pcpu_freelist_push(base, slab.free, slot, this_cpu(slab.free.ncpus));
  slab.deferred.fetch_sub(1, std::memory_order_release);
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

void region_slab_init(uint8_t *base, RegionSlab &slab, uint64_t self_offset, const RegionSlabConfig &config) {
  slab.self_offset = self_offset;
  slab.slots_offset = config.slots_offset;
  slab.slot_size = config.slot_size;
  slab.side_offset = config.side_offset;
  slab.side_stride = config.side_stride;
  slab.side_pitch = config.side_pitch;
  slab.side_count = config.side_count;
  slab.capacity = config.capacity;
  slab.defer_offset = config.defer_offset;
  // Commit about 64 KiB of slots at a time: few fallocate() calls, little waste.
  uint64_t bytes_per_slot = config.slot_size + uint64_t{config.side_count} * config.side_stride;
  slab.chunk = static_cast<uint32_t>(std::clamp<uint64_t>(65536 / std::max<uint64_t>(bytes_per_slot, 1), 1, 4096));
  slab.bump.store(0, std::memory_order_relaxed);
  slab.committed.store(0, std::memory_order_relaxed);
  slab.deferred.store(0, std::memory_order_relaxed);
  res_spin_lock_init(slab.commit_lock);
  pcpu_freelist_init(base, slab.free, config.heads_offset, config.ncpus, config.link_offset);
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

void region_slab_free_after_grace_period(uint8_t *base, RegionSlab &slab, uint64_t slot_offset) {
  auto *area = reinterpret_cast<DeferArea *>(base + slot_offset + slab.defer_offset);
  area->area_offset.store(slot_offset + slab.defer_offset, std::memory_order_release);
  area->slab_offset.store(slab.self_offset, std::memory_order_release);
  slab.deferred.fetch_add(1, std::memory_order_relaxed);
  call_rcu(&area->head, reclaim_after_grace_period);
}

bool region_slab_wait_for_deferred(RegionSlab &slab) {
  if (slab.deferred.load(std::memory_order_acquire) == 0) return false;
  if (rcu_read_ongoing()) return false;
  rcu_barrier();
  return true;
}

} // namespace userbpf
