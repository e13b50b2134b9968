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
// value it looked up until it returns). free_after_grace_period() queues the
// slot with liburcu's call_rcu and pushes it to the freelist from the
// callback. While it waits, 32 bytes of the slot (at defer_offset) hold the
// callback's bookkeeping; readers of the region must not need those bytes.
// Each process waits for its own readers only: a process that maps the region
// must run rcu_barrier() before unmapping it (MapOps::detach does).
#pragma once

#include <atomic>
#include <cstdint>

#include "alloc/percpu_freelist.h"

namespace userbpf {

// Back [offset, offset + len) of the region with memory: 0 or -ENOMEM.
using RegionCommitFn = int (*)(void *ctx, uint64_t offset, uint64_t len);

struct RegionSlab {
  uint64_t self_offset;  // where this header is, from base
  uint64_t slots_offset; // slot i is at slots_offset + i * slot_size
  uint64_t slot_size;
  uint64_t side_offset;  // side arrays (see above); side_count 0 when none
  uint64_t side_stride;
  uint64_t side_pitch;
  uint32_t side_count;
  uint32_t capacity;     // slots reserved
  uint32_t chunk;        // slots committed at a time
  uint32_t defer_offset; // 32 bytes of a slot used while its free is deferred
  std::atomic<uint32_t> bump;      // slots handed out at least once: [0, bump)
  std::atomic<uint32_t> committed; // slots backed by memory: [0, committed)
  std::atomic<uint32_t> deferred;  // frees waiting for a grace period
  ResSpinLock commit_lock;
  PcpuFreelist free;               // recycled slots
};

// Bytes the slab needs for its freelist heads (64-byte aligned, zero-filled).
constexpr uint64_t region_slab_heads_size(uint32_t ncpus) { return pcpu_freelist_heads_size(ncpus); }

struct RegionSlabConfig {
  uint64_t heads_offset = 0; // region_slab_heads_size(ncpus) bytes
  uint32_t ncpus = 1;
  uint64_t slots_offset = 0;
  uint64_t slot_size = 0;    // a multiple of 8, at least link_offset + 8 and defer_offset + 32
  uint32_t capacity = 0;
  uint32_t link_offset = 0;  // the freelist's 8-byte link inside a free slot
  uint32_t defer_offset = 0;
  uint64_t side_offset = 0;
  uint64_t side_stride = 0;
  uint64_t side_pitch = 0;
  uint32_t side_count = 0;
};

// Set up slab (which lives at base + self_offset) for a fresh, zero-filled region.
void region_slab_init(uint8_t *base, RegionSlab &slab, uint64_t self_offset, const RegionSlabConfig &config);

// A slot's offset from base and its index, or -ENOMEM when every slot is in
// use (or waiting for a grace period), or its memory cannot be committed.
int region_slab_alloc(uint8_t *base, RegionSlab &slab, uint32_t cpu, RegionCommitFn commit, void *ctx,
                      uint64_t *slot_offset, uint32_t *slot_index);

// Give back a slot that no reader can have seen (never published).
void region_slab_free(uint8_t *base, RegionSlab &slab, uint64_t slot_offset, uint32_t cpu);

// Give back a slot once every current RCU reader of this process is done.
void region_slab_free_after_grace_period(uint8_t *base, RegionSlab &slab, uint64_t slot_offset);

// When allocation failed: if frees are waiting for a grace period and this
// thread is not inside an RCU read-side section (where waiting would
// deadlock), wait for them and return true (retry the allocation).
bool region_slab_wait_for_deferred(RegionSlab &slab);

} // namespace userbpf
