// RegionSlab: an allocator of fixed-size slots inside a map's shared region,
// for maps created with BPF_F_NO_PREALLOC (the kernel allocates their
// elements on update and frees them after an RCU grace period).
//
// The slots are reserved address space in the region: a slot's pages are
// backed with memory (committed, through a callback that calls map_commit())
// the first time the slot is handed out, a chunk of slots at a time, so an
// empty map costs no memory. A freed slot goes to a PcpuFreelist and is reused
// from there; it is never uncommitted.
//
// A slot may also own a piece of "side arrays" (per-CPU values): slot i owns
// [side_offset + k * side_pitch + i * side_stride, + side_stride) for every
// k < side_count, committed together with the slot.
//
// Freeing after a grace period: the kernel frees a deleted element only when
// no lockless reader can still hold it (a BPF program may keep writing to a
// value it looked up until it returns). Like the kernel's bpf_mem_alloc, frees
// are batched per CPU: a slot joins its CPU's pending batch (in the region),
// and every kFreeBatch slots the batch is handed to liburcu's call_rcu, whose
// worker thread splices it into that CPU's freelist after a grace period. At
// most kFreeBatch - 1 slots per CPU wait for a batch to fill; an allocation
// that finds no slot flushes them. Each process waits for its own readers
// only (readers in other processes detect reuse, see rcu.h).
#pragma once

#include <atomic>
#include <cstdint>

#include "alloc/percpu_freelist.h"

namespace userbpf {

// Back [offset, offset + len) of the region with memory: 0 or -ENOMEM.
using RegionCommitFn = int (*)(void *ctx, uint64_t offset, uint64_t len);

// Slots handed to call_rcu at once.
constexpr uint32_t kFreeBatch = 32;

// One CPU's slots waiting for a batch to fill (chained through their link).
struct alignas(64) RegionPendingFrees {
  ResSpinLock lock;
  uint32_t count;
  uint64_t first;
  uint64_t last;
};

struct RegionSlab {
  uint64_t slots_offset;   // slot i is at slots_offset + i * slot_size
  uint64_t slot_size;
  uint64_t side_offset;    // side arrays (see above); side_count 0 when none
  uint64_t side_stride;
  uint64_t side_pitch;
  uint64_t pending_offset; // ncpus RegionPendingFrees
  uint32_t side_count;
  uint32_t capacity;       // slots reserved
  uint32_t chunk;          // slots committed at a time
  uint32_t reserved;
  PcpuFreelist free;               // recycled slots
  // Written while the map is in use: a cache line of their own.
  alignas(64) std::atomic<uint32_t> bump; // slots handed out at least once: [0, bump)
  std::atomic<uint32_t> committed;        // slots backed by memory: [0, committed)
  std::atomic<uint32_t> in_flight;        // slots in batches handed to call_rcu
  ResSpinLock commit_lock;
};

// Bytes the slab needs for its per-CPU heads (64-byte aligned, zero-filled).
constexpr uint64_t region_slab_heads_size(uint32_t ncpus) {
  return pcpu_freelist_heads_size(ncpus) + uint64_t{ncpus} * sizeof(RegionPendingFrees);
}

struct RegionSlabConfig {
  uint64_t heads_offset = 0; // region_slab_heads_size(ncpus) bytes
  uint32_t ncpus = 1;
  uint64_t slots_offset = 0;
  uint64_t slot_size = 0;    // a multiple of 8, at least link_offset + 8
  uint32_t capacity = 0;
  uint32_t link_offset = 0;  // an 8-byte link inside a free slot
  uint64_t side_offset = 0;
  uint64_t side_stride = 0;
  uint64_t side_pitch = 0;
  uint32_t side_count = 0;
};

// Set up slab for a fresh, zero-filled region.
void region_slab_init(uint8_t *base, RegionSlab &slab, const RegionSlabConfig &config);

// A slot's offset from base and its index, or -ENOMEM when every slot is in
// use (or waiting for a grace period), or its memory cannot be committed.
int region_slab_alloc(uint8_t *base, RegionSlab &slab, uint32_t cpu, RegionCommitFn commit, void *ctx,
                      uint64_t *slot_offset, uint32_t *slot_index);

// Give back a slot that no reader can have seen (never published).
void region_slab_free(uint8_t *base, RegionSlab &slab, uint64_t slot_offset, uint32_t cpu);

// Give back a slot once every current RCU reader of this process is done
// (it joins CPU cpu's pending batch).
void region_slab_free_after_grace_period(uint8_t *base, RegionSlab &slab, uint64_t slot_offset, uint32_t cpu);

// When allocation failed: hand every pending batch to call_rcu and, unless
// this thread is inside an RCU read-side section (where waiting would
// deadlock), wait for them. True if slots may have come back (retry).
bool region_slab_wait_for_deferred(uint8_t *base, RegionSlab &slab);

} // namespace userbpf
