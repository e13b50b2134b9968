// The LRU lists behind BPF_MAP_TYPE_LRU_HASH and LRU_PERCPU_HASH, following
// the kernel's kernel/bpf/bpf_lru_list.c, in a shared region.
//
// Every element of an LRU map is preallocated and always sits on exactly one
// list. The lists approximate "least recently used" cheaply, as the kernel's:
//
//  * Common LRU (default): one global list set - ACTIVE, INACTIVE, FREE - under
//    one lock, plus per-CPU local lists - FREE and PENDING - each with its own
//    lock. An update takes a node from its CPU's local FREE list and puts it
//    on the local PENDING list; when the local FREE list is empty, it moves
//    PENDING nodes into the global lists, rotates them and refills from the
//    global FREE list, evicting from the INACTIVE tail (elements not referenced
//    since the last rotation) when that is empty. A lookup only sets the
//    node's "ref" bit. Last resort: steal from other CPUs' local lists.
//  * Per-CPU LRU (BPF_F_NO_COMMON_LRU): each CPU has its own list set and
//    evicts only its own elements.
//
// Eviction removes the element from its hash bucket through a callback (the
// hash table's delete_node), under the bucket lock, so the lock order is
// always LRU list lock -> bucket lock.
//
// Lists are circular doubly linked lists of offsets (from the map's data
// area), so they are valid in every process. The "list heads" are LruLink
// structs inside the LRU's header area; a node's LruLink is the first member
// of its LruNode, and a node is named by the offset of that LruLink.
#pragma once

#include <atomic>
#include <cstdint>

#include "alloc/percpu_freelist.h"

namespace userbpf {

// The kernel's enum bpf_lru_list_type.
enum LruListType : uint8_t {
  kLruActive = 0,
  kLruInactive = 1,
  kLruFree = 2,
  kLruLocalFree = 3,    // on a CPU's local FREE list
  kLruLocalPending = 4, // on a CPU's local PENDING list
};
constexpr uint8_t kLruNrLists = 3;      // ACTIVE, INACTIVE, FREE
constexpr uint8_t kLruNrCounts = 2;     // ACTIVE and INACTIVE are counted
constexpr uint8_t kLruLocalOffset = 3;  // local types start here

struct LruLink {
  uint64_t next;
  uint64_t prev;
};

// Inside each element (24 bytes). next/prev change only under the lock of
// the list the node is on; ref is set by lockless lookups.
struct LruNode {
  LruLink link;
  std::atomic<uint16_t> cpu;           // whose local (or per-CPU) list
  std::atomic<uint8_t> type;           // LruListType
  std::atomic<uint8_t> ref;            // referenced since the last rotation
  std::atomic<uint8_t> pending_free;   // freed while its list could not be locked
  uint8_t reserved[3];
};
static_assert(sizeof(LruNode) == 24);

// One list set (the global one, or one CPU's with BPF_F_NO_COMMON_LRU).
struct alignas(64) LruList {
  LruLink lists[kLruNrLists];
  uint32_t counts[kLruNrCounts];
  uint64_t next_inactive_rotation; // where the next inactive rotation starts
  ResSpinLock lock;
};

// One CPU's local lists (common LRU only).
struct alignas(64) LruLocalList {
  LruLink free_list;
  LruLink pending_list;
  std::atomic<uint32_t> next_steal; // where this CPU's next steal starts
  ResSpinLock lock;
};

// Evict the element of node from the hash table. true if it was removed
// (false: already gone, or its bucket could not be locked).
using LruDeleteFn = bool (*)(void *ctx, uint64_t node);

struct BpfLru {
  uint64_t lists_offset;  // common: one LruList; per-CPU: ncpus LruLists
  uint64_t locals_offset; // common: ncpus LruLocalLists
  uint32_t ncpus;
  uint32_t percpu;        // BPF_F_NO_COMMON_LRU
  uint32_t nr_scans;      // nodes looked at per rotation or shrink
  uint32_t target_free;   // nodes a CPU takes from the global FREE list at once
  int32_t hash_offset;    // where the element's hash is, relative to the node
  uint32_t reserved;
};

// Bytes of list heads the LRU needs at lists_offset (64-byte aligned).
uint64_t bpf_lru_area_size(bool percpu, uint32_t ncpus);

// Set up lru in a zero-filled area of bpf_lru_area_size() bytes at area_offset.
void bpf_lru_init(uint8_t *base, BpfLru &lru, uint64_t area_offset, bool percpu, uint32_t ncpus,
                  int32_t hash_offset);

// Put nr nodes (first_node + i * stride) on the FREE lists.
void bpf_lru_populate(uint8_t *base, BpfLru &lru, uint64_t first_node, uint64_t stride, uint32_t nr);

// A free node for a new element with this hash (evicting one if need be), or
// 0 when none can be found. The node is on a PENDING / INACTIVE list from now.
uint64_t bpf_lru_pop_free(uint8_t *base, BpfLru &lru, uint32_t hash, uint32_t cpu, LruDeleteFn del, void *ctx);

// The element of node left the hash table: make the node free again.
void bpf_lru_push_free(uint8_t *base, BpfLru &lru, uint64_t node);

inline LruNode &lru_node_at(uint8_t *base, uint64_t node) { return *reinterpret_cast<LruNode *>(base + node); }

// A lookup hit: remember that the element was used (without dirtying the
// cache line when the bit is already set, as the kernel).
inline void bpf_lru_node_set_ref(LruNode &node) {
  if (!node.ref.load(std::memory_order_relaxed)) node.ref.store(1, std::memory_order_relaxed);
}

} // namespace userbpf
