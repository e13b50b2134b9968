// The hash map family: BPF_MAP_TYPE_HASH, PERCPU_HASH, LRU_HASH and
// LRU_PERCPU_HASH, following the kernel's kernel/bpf/hashtab.c. The four
// types share one table layout and most functions; the ops tables at the end
// pick the variants, as the kernel's do.
//
// The data area (offsets from Map::data; nothing in it is a pointer):
//
//   HtabHeader          geometry, seed, allocator state
//   Bucket[n_buckets]   list head + lock, n_buckets = roundup_pow_of_two(max_entries)
//   spare slots         prealloc HASH: one spare element per CPU (the kernel's extra_elems)
//   counter slots       BPF_F_NO_PREALLOC: per-CPU parts of the element count
//   freelist heads      the per-CPU freelist of elements (or of slots)
//   LRU lists           LRU types
//   elements            HtabElem + key + value, elem_size each
//   per-CPU values      per-CPU types: for CPU c, element i's value is at
//                       pcpu_off + c * pcpu_pitch + i * pcpu_size
//
// Buckets are singly linked "nulls" lists (the kernel's hlist_nulls): the end
// of a list is not 0 but a marker holding the bucket index. Lookups take no
// lock. An element can be deleted and reused for another key (in another
// bucket) while a lockless reader walks over it; such a reader ends on the
// other bucket's marker, sees that it is not its own, and starts over.
// Writers hold the bucket's lock. New elements go to the head of their list,
// so that with BPF_F_ZERO_SEED a GET_NEXT_KEY walk (bucket order, then list
// order) visits keys in exactly the kernel's order.
//
// Elements come from:
//   * preallocation (default): max_entries elements (+ one spare per CPU for
//     HASH, so that replacing a key of a full map works) made at create time
//     and recycled through the per-CPU freelist at once, like the kernel's;
//   * BPF_F_NO_PREALLOC: a RegionSlab, committing memory on demand; deleted
//     elements return to it after an RCU grace period, so a program that
//     still holds a pointer to the value never sees it reused;
//   * LRU types: the LRU lists (src/maps/lru.h), which evict instead of
//     failing with E2BIG.
//
// Concurrent readers may see element memory while a writer fills it, exactly
// as in the kernel: every shared field is an atomic, and keys and values are
// copied with relaxed atomic words (racy_copy), so the races are defined.
//
// Where this differs from the kernel, on purpose (a quiet map answers exactly
// as the kernel's does):
//   * Locks are rqspinlock-like ResSpinLocks (src/alloc/percpu_freelist.h):
//     re-entry from a signal handler gets -EDEADLK as in Linux 6.18; a holder
//     stuck for a second gets -ETIMEDOUT (the kernel gives up after 0.25 s,
//     but its holders cannot be preempted).
//   * A lockless lookup that finds nothing double-checks the bucket's
//     sequence count, and a syscall lookup re-checks the key after copying
//     the value: with preallocated elements reused at once the kernel can
//     miss a key that is being replaced, or copy the value of another key.
//   * GET_NEXT_KEY never jumps back, skips buckets or returns a superseded
//     version of a key because of concurrent updates (see htab_get_next_key).
//   * BPF_F_LOCK (maps whose value has a bpf_spin_lock) serializes with the
//     bucket lock, not with the value's own lock, whose offset the map does
//     not know here.
//   * Per-CPU value padding: a program-side insert zeroes the padding of its
//     own slot (the kernel copies the bytes that follow the program's value).
#include <errno.h>
#include <sched.h>
#include <sys/random.h>
#include <sys/sysinfo.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "alloc/percpu_freelist.h"
#include "alloc/region_alloc.h"
#include "maps/lru.h"
#include "maps/map.h"
#include "object/object.h"
#include "util/jhash.h"
#include "util/racy.h"

namespace userbpf {
namespace {

// ---------------------------------------------------------------------------
// Constants from the kernel

// HTAB_CREATE_FLAG_MASK
constexpr uint32_t kCreateFlagMask = BPF_F_NO_PREALLOC | BPF_F_NO_COMMON_LRU | BPF_F_NUMA_NODE | BPF_F_RDONLY |
                                     BPF_F_WRONLY | BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG | BPF_F_ZERO_SEED;
// KMALLOC_MAX_SIZE on x86-64 (SLUB: 2^(MAX_PAGE_ORDER + PAGE_SHIFT) = 4 MiB):
// an element (header + key + value) must be kmalloc-able.
constexpr uint64_t kKmallocMaxSize = uint64_t{1} << 22;
// PCPU_MIN_UNIT_SIZE: a per-CPU value must fit one unit of the per-CPU allocator.
constexpr uint64_t kPcpuMinUnitSize = 32 * 1024;
// sizeof(struct bucket) in the kernel: n_buckets * 16 must fit in a u32.
constexpr uint64_t kKernelBucketSize = 16;
// The element count of a NO_PREALLOC map is a per-CPU counter when the map is
// large enough (the kernel's PERCPU_COUNTER_BATCH).
constexpr int64_t kPercpuCounterBatch = 32;
// ENOTSUPP (524): kernel-internal, but it reaches user space for LRU + NO_PREALLOC.
constexpr int kENOTSUPP = 524;
constexpr uint32_t kNumaNoNode = UINT32_MAX;

constexpr uint64_t kHtabMagic = 0x3142415448425055ull; // "UPBHTAB1"
constexpr uint64_t kCacheLine = 64;

// ---------------------------------------------------------------------------
// Shared layout

// The header of every element; the key follows at offset 48 (8-aligned), then
// the value (round_up(value_size, 8) bytes; per-CPU types keep their values in
// the per-CPU area instead). 48 bytes, like the kernel's struct htab_elem,
// which the key + value size limit is computed from.
struct HtabElem {
  std::atomic<uint64_t> next; // next element's offset, or a nulls marker
  std::atomic<uint32_t> hash; // htab_hash(key), written before publication
  uint32_t index;             // slot number (immutable): per-CPU values
  uint8_t aux[32];            // while free: the freelist link (8 bytes);
                              // LRU types: the element's LruNode
};
static_assert(sizeof(HtabElem) == 48);
constexpr uint32_t kElemHeaderSize = sizeof(HtabElem);
constexpr uint32_t kAuxOffset = offsetof(HtabElem, aux);
static_assert(offsetof(HtabElem, hash) + 8 == kAuxOffset, "LRU writes the hash at node - 8");

struct Bucket {
  std::atomic<uint64_t> first; // first element, or the nulls marker
  ResSpinLock lock;
  // Odd while a writer changes the list; +2 per change. A lockless lookup
  // that found nothing checks it did not race with a change (see lookup_nulls).
  std::atomic<uint32_t> seq;
};
static_assert(sizeof(Bucket) == kKernelBucketSize);

struct alignas(kCacheLine) SpareSlot {
  std::atomic<uint64_t> elem; // 0 while a replace on this CPU uses it
};
struct alignas(kCacheLine) CounterSlot {
  std::atomic<int64_t> value;
};

struct HtabHeader {
  uint64_t magic;
  uint32_t map_type;
  uint32_t map_flags;
  uint32_t key_size;
  uint32_t value_size;
  uint32_t max_entries; // after the per-CPU LRU rounding
  uint32_t ncpus;
  uint32_t n_buckets;
  uint32_t hashrnd;     // jhash seed: random, or 0 with BPF_F_ZERO_SEED
  uint32_t key_area;    // round_up(key_size, 8)
  uint32_t pcpu_size;   // round_up(value_size, 8)
  uint32_t num_elems;   // element slots (preallocated, or the slab's capacity)
  uint8_t prealloc;
  uint8_t percpu;
  uint8_t lru;
  uint8_t use_percpu_counter;
  uint64_t elem_size;
  uint64_t buckets_off;
  uint64_t spares_off;
  uint64_t counters_off;
  uint64_t elems_off;
  uint64_t pcpu_off;
  uint64_t pcpu_pitch;
  alignas(kCacheLine) std::atomic<int64_t> count; // NO_PREALLOC: elements (global part)
  alignas(kCacheLine) PcpuFreelist freelist;      // prealloc, not LRU
  RegionSlab slab;                                // NO_PREALLOC
  BpfLru lru_state;                               // LRU
};

// Where everything goes, for the given attributes and CPU count.
struct Geometry {
  uint32_t max_entries = 0;
  uint32_t n_buckets = 0;
  uint32_t key_area = 0;
  uint32_t pcpu_size = 0;
  uint32_t num_elems = 0;
  uint64_t elem_size = 0;
  bool prealloc = false, percpu = false, lru = false, percpu_lru = false;
  bool spares = false, use_percpu_counter = false;
  uint64_t buckets_off = 0, spares_off = 0, counters_off = 0, heads_off = 0, lru_off = 0;
  uint64_t elems_off = 0, pcpu_off = 0, pcpu_pitch = 0;
  uint64_t commit_size = 0, data_size = 0;
};

bool type_is_percpu(uint32_t type) {
  return type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}
bool type_is_lru(uint32_t type) { return type == BPF_MAP_TYPE_LRU_HASH || type == BPF_MAP_TYPE_LRU_PERCPU_HASH; }

uint64_t roundup_pow_of_two(uint64_t x) {
  uint64_t p = 1;
  while (p < x) p <<= 1;
  return p;
}

// Address space a BPF_F_NO_PREALLOC map may reserve for its elements: a
// quarter of RAM (only what is used gets committed). A map that would need
// more holds fewer elements and reports ENOMEM, as the kernel does when
// memory runs out.
uint64_t no_prealloc_reserve_budget() {
  struct sysinfo si;
  if (sysinfo(&si) != 0) return uint64_t{1} << 32;
  return static_cast<uint64_t>(si.totalram) * si.mem_unit / 4;
}

// The kernel's htab_map_alloc() checks and our layout. 0 or -errno.
int compute_geometry(uint32_t type, uint32_t key_size, uint32_t value_size, uint32_t max_entries,
                     uint32_t flags, uint32_t ncpus, Geometry *g) {
  g->percpu = type_is_percpu(type);
  g->lru = type_is_lru(type);
  g->percpu_lru = (flags & BPF_F_NO_COMMON_LRU) != 0;
  g->prealloc = (flags & BPF_F_NO_PREALLOC) == 0;

  uint64_t entries = max_entries;
  if (g->percpu_lru) {
    // Every CPU's list gets the same number of elements, at least one.
    entries = round_up(max_entries, ncpus);
    if (entries > UINT32_MAX) entries = max_entries / ncpus * ncpus;
  }
  // Beyond 2^31 roundup_pow_of_two() would overflow a u32.
  if (entries > (uint64_t{1} << 31)) return -E2BIG;
  g->max_entries = static_cast<uint32_t>(entries);
  uint64_t n_buckets = roundup_pow_of_two(entries);
  if (n_buckets > UINT32_MAX / kKernelBucketSize) return -E2BIG;
  g->n_buckets = static_cast<uint32_t>(n_buckets);

  g->key_area = static_cast<uint32_t>(round_up(key_size, 8));
  g->pcpu_size = static_cast<uint32_t>(round_up(value_size, 8));
  g->elem_size = kElemHeaderSize + g->key_area + (g->percpu ? 0 : g->pcpu_size);
  g->spares = g->prealloc && !g->percpu && !g->lru;
  g->use_percpu_counter = !g->prealloc && max_entries / 2 > uint64_t{ncpus} * kPercpuCounterBatch;

  // Metadata, all committed at create.
  uint64_t off = round_up(sizeof(HtabHeader), kCacheLine);
  g->buckets_off = off;
  off = round_up(off + n_buckets * sizeof(Bucket), kCacheLine);
  if (g->spares) {
    g->spares_off = off;
    off += uint64_t{ncpus} * sizeof(SpareSlot);
  }
  if (g->use_percpu_counter) {
    g->counters_off = off;
    off += uint64_t{ncpus} * sizeof(CounterSlot);
  }
  if (!g->lru) {
    g->heads_off = off; // the freelist of elements, or the slab's per-CPU heads
    off += g->prealloc ? pcpu_freelist_heads_size(ncpus) : region_slab_heads_size(ncpus);
  } else {
    g->lru_off = off;
    off += bpf_lru_area_size(g->percpu_lru, ncpus);
  }
  off = round_up(off, kPageSize);

  // Elements (preallocated or reserved), then the per-CPU values.
  const uint64_t pcpu_bytes_per_elem = g->percpu ? uint64_t{ncpus} * g->pcpu_size : 0;
  uint64_t num_elems;
  if (g->prealloc) {
    num_elems = entries + (g->spares ? ncpus : 0);
  } else {
    // Room for max_entries live elements plus deleted ones waiting for their
    // grace period: liburcu's worker thread returns them, and on a busy
    // machine it may run late. Reserved address space only; what is used
    // gets committed.
    uint64_t wanted = entries + std::max<uint64_t>(entries, uint64_t{1} << 20);
    uint64_t fits = no_prealloc_reserve_budget() / (g->elem_size + pcpu_bytes_per_elem);
    num_elems = std::clamp<uint64_t>(std::min(wanted, fits), 1, UINT32_MAX - 1);
  }
  g->num_elems = static_cast<uint32_t>(num_elems);
  g->elems_off = off;
  off = round_up(off + num_elems * g->elem_size, kCacheLine);
  if (g->percpu) {
    g->pcpu_off = off;
    g->pcpu_pitch = round_up(num_elems * g->pcpu_size, kCacheLine);
    off += uint64_t{ncpus} * g->pcpu_pitch;
  }
  g->data_size = off;
  g->commit_size = g->prealloc ? off : g->elems_off;
  return 0;
}

// ---------------------------------------------------------------------------
// Per-process access to the shared table

struct Htab {
  uint8_t *base;
  HtabHeader &h;

  explicit Htab(Map &map) : base(map.data), h(*reinterpret_cast<HtabHeader *>(map.data)) {}

  Bucket &bucket(uint32_t index) const { return reinterpret_cast<Bucket *>(base + h.buckets_off)[index]; }
  uint32_t bucket_index(uint32_t hash) const { return hash & (h.n_buckets - 1); }
  HtabElem &elem(uint64_t off) const { return *reinterpret_cast<HtabElem *>(base + off); }
  uint8_t *key_of(uint64_t off) const { return base + off + kElemHeaderSize; }
  uint8_t *value_of(uint64_t off) const { return base + off + kElemHeaderSize + h.key_area; }
  uint8_t *pcpu_value(uint32_t index, uint32_t cpu) const {
    return base + h.pcpu_off + cpu * h.pcpu_pitch + uint64_t{index} * h.pcpu_size;
  }
  uint64_t lru_node_of(uint64_t elem_off) const { return elem_off + kAuxOffset; }
  uint64_t elem_of_lru_node(uint64_t node) const { return node - kAuxOffset; }
  SpareSlot &spare(uint32_t cpu) const { return reinterpret_cast<SpareSlot *>(base + h.spares_off)[cpu]; }
  CounterSlot &counter(uint32_t cpu) const { return reinterpret_cast<CounterSlot *>(base + h.counters_off)[cpu]; }
  [[gnu::always_inline]] uint32_t hash(const void *key) const { return htab_hash(key, h.key_size, h.hashrnd); }
};

// A list link is either an element's offset (8-aligned, never 0: the header
// is at offset 0) or a nulls marker: bit 0 set, bucket index above it.
constexpr bool is_nulls(uint64_t link) { return link & 1; }
constexpr uint64_t nulls_marker(uint32_t bucket) { return (uint64_t{bucket} << 1) | 1; }
constexpr uint32_t nulls_value(uint64_t link) { return static_cast<uint32_t>(link >> 1); }

// Ordering between relaxed accesses to element memory (see fill_key). On
// x86-64 both are compiler barriers only. ThreadSanitizer does not model
// fences (GCC warns); every access they order is atomic, so it reports no
// race either way, and a compiler barrier keeps the code order there.
#if defined(__SANITIZE_THREAD__)
inline void acquire_fence() { std::atomic_signal_fence(std::memory_order_seq_cst); }
inline void release_fence() { std::atomic_signal_fence(std::memory_order_seq_cst); }
#else
inline void acquire_fence() { std::atomic_thread_fence(std::memory_order_acquire); }
inline void release_fence() { std::atomic_thread_fence(std::memory_order_release); }
#endif

// An 8-byte word of element memory that others may be rewriting.
[[gnu::always_inline]] inline uint64_t load_shared_word(const uint8_t *p) {
  return __atomic_load_n(reinterpret_cast<const uint64_t *>(p), __ATOMIC_RELAXED);
}

// Compare a key with an element's key that others may be rewriting. The
// element's key area is a whole number of 8-byte words, so the last partial
// word can be read whole and masked.

[[gnu::always_inline]] inline bool key_equals(const uint8_t *elem_key, const uint8_t *key, uint32_t size) {
  // The common key sizes: one word, compared at once.
  if (size == 4) {
    uint32_t mine;
    memcpy(&mine, key, 4);
    return static_cast<uint32_t>(load_shared_word(elem_key)) == mine;
  }
  if (size == 8) {
    uint64_t mine;
    memcpy(&mine, key, 8);
    return load_shared_word(elem_key) == mine;
  }
  uint32_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t mine, theirs = load_shared_word(elem_key + i);
    memcpy(&mine, key + i, 8);
    if (mine != theirs) return false;
  }
  if (i < size) {
    uint64_t mine = 0, theirs = load_shared_word(elem_key + i);
    memcpy(&mine, key + i, size - i);
    uint64_t mask = (uint64_t{1} << ((size - i) * 8)) - 1;
    if ((theirs & mask) != mine) return false;
  }
  return true;
}

// How often a lookup that found nothing walks its bucket again because the
// bucket changed meanwhile (bounded, so that writers cannot starve it).
constexpr int kLookupRetries = 8;

// The kernel's lookup_nulls_elem_raw(): no lock; restarts when the walk ended
// in another bucket's list (an element on the way was reused). 0 if absent.
//
// One more check than the kernel's: an element may be deleted and reused
// while we stand on it; we then read its new key, and its stale link may end
// the walk early, so a key that was there all along (replaced, i.e. moved to
// the head) is missed. The kernel's prealloc maps have that race. Here a
// miss counts only when the bucket's sequence did not move during the walk.
[[gnu::always_inline]] inline uint64_t lookup_nulls(const Htab &t, uint32_t hash, const void *key) {
  const uint32_t index = t.bucket_index(hash);
  Bucket &b = t.bucket(index);
  const auto *k = static_cast<const uint8_t *>(key);
  for (int attempt = 0;; ++attempt) {
    const uint32_t seq = b.seq.load(std::memory_order_acquire);
    uint64_t link = b.first.load(std::memory_order_acquire);
    while (!is_nulls(link)) {
      HtabElem &e = t.elem(link);
      if (e.hash.load(std::memory_order_relaxed) == hash && key_equals(t.key_of(link), k, t.h.key_size)) return link;
      link = e.next.load(std::memory_order_acquire);
    }
    if (nulls_value(link) != index) continue;
    acquire_fence();
    if ((seq == b.seq.load(std::memory_order_relaxed) && !(seq & 1)) || attempt >= kLookupRetries) return 0;
  }
}

// Writers bracket every change of a bucket's list (bucket locked).
void write_begin(Bucket &b) {
  b.seq.store(b.seq.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  release_fence();
}
void write_end(Bucket &b) { b.seq.store(b.seq.load(std::memory_order_relaxed) + 1, std::memory_order_release); }

// Write key and hash into an element about to be published (possibly reused:
// readers may still stand on it). The fences let such a reader, once it has
// seen the new key, see that the element left its old bucket (the old
// bucket's sequence moved); and the new value comes after the new key.
void fill_key(const Htab &t, uint64_t elem, const void *key, uint32_t hash) {
  release_fence();
  racy_copy(t.key_of(elem), key, t.h.key_size);
  t.elem(elem).hash.store(hash, std::memory_order_relaxed);
  release_fence();
}

// The kernel's lookup_elem_raw(), with the bucket locked. Also returns the
// link that points at the element, for unlinking it.
uint64_t lookup_locked(const Htab &t, Bucket &b, uint32_t hash, const void *key,
                       std::atomic<uint64_t> **pred_out = nullptr) {
  const auto *k = static_cast<const uint8_t *>(key);
  std::atomic<uint64_t> *pred = &b.first;
  uint64_t link = pred->load(std::memory_order_relaxed);
  while (!is_nulls(link)) {
    HtabElem &e = t.elem(link);
    if (e.hash.load(std::memory_order_relaxed) == hash && key_equals(t.key_of(link), k, t.h.key_size)) {
      if (pred_out) *pred_out = pred;
      return link;
    }
    pred = &e.next;
    link = pred->load(std::memory_order_relaxed);
  }
  return 0;
}

// With the bucket locked: publish elem at the head of the list. Its key,
// value and hash are written; readers that acquire the head see them.
void link_at_head(const Htab &t, Bucket &b, uint64_t elem) {
  write_begin(b);
  t.elem(elem).next.store(b.first.load(std::memory_order_relaxed), std::memory_order_release);
  b.first.store(elem, std::memory_order_release);
  write_end(b);
}

// With the bucket locked: take elem out of its list. Its own link stays, so a
// reader standing on it walks on (the kernel's hlist_nulls_del_rcu).
void unlink(const Htab &t, Bucket &b, std::atomic<uint64_t> *pred, uint64_t elem) {
  write_begin(b);
  pred->store(t.elem(elem).next.load(std::memory_order_relaxed), std::memory_order_release);
  write_end(b);
}

// With the bucket locked: unlink elem if it is in the list (LRU eviction).
bool unlink_if_present(const Htab &t, Bucket &b, uint64_t elem) {
  std::atomic<uint64_t> *pred = &b.first;
  uint64_t link = pred->load(std::memory_order_relaxed);
  while (!is_nulls(link)) {
    if (link == elem) {
      unlink(t, b, pred, elem);
      return true;
    }
    pred = &t.elem(link).next;
    link = pred->load(std::memory_order_relaxed);
  }
  return false;
}

bool has_spin_lock(const Map &map) { return map.hdr != nullptr && map.hdr->map.has_spin_lock != 0; }

// The kernel's check_flags(): BPF_NOEXIST on an existing key, BPF_EXIST on a
// missing one.
int check_flags(uint64_t old_elem, uint64_t flags) {
  const uint64_t mode = flags & ~uint64_t{BPF_F_LOCK};
  if (old_elem && mode == BPF_NOEXIST) return -EEXIST;
  if (!old_elem && mode == BPF_EXIST) return -ENOENT;
  return 0;
}

// ---------------------------------------------------------------------------
// Element counting (BPF_F_NO_PREALLOC), the kernel's percpu_counter use

void count_add(const Htab &t, uint32_t cpu, int64_t delta) {
  if (!t.h.use_percpu_counter) {
    t.h.count.fetch_add(delta, std::memory_order_relaxed);
    return;
  }
  // Fold this CPU's part into the global count once it reaches the batch.
  std::atomic<int64_t> &local = t.counter(cpu).value;
  int64_t now = local.fetch_add(delta, std::memory_order_relaxed) + delta;
  if (now >= kPercpuCounterBatch || now <= -kPercpuCounterBatch) {
    local.fetch_sub(now, std::memory_order_relaxed);
    t.h.count.fetch_add(now, std::memory_order_relaxed);
  }
}

// __percpu_counter_compare(count, max_entries, batch) >= 0: the global part
// decides when it is far from the limit, the exact sum near it.
bool is_map_full(const Htab &t) {
  const int64_t limit = t.h.max_entries;
  int64_t count = t.h.count.load(std::memory_order_relaxed);
  if (!t.h.use_percpu_counter) return count >= limit;
  if (std::llabs(count - limit) > kPercpuCounterBatch * int64_t{t.h.ncpus}) return count >= limit;
  for (uint32_t cpu = 0; cpu < t.h.ncpus; ++cpu) count += t.counter(cpu).value.load(std::memory_order_relaxed);
  return count >= limit;
}

int64_t element_count(const Htab &t) {
  int64_t count = t.h.count.load(std::memory_order_relaxed);
  if (t.h.use_percpu_counter)
    for (uint32_t cpu = 0; cpu < t.h.ncpus; ++cpu) count += t.counter(cpu).value.load(std::memory_order_relaxed);
  return count;
}

// ---------------------------------------------------------------------------
// Element allocation and freeing

int commit_for_slab(void *ctx, uint64_t offset, uint64_t len) {
  return map_commit(*static_cast<Map *>(ctx), offset, len);
}

// The kernel allocates a BPF_F_NO_PREALLOC element (struct htab_elem, 48
// bytes, + key + value or per-CPU pointer) with bpf_mem_alloc, which adds an
// 8-byte header and cannot exceed KMALLOC_MAX_SIZE (4 MiB): maps whose
// elements are that large are created but every insert fails with ENOMEM.
bool kernel_could_allocate_elem(const Map &map, bool percpu) {
  constexpr uint64_t kHtabElemHeader = 48, kMemAllocHeader = 8, kKmallocMax = uint64_t{4} << 20;
  uint64_t size = kHtabElemHeader + round_up(map.key_size, 8) + (percpu ? 8 : round_up(map.value_size, 8));
  return size + kMemAllocHeader <= kKmallocMax;
}

// A NO_PREALLOC slot, taken before the bucket lock (committing memory and
// waiting for deferred frees must not happen under it). 0 when none.
uint64_t slab_take(Map &map, const Htab &t, uint32_t cpu, bool may_wait) {
  if (!kernel_could_allocate_elem(map, t.h.percpu)) return 0;
  uint64_t off;
  uint32_t index;
  for (;;) {
    if (region_slab_alloc(t.base, t.h.slab, cpu, commit_for_slab, &map, &off, &index) == 0) {
      // A slot's index never changes: written once, when the slot is first used
      // (stale readers of a reused slot may be reading it).
      if (t.elem(off).index != index) t.elem(off).index = index;
      return off;
    }
    if (!may_wait || !region_slab_wait_for_deferred(t.base, t.h.slab)) return 0;
  }
}

// Prealloc HASH, replacing a key: the spare element of this CPU (the
// kernel's extra_elems). Two threads may share a CPU number here, so the
// spare is taken with an exchange; when this CPU's is in use, a free element
// or another CPU's spare does. *from_spare tells where the old element goes.
uint64_t take_spare(const Htab &t, uint32_t cpu, bool *from_spare) {
  const uint32_t n = t.h.ncpus;
  uint64_t elem = t.spare(cpu).elem.exchange(0, std::memory_order_acquire);
  if (elem) {
    *from_spare = true;
    return elem;
  }
  if ((elem = pcpu_freelist_pop(t.base, t.h.freelist, cpu))) {
    *from_spare = false;
    return elem;
  }
  // Every spare is in use by a replace in progress: one comes back shortly.
  for (;;) {
    for (uint32_t i = 1; i <= n; ++i) {
      if ((elem = t.spare((cpu + i) % n).elem.exchange(0, std::memory_order_acquire))) {
        *from_spare = true;
        return elem;
      }
    }
    sched_yield();
  }
}

void put_spare(const Htab &t, uint32_t cpu, uint64_t elem, bool from_spare) {
  if (!from_spare) {
    pcpu_freelist_push(t.base, t.h.freelist, elem, cpu);
    return;
  }
  // ncpus spares exist and we took one, so some slot is empty.
  for (;;) {
    for (uint32_t i = 0; i < t.h.ncpus; ++i) {
      uint64_t expected = 0;
      if (t.spare((cpu + i) % t.h.ncpus).elem.compare_exchange_strong(expected, elem, std::memory_order_release,
                                                                      std::memory_order_relaxed))
        return;
    }
  }
}

// The kernel's free_htab_elem(), after the element left its bucket.
void free_elem(const Htab &t, uint32_t cpu, uint64_t elem) {
  if (t.h.prealloc) {
    // Preallocated elements are reused at once, as in the kernel.
    pcpu_freelist_push(t.base, t.h.freelist, elem, cpu);
  } else {
    count_add(t, cpu, -1);
    region_slab_free_after_grace_period(t.base, t.h.slab, elem, cpu);
  }
}

// htab_lru_push_free()
void lru_free_elem(const Htab &t, uint64_t elem) { bpf_lru_push_free(t.base, t.h.lru_state, t.lru_node_of(elem)); }

// The LRU's eviction callback (the kernel's htab_lru_map_delete_node): take
// the element out of its bucket, under the bucket lock.
bool lru_delete_node(void *ctx, uint64_t node) {
  Htab t(*static_cast<Map *>(ctx));
  uint64_t elem = t.elem_of_lru_node(node);
  Bucket &b = t.bucket(t.bucket_index(t.elem(elem).hash.load(std::memory_order_relaxed)));
  if (res_spin_lock(b.lock) != 0) return false;
  bool found = unlink_if_present(t, b, elem);
  res_spin_unlock(b.lock);
  return found;
}

// prealloc_lru_pop(): a node from the LRU (evicting if need be), with the key
// written. 0 when none could be found.
uint64_t lru_pop(Map &map, const Htab &t, const void *key, uint32_t hash, uint32_t cpu) {
  uint64_t node = bpf_lru_pop_free(t.base, t.h.lru_state, hash, cpu, lru_delete_node, &map);
  if (!node) return 0;
  uint64_t elem = t.elem_of_lru_node(node);
  fill_key(t, elem, key, hash); // the LRU wrote the hash already; same value
  return elem;
}

// ---------------------------------------------------------------------------
// Values

// copy_map_value(): value_size bytes of a (non-per-CPU) value.
void write_value(const Htab &t, uint64_t elem, const void *value) {
  racy_copy(t.value_of(elem), value, t.h.value_size);
}

// pcpu_copy_value(): from a program, this CPU's value_size bytes; from user
// space, every CPU's whole 8-byte-rounded slot.
void pcpu_copy_value(const Htab &t, uint64_t elem, const void *value, bool onallcpus, uint32_t cpu) {
  const uint32_t index = t.elem(elem).index;
  if (!onallcpus) {
    racy_copy(t.pcpu_value(index, cpu), value, t.h.value_size);
    return;
  }
  const auto *src = static_cast<const uint8_t *>(value);
  for (uint32_t c = 0; c < t.h.ncpus; ++c, src += t.h.pcpu_size) racy_copy(t.pcpu_value(index, c), src, t.h.pcpu_size);
}

// pcpu_init_value(): a new element inserted by a program gets its value on
// this CPU and zeros on the others (a program could not set them).
void pcpu_init_value(const Htab &t, uint64_t elem, const void *value, bool onallcpus, uint32_t cpu) {
  if (onallcpus) {
    pcpu_copy_value(t, elem, value, true, cpu);
    return;
  }
  const uint32_t index = t.elem(elem).index;
  for (uint32_t c = 0; c < t.h.ncpus; ++c) {
    uint8_t *slot = t.pcpu_value(index, c);
    if (c == cpu) {
      racy_copy(slot, value, t.h.value_size);
      racy_zero(slot + t.h.value_size, t.h.pcpu_size - t.h.value_size);
    } else {
      racy_zero(slot, t.h.pcpu_size);
    }
  }
}

// bpf_percpu_hash_copy() / copy_map_value_long(): every CPU's rounded slot.
void pcpu_read_all(const Htab &t, uint64_t elem, void *out) {
  const uint32_t index = t.elem(elem).index;
  auto *dst = static_cast<uint8_t *>(out);
  for (uint32_t c = 0; c < t.h.ncpus; ++c, dst += t.h.pcpu_size) racy_copy(dst, t.pcpu_value(index, c), t.h.pcpu_size);
}

// ---------------------------------------------------------------------------
// MapOps: create

int htab_alloc_check(const MapCreateAttr &attr) {
  const bool percpu = type_is_percpu(attr.map_type);
  const bool lru = type_is_lru(attr.map_type);
  const bool percpu_lru = attr.map_flags & BPF_F_NO_COMMON_LRU;
  const bool prealloc = !(attr.map_flags & BPF_F_NO_PREALLOC);
  const uint32_t numa_node = (attr.map_flags & BPF_F_NUMA_NODE) ? attr.numa_node : kNumaNoNode;

  // BPF_F_ZERO_SEED needs CAP_SYS_ADMIN in the kernel (against local DoS by
  // crafted collisions); a userbpf map is private to its user, so it is allowed.
  if (attr.map_flags & ~kCreateFlagMask) return -EINVAL;
  // bpf_map_flags_access_ok(): not both read-only and write-only.
  if ((attr.map_flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) == (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG))
    return -EINVAL;
  if ((attr.map_flags & (BPF_F_RDONLY | BPF_F_WRONLY)) == (BPF_F_RDONLY | BPF_F_WRONLY)) return -EINVAL;
  if (!lru && percpu_lru) return -EINVAL;
  if (lru && !prealloc) return -kENOTSUPP;
  if (numa_node != kNumaNoNode && (percpu || percpu_lru)) return -EINVAL;
  // value_size == 0 may one day make a set; not yet.
  if (attr.max_entries == 0 || attr.key_size == 0 || attr.value_size == 0) return -EINVAL;
  // Larger elements could not be reached through the bpf syscall.
  if (uint64_t{attr.key_size} + attr.value_size >= kKmallocMaxSize - kElemHeaderSize) return -E2BIG;
  if (percpu && round_up(attr.value_size, 8) > kPcpuMinUnitSize) return -E2BIG;
  return 0;
}

int htab_layout(const MapCreateAttr &attr, uint32_t ncpus, MapLayout *out) {
  Geometry g;
  if (int err = compute_geometry(attr.map_type, attr.key_size, attr.value_size, attr.max_entries, attr.map_flags,
                                 ncpus, &g))
    return err;
  out->data_size = g.data_size;
  out->commit_size = g.commit_size;
  // Preallocated maps charge everything up front; NO_PREALLOC ones the table.
  out->charge_size = g.commit_size;
  return 0;
}

int htab_init(Map &map) {
  Geometry g;
  const uint32_t requested_entries = map.max_entries;
  if (int err = compute_geometry(map.type, map.key_size, map.value_size, requested_entries, map.map_flags, map.ncpus,
                                 &g))
    return err;
  Htab t(map);
  HtabHeader &h = t.h;
  h.map_type = map.type;
  h.map_flags = map.map_flags;
  h.key_size = map.key_size;
  h.value_size = map.value_size;
  h.max_entries = g.max_entries;
  h.ncpus = map.ncpus;
  h.n_buckets = g.n_buckets;
  h.key_area = g.key_area;
  h.pcpu_size = g.pcpu_size;
  h.num_elems = g.num_elems;
  h.prealloc = g.prealloc;
  h.percpu = g.percpu;
  h.lru = g.lru;
  h.use_percpu_counter = g.use_percpu_counter;
  h.elem_size = g.elem_size;
  h.buckets_off = g.buckets_off;
  h.spares_off = g.spares_off;
  h.counters_off = g.counters_off;
  h.elems_off = g.elems_off;
  h.pcpu_off = g.pcpu_off;
  h.pcpu_pitch = g.pcpu_pitch;
  h.count.store(0, std::memory_order_relaxed);

  // With BPF_F_NO_COMMON_LRU the kernel rounds max_entries to a multiple of
  // the CPU count, and that is what BPF_OBJ_GET_INFO_BY_FD reports.
  if (g.max_entries != requested_entries) {
    map.max_entries = g.max_entries;
    if (map.hdr) map.hdr->map.max_entries = g.max_entries;
  }

  h.hashrnd = 0;
  if (!(map.map_flags & BPF_F_ZERO_SEED)) {
    uint32_t seed = 0;
    if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed)) {
      struct timespec ts;
      clock_gettime(CLOCK_MONOTONIC, &ts);
      seed = static_cast<uint32_t>(ts.tv_nsec ^ (ts.tv_sec << 20) ^ reinterpret_cast<uintptr_t>(&ts));
    }
    h.hashrnd = seed;
  }

  for (uint32_t i = 0; i < g.n_buckets; ++i) {
    Bucket &b = t.bucket(i);
    b.first.store(nulls_marker(i), std::memory_order_relaxed);
    res_spin_lock_init(b.lock);
  }

  if (g.prealloc) {
    for (uint32_t i = 0; i < g.num_elems; ++i) t.elem(g.elems_off + i * g.elem_size).index = i;
    if (g.lru) {
      bpf_lru_init(t.base, h.lru_state, g.lru_off, g.percpu_lru, map.ncpus,
                   static_cast<int32_t>(offsetof(HtabElem, hash)) - static_cast<int32_t>(kAuxOffset));
      bpf_lru_populate(t.base, h.lru_state, g.elems_off + kAuxOffset, g.elem_size, g.num_elems);
    } else {
      pcpu_freelist_init(t.base, h.freelist, g.heads_off, map.ncpus, kAuxOffset);
      pcpu_freelist_populate(t.base, h.freelist, g.elems_off, g.elem_size, g.num_elems);
      if (g.spares) {
        for (uint32_t cpu = 0; cpu < map.ncpus; ++cpu)
          t.spare(cpu).elem.store(pcpu_freelist_pop(t.base, h.freelist, cpu), std::memory_order_relaxed);
      }
    }
  } else {
    RegionSlabConfig config;
    config.heads_offset = g.heads_off;
    config.ncpus = map.ncpus;
    config.slots_offset = g.elems_off;
    config.slot_size = g.elem_size;
    config.capacity = g.num_elems;
    config.link_offset = kAuxOffset;
    if (g.percpu) {
      config.side_offset = g.pcpu_off;
      config.side_stride = g.pcpu_size;
      config.side_pitch = g.pcpu_pitch;
      config.side_count = map.ncpus;
    }
    region_slab_init(t.base, h.slab, config);
  }
  h.magic = kHtabMagic;
  return 0;
}

// ---------------------------------------------------------------------------
// MapOps: program side (and the shared core of the syscall side)

void *htab_lookup_elem(Map &map, const void *key) {
  Htab t(map);
  uint64_t elem = lookup_nulls(t, t.hash(key), key);
  return elem ? t.value_of(elem) : nullptr;
}

void *htab_lru_lookup_elem(Map &map, const void *key) {
  Htab t(map);
  uint64_t elem = lookup_nulls(t, t.hash(key), key);
  if (!elem) return nullptr;
  bpf_lru_node_set_ref(lru_node_at(t.base, t.lru_node_of(elem)));
  return t.value_of(elem);
}

void *htab_percpu_lookup_elem(Map &map, const void *key) {
  Htab t(map);
  uint64_t elem = lookup_nulls(t, t.hash(key), key);
  return elem ? t.pcpu_value(t.elem(elem).index, current_cpu(t.h.ncpus)) : nullptr;
}

void *htab_lru_percpu_lookup_elem(Map &map, const void *key) {
  Htab t(map);
  uint64_t elem = lookup_nulls(t, t.hash(key), key);
  if (!elem) return nullptr;
  bpf_lru_node_set_ref(lru_node_at(t.base, t.lru_node_of(elem)));
  return t.pcpu_value(t.elem(elem).index, current_cpu(t.h.ncpus));
}

void *htab_percpu_lookup_percpu_elem(Map &map, const void *key, uint32_t cpu) {
  Htab t(map);
  if (cpu >= t.h.ncpus) return nullptr;
  uint64_t elem = lookup_nulls(t, t.hash(key), key);
  return elem ? t.pcpu_value(t.elem(elem).index, cpu) : nullptr;
}

void *htab_lru_percpu_lookup_percpu_elem(Map &map, const void *key, uint32_t cpu) {
  Htab t(map);
  if (cpu >= t.h.ncpus) return nullptr;
  uint64_t elem = lookup_nulls(t, t.hash(key), key);
  if (!elem) return nullptr;
  bpf_lru_node_set_ref(lru_node_at(t.base, t.lru_node_of(elem)));
  return t.pcpu_value(t.elem(elem).index, cpu);
}

// htab_map_update_elem(): HASH, program and syscall alike.
int htab_update_elem(Map &map, const void *key, const void *value, uint64_t flags) {
  if ((flags & ~uint64_t{BPF_F_LOCK}) > BPF_EXIST) return -EINVAL;
  if ((flags & BPF_F_LOCK) && !has_spin_lock(map)) return -EINVAL;
  Htab t(map);
  const uint32_t hash = t.hash(key);
  const uint32_t cpu = current_cpu(t.h.ncpus);
  Bucket &b = t.bucket(t.bucket_index(hash));

  // A NO_PREALLOC element is made before taking the bucket lock.
  uint64_t prepared = t.h.prealloc ? 0 : slab_take(map, t, cpu, true);

  if (int err = res_spin_lock(b.lock)) {
    if (prepared) region_slab_free(t.base, t.h.slab, prepared, cpu);
    return err;
  }
  std::atomic<uint64_t> *pred = nullptr;
  uint64_t old_elem = lookup_locked(t, b, hash, key, &pred);
  int ret = check_flags(old_elem, flags);
  if (ret == 0 && old_elem && (flags & BPF_F_LOCK)) {
    // Update in place. The kernel takes the bpf_spin_lock inside the value;
    // its offset is not known here, so the bucket lock serializes BPF_F_LOCK
    // users instead (programs' own bpf_spin_lock sections are not excluded).
    write_value(t, old_elem, value);
  } else if (ret == 0) {
    uint64_t new_elem = 0;
    bool from_spare = false;
    if (t.h.prealloc) {
      new_elem = old_elem ? take_spare(t, cpu, &from_spare) : pcpu_freelist_pop(t.base, t.h.freelist, cpu);
      if (!new_elem) ret = -E2BIG; // every preallocated element is in use
    } else if (!old_elem && is_map_full(t)) {
      ret = -E2BIG;
    } else if (!prepared) {
      ret = -ENOMEM;
    } else {
      count_add(t, cpu, 1);
      new_elem = prepared;
      prepared = 0;
    }
    if (new_elem) {
      fill_key(t, new_elem, key, hash);
      write_value(t, new_elem, value);
      // At the head, so that a concurrent lookup finds it before the old one.
      link_at_head(t, b, new_elem);
      if (old_elem) {
        // pred pointed at old_elem; the new element went in before it. When
        // old_elem was first, it is now behind new_elem.
        if (pred == &b.first) pred = &t.elem(new_elem).next;
        unlink(t, b, pred, old_elem);
        if (t.h.prealloc) put_spare(t, cpu, old_elem, from_spare);
      }
    }
  }
  res_spin_unlock(b.lock);
  if (ret == 0 && old_elem && !t.h.prealloc && !(flags & BPF_F_LOCK)) free_elem(t, cpu, old_elem);
  if (prepared) region_slab_free(t.base, t.h.slab, prepared, cpu);
  return ret;
}

// htab_lru_map_update_elem()
int htab_lru_update_elem(Map &map, const void *key, const void *value, uint64_t flags) {
  if (flags > BPF_EXIST) return -EINVAL;
  Htab t(map);
  const uint32_t hash = t.hash(key);
  const uint32_t cpu = current_cpu(t.h.ncpus);
  Bucket &b = t.bucket(t.bucket_index(hash));

  // Take a node before the bucket lock: finding one may evict an element,
  // which locks that element's bucket (lock order: LRU, then bucket).
  uint64_t new_elem = lru_pop(map, t, key, hash, cpu);
  if (!new_elem) return -ENOMEM;
  write_value(t, new_elem, value);

  uint64_t old_elem = 0;
  int ret = res_spin_lock(b.lock);
  if (ret == 0) {
    std::atomic<uint64_t> *pred = nullptr;
    old_elem = lookup_locked(t, b, hash, key, &pred);
    ret = check_flags(old_elem, flags);
    if (ret == 0) {
      link_at_head(t, b, new_elem);
      if (old_elem) {
        bpf_lru_node_set_ref(lru_node_at(t.base, t.lru_node_of(new_elem)));
        if (pred == &b.first) pred = &t.elem(new_elem).next;
        unlink(t, b, pred, old_elem);
      }
    }
    res_spin_unlock(b.lock);
  }
  if (ret) lru_free_elem(t, new_elem);
  else if (old_elem) lru_free_elem(t, old_elem);
  return ret;
}

// __htab_percpu_map_update_elem(): updates in place; a new key gets an element.
int htab_percpu_update(Map &map, const void *key, const void *value, uint64_t flags, bool onallcpus) {
  if (flags > BPF_EXIST) return -EINVAL;
  Htab t(map);
  const uint32_t hash = t.hash(key);
  const uint32_t cpu = current_cpu(t.h.ncpus);
  Bucket &b = t.bucket(t.bucket_index(hash));

  // NO_PREALLOC: make an element before locking, unless the key is there.
  uint64_t prepared = 0;
  if (!t.h.prealloc && flags != BPF_EXIST && !lookup_nulls(t, hash, key)) prepared = slab_take(map, t, cpu, true);

  int ret = res_spin_lock(b.lock);
  if (ret == 0) {
    uint64_t old_elem = lookup_locked(t, b, hash, key);
    ret = check_flags(old_elem, flags);
    if (ret == 0 && old_elem) {
      pcpu_copy_value(t, old_elem, value, onallcpus, cpu);
    } else if (ret == 0) {
      uint64_t new_elem = 0;
      if (t.h.prealloc) {
        new_elem = pcpu_freelist_pop(t.base, t.h.freelist, cpu);
        if (!new_elem) ret = -E2BIG;
      } else if (is_map_full(t)) {
        ret = -E2BIG;
      } else {
        // Created by someone else and deleted since our look: make one now.
        if (!prepared) prepared = slab_take(map, t, cpu, false);
        if (!prepared) {
          ret = -ENOMEM;
        } else {
          count_add(t, cpu, 1);
          new_elem = prepared;
          prepared = 0;
        }
      }
      if (new_elem) {
        fill_key(t, new_elem, key, hash);
        pcpu_init_value(t, new_elem, value, onallcpus, cpu);
        link_at_head(t, b, new_elem);
      }
    }
    res_spin_unlock(b.lock);
  }
  if (prepared) region_slab_free(t.base, t.h.slab, prepared, cpu);
  return ret;
}

// __htab_lru_percpu_map_update_elem()
int htab_lru_percpu_update(Map &map, const void *key, const void *value, uint64_t flags, bool onallcpus) {
  if (flags > BPF_EXIST) return -EINVAL;
  Htab t(map);
  const uint32_t hash = t.hash(key);
  const uint32_t cpu = current_cpu(t.h.ncpus);
  Bucket &b = t.bucket(t.bucket_index(hash));

  uint64_t new_elem = 0;
  if (flags != BPF_EXIST) {
    new_elem = lru_pop(map, t, key, hash, cpu);
    if (!new_elem) return -ENOMEM;
  }
  int ret = res_spin_lock(b.lock);
  if (ret == 0) {
    uint64_t old_elem = lookup_locked(t, b, hash, key);
    ret = check_flags(old_elem, flags);
    if (ret == 0 && old_elem) {
      bpf_lru_node_set_ref(lru_node_at(t.base, t.lru_node_of(old_elem)));
      pcpu_copy_value(t, old_elem, value, onallcpus, cpu);
    } else if (ret == 0) {
      pcpu_init_value(t, new_elem, value, onallcpus, cpu);
      link_at_head(t, b, new_elem);
      new_elem = 0;
    }
    res_spin_unlock(b.lock);
  }
  if (new_elem) lru_free_elem(t, new_elem);
  return ret;
}

int htab_percpu_update_elem(Map &map, const void *key, const void *value, uint64_t flags) {
  return htab_percpu_update(map, key, value, flags, false);
}
int htab_percpu_sys_update(Map &map, const void *key, const void *value, uint64_t flags) {
  return htab_percpu_update(map, key, value, flags, true);
}
int htab_lru_percpu_update_elem(Map &map, const void *key, const void *value, uint64_t flags) {
  return htab_lru_percpu_update(map, key, value, flags, false);
}
int htab_lru_percpu_sys_update(Map &map, const void *key, const void *value, uint64_t flags) {
  return htab_lru_percpu_update(map, key, value, flags, true);
}

// Unlink the key's element under its bucket lock; 0 and the element, or -errno.
// With copy_out, its value is copied out first (lookup-and-delete).
int delete_key(const Htab &t, const void *key, uint64_t *elem_out, void *copy_out) {
  const uint32_t hash = t.hash(key);
  Bucket &b = t.bucket(t.bucket_index(hash));
  if (int err = res_spin_lock(b.lock)) return err;
  std::atomic<uint64_t> *pred = nullptr;
  uint64_t elem = lookup_locked(t, b, hash, key, &pred);
  int ret = 0;
  if (!elem) {
    ret = -ENOENT;
  } else {
    if (copy_out) { // BPF_F_LOCK: the bucket lock is held already
      if (t.h.percpu) pcpu_read_all(t, elem, copy_out);
      else racy_copy(copy_out, t.value_of(elem), t.h.value_size);
    }
    unlink(t, b, pred, elem);
  }
  res_spin_unlock(b.lock);
  *elem_out = elem;
  return ret;
}

// htab_map_delete_elem() (HASH, PERCPU_HASH)
int htab_delete_elem(Map &map, const void *key) {
  Htab t(map);
  uint64_t elem = 0;
  if (int err = delete_key(t, key, &elem, nullptr)) return err;
  free_elem(t, current_cpu(t.h.ncpus), elem);
  return 0;
}

// htab_lru_map_delete_elem()
int htab_lru_delete_elem(Map &map, const void *key) {
  Htab t(map);
  uint64_t elem = 0;
  if (int err = delete_key(t, key, &elem, nullptr)) return err;
  lru_free_elem(t, elem);
  return 0;
}

// ---------------------------------------------------------------------------
// MapOps: syscall side

// bpf_map_copy_value() for HASH and LRU_HASH: no LRU reference (a user-space
// walk must not disturb eviction), value_size bytes.
int htab_sys_lookup(Map &map, const void *key, void *value, uint64_t flags) {
  if (flags & ~uint64_t{BPF_F_LOCK}) return -EINVAL;
  if ((flags & BPF_F_LOCK) && !has_spin_lock(map)) return -EINVAL;
  Htab t(map);
  const uint32_t hash = t.hash(key);
  if (flags & BPF_F_LOCK) {
    Bucket &b = t.bucket(t.bucket_index(hash));
    if (int err = res_spin_lock(b.lock)) return err;
    uint64_t elem = lookup_locked(t, b, hash, key);
    if (elem) racy_copy(value, t.value_of(elem), t.h.value_size);
    res_spin_unlock(b.lock);
    return elem ? 0 : -ENOENT;
  }
  // A preallocated element can be reused for another key while we copy:
  // copy again unless it still holds our key (see fill_key).
  for (;;) {
    uint64_t elem = lookup_nulls(t, hash, key);
    if (!elem) return -ENOENT;
    racy_copy(value, t.value_of(elem), t.h.value_size);
    acquire_fence();
    if (key_equals(t.key_of(elem), static_cast<const uint8_t *>(key), t.h.key_size)) return 0;
  }
}

// bpf_percpu_hash_copy(): every CPU's rounded slot, no LRU reference.
int htab_percpu_sys_lookup(Map &map, const void *key, void *value, uint64_t flags) {
  if (flags & ~uint64_t{BPF_F_LOCK}) return -EINVAL;
  if ((flags & BPF_F_LOCK) && !has_spin_lock(map)) return -EINVAL;
  Htab t(map);
  const uint32_t hash = t.hash(key);
  for (;;) { // as htab_sys_lookup: the element must still hold our key
    uint64_t elem = lookup_nulls(t, hash, key);
    if (!elem) return -ENOENT;
    pcpu_read_all(t, elem, value);
    acquire_fence();
    if (key_equals(t.key_of(elem), static_cast<const uint8_t *>(key), t.h.key_size)) return 0;
  }
}

// htab_map_get_next_key(): the key after key in bucket order, then list order;
// the first key when key is NULL or not in the map.
//
// Concurrent updates are handled more carefully than by the kernel, with the
// same answers on a quiet map:
//  * an element can be reused for another key while we look (preallocated
//    ones at once); the kernel would then answer with a key of whatever
//    bucket it went to. Here an answer must belong to the bucket we are at,
//    or the step is retried: a walk never jumps back or skips buckets.
//  * a replace links the new version of a key before unlinking the old one.
//    A kernel writer does that in nanoseconds; ours can be preempted in
//    between, and a walk could then bounce between the two versions for a
//    whole time slice. Here an answer must be the element a lookup of its
//    key finds (its current version); superseded versions are skipped.
namespace {

enum class Step { kFound, kEndOfBucket, kRetry };

// From link (in bucket index), the first element that is current; its key in out.
Step first_current_from(const Htab &t, uint64_t link, uint32_t index, uint8_t *out) {
  while (!is_nulls(link)) {
    racy_copy(out, t.key_of(link), t.h.key_size);
    const uint32_t hash = t.hash(out);
    if (t.bucket_index(hash) != index) return Step::kRetry; // reused for a key of another bucket
    if (lookup_nulls(t, hash, out) == link) return Step::kFound;
    link = t.elem(link).next.load(std::memory_order_acquire); // superseded or deleted: skip
  }
  return nulls_value(link) == index ? Step::kEndOfBucket : Step::kRetry;
}

} // namespace

int htab_get_next_key(Map &map, const void *key, void *next_key) {
  Htab t(map);
  const uint32_t key_size = t.h.key_size;
  auto *out = static_cast<uint8_t *>(next_key);
  uint32_t i = 0;
  if (key) {
    const uint32_t hash = t.hash(key);
    const uint32_t index = t.bucket_index(hash);
    for (;;) {
      uint64_t elem = lookup_nulls(t, hash, key);
      if (!elem) break; // not in the map: start from the first key
      uint64_t link = t.elem(elem).next.load(std::memory_order_acquire);
      Step step = first_current_from(t, link, index, out);
      // Our element must still hold our key, else its link led anywhere.
      acquire_fence();
      if (!key_equals(t.key_of(elem), static_cast<const uint8_t *>(key), key_size)) continue;
      if (step == Step::kFound) return 0;
      if (step == Step::kEndOfBucket) {
        i = index + 1; // last of its bucket: go on with the next bucket
        break;
      }
    }
  }
  for (; i < t.h.n_buckets; ++i) {
    Step step;
    while ((step = first_current_from(t, t.bucket(i).first.load(std::memory_order_acquire), i, out)) == Step::kRetry) {
    }
    if (step == Step::kFound) return 0;
  }
  return -ENOENT;
}

// __htab_map_lookup_and_delete_elem(): all four types.
int htab_sys_lookup_and_delete(Map &map, const void *key, void *value, uint64_t flags) {
  if (flags & ~uint64_t{BPF_F_LOCK}) return -EINVAL;
  if ((flags & BPF_F_LOCK) && !has_spin_lock(map)) return -EINVAL;
  Htab t(map);
  uint64_t elem = 0;
  if (int err = delete_key(t, key, &elem, value)) return err;
  if (t.h.lru) lru_free_elem(t, elem);
  else free_elem(t, current_cpu(t.h.ncpus), elem);
  return 0;
}

// __htab_map_lookup_and_delete_batch(): walks whole buckets. in_batch and
// out_batch hold a bucket index (u32). A bucket that does not fit in what is
// left of count ends the call (ENOSPC if nothing was copied yet); reaching
// the last bucket ends it with ENOENT. The step order, what is written back
// and when, follow the kernel's function.
int htab_batch(Map &map, BatchArgs &args, bool do_delete) {
  if ((args.elem_flags & ~uint64_t{BPF_F_LOCK}) || ((args.elem_flags & BPF_F_LOCK) && !has_spin_lock(map)))
    return -EINVAL;
  if (args.flags) return -EINVAL;
  const uint32_t max_count = args.count;
  if (max_count == 0) return 0;
  if (args.count_out) *args.count_out = 0;

  Htab t(map);
  uint32_t batch = 0;
  if (args.in_batch) memcpy(&batch, args.in_batch, sizeof(batch));
  if (batch >= t.h.n_buckets) return -ENOENT;

  const uint32_t key_size = t.h.key_size;
  const uint64_t value_size = t.h.percpu ? uint64_t{t.h.pcpu_size} * t.h.ncpus : t.h.value_size;
  const uint32_t cpu = current_cpu(t.h.ncpus);
  // Elements are staged here with the bucket locked and copied to the
  // caller's buffers after. Buckets rarely hold more than a few elements.
  uint32_t bucket_size = 5;
  std::vector<uint8_t> keys, values;
  std::vector<uint64_t> to_free;
  uint32_t total = 0;
  int ret = 0;

  for (;;) {
    if (keys.size() < uint64_t{key_size} * bucket_size) {
      try {
        keys.resize(uint64_t{key_size} * bucket_size);
        values.resize(value_size * bucket_size);
        to_free.reserve(bucket_size);
      } catch (const std::bad_alloc &) {
        ret = -ENOMEM;
        break;
      }
    }
    // Skip empty buckets without locking (the kernel's again_nocopy).
    uint32_t bucket_cnt = 0;
    bool retry_bigger = false, no_room = false;
    for (;;) {
      Bucket &b = t.bucket(batch);
      if (!is_nulls(b.first.load(std::memory_order_acquire))) {
        if ((ret = res_spin_lock(b.lock))) break;
        for (uint64_t link = b.first.load(std::memory_order_relaxed); !is_nulls(link);
             link = t.elem(link).next.load(std::memory_order_relaxed))
          ++bucket_cnt;
        if (bucket_cnt > max_count - total) {
          // The whole bucket or nothing: stop before it.
          if (total == 0) ret = -ENOSPC;
          res_spin_unlock(b.lock);
          no_room = true;
          break;
        }
        if (bucket_cnt > bucket_size) {
          bucket_size = bucket_cnt;
          res_spin_unlock(b.lock);
          retry_bigger = true;
          break;
        }
        uint8_t *dst_key = keys.data();
        uint8_t *dst_val = values.data();
        std::atomic<uint64_t> *pred = &b.first;
        for (uint64_t link = pred->load(std::memory_order_relaxed); !is_nulls(link);) {
          uint64_t next = t.elem(link).next.load(std::memory_order_relaxed);
          racy_copy(dst_key, t.key_of(link), key_size);
          if (t.h.percpu) pcpu_read_all(t, link, dst_val);
          else racy_copy(dst_val, t.value_of(link), t.h.value_size);
          if (do_delete) {
            unlink(t, b, pred, link); // pred now points at next
            to_free.push_back(link);
          } else {
            pred = &t.elem(link).next;
          }
          dst_key += key_size;
          dst_val += value_size;
          link = next;
        }
        res_spin_unlock(b.lock);
        // Freeing may take LRU locks, which come before bucket locks.
        for (uint64_t elem : to_free) {
          if (t.h.lru) lru_free_elem(t, elem);
          else free_elem(t, cpu, elem);
        }
        to_free.clear();
      }
      if (bucket_cnt == 0 && batch + 1 < t.h.n_buckets) {
        ++batch;
        continue;
      }
      break;
    }
    if (retry_bigger) continue;
    if (ret || no_room) break;

    if (bucket_cnt) {
      // The kernel copies the keys out before the values: a bad values
      // buffer leaves the bucket's keys written (and the count at 0).
      if (!args.keys) return -EFAULT;
      memcpy(static_cast<uint8_t *>(args.keys) + uint64_t{total} * key_size, keys.data(),
             uint64_t{key_size} * bucket_cnt);
      if (!args.values) return -EFAULT;
      memcpy(static_cast<uint8_t *>(args.values) + uint64_t{total} * value_size, values.data(),
             value_size * bucket_cnt);
    }
    total += bucket_cnt;
    ++batch;
    if (batch >= t.h.n_buckets) {
      ret = -ENOENT;
      break;
    }
  }

  // Where to go on from, and how many were copied.
  if (!args.out_batch) return -EFAULT;
  memcpy(args.out_batch, &batch, sizeof(batch));
  if (args.count_out) *args.count_out = total;
  return ret;
}

int htab_lookup_batch(Map &map, BatchArgs &args) { return htab_batch(map, args, false); }
int htab_lookup_and_delete_batch(Map &map, BatchArgs &args) { return htab_batch(map, args, true); }

} // namespace

// bpf_for_each_map_elem over a hash (bpf_for_each_hash_elem): bucket by
// bucket, each list from its head, without the bucket lock, so that the
// callback may update and delete elements, the current one included. The
// cursor holds the element visited last; its link is followed only after
// the callback ran, as the kernel's RCU list walk does. A deleted element
// keeps its link (unlink()); a preallocated one may meanwhile be reused for
// a key of another bucket, and then its link leads into that bucket: such
// elements are skipped and the walk goes on with the next bucket, so a walk
// never visits an element twice because of a reuse (the kernel's may).
// LRU types: a visit is not a use, the reference bits stay (as the kernel's).
namespace {

template <bool kPercpu> bool htab_for_each_next(Map &map, MapWalkCursor &cursor, void **key, void **value) {
  Htab t(map);
  while (cursor.position < t.h.n_buckets) {
    const uint32_t index = static_cast<uint32_t>(cursor.position);
    uint64_t link = cursor.element ? t.elem(cursor.element).next.load(std::memory_order_acquire)
                                   : t.bucket(index).first.load(std::memory_order_acquire);
    while (!is_nulls(link) && t.bucket_index(t.elem(link).hash.load(std::memory_order_relaxed)) != index)
      link = t.elem(link).next.load(std::memory_order_acquire);
    if (!is_nulls(link)) {
      cursor.element = link;
      *key = t.key_of(link);
      *value = kPercpu ? t.pcpu_value(t.elem(link).index, current_cpu(t.h.ncpus)) : t.value_of(link);
      return true;
    }
    cursor.position++;
    cursor.element = 0;
  }
  return false;
}

} // namespace

// Test hook: elements in a NO_PREALLOC table (the kernel's count), or -1 for
// preallocated tables, which do not count.
int64_t htab_debug_element_count(Map &map) {
  Htab t(map);
  return t.h.prealloc ? -1 : element_count(t);
}

// ---------------------------------------------------------------------------
// The ops tables (the kernel's htab_map_ops & co). Update and delete batches
// are the generic ones, as in the kernel. BPF_F_NO_PREALLOC tables free
// elements from liburcu's call_rcu worker; the object layer unmaps a region
// from a call_rcu callback queued after them (callbacks run in order), so no
// detach step is needed.

// Declared here for external linkage (the registry refers to them by name).
extern const MapOps htab_map_ops;
extern const MapOps htab_percpu_map_ops;
extern const MapOps htab_lru_map_ops;
extern const MapOps htab_lru_percpu_map_ops;

const MapOps htab_map_ops = {
    .name = "hash",
    .alloc_check = htab_alloc_check,
    .layout = htab_layout,
    .init = htab_init,
    .lookup_elem = htab_lookup_elem,
    .update_elem = htab_update_elem,
    .delete_elem = htab_delete_elem,
    .sys_lookup = htab_sys_lookup,
    .sys_update = htab_update_elem,
    .get_next_key = htab_get_next_key,
    .sys_lookup_and_delete = htab_sys_lookup_and_delete,
    .lookup_batch = htab_lookup_batch,
    .lookup_and_delete_batch = htab_lookup_and_delete_batch,
    .update_batch = generic_update_batch,
    .delete_batch = generic_delete_batch,
    .for_each_next = htab_for_each_next<false>,
    .mmapable = nullptr,
    .attach = nullptr,
    .detach = nullptr,
};

const MapOps htab_percpu_map_ops = {
    .name = "percpu_hash",
    .alloc_check = htab_alloc_check,
    .layout = htab_layout,
    .init = htab_init,
    .lookup_elem = htab_percpu_lookup_elem,
    .update_elem = htab_percpu_update_elem,
    .delete_elem = htab_delete_elem,
    .sys_lookup = htab_percpu_sys_lookup,
    .sys_update = htab_percpu_sys_update,
    .get_next_key = htab_get_next_key,
    .sys_lookup_and_delete = htab_sys_lookup_and_delete,
    .lookup_batch = htab_lookup_batch,
    .lookup_and_delete_batch = htab_lookup_and_delete_batch,
    .update_batch = generic_update_batch,
    .delete_batch = generic_delete_batch,
    .for_each_next = htab_for_each_next<true>,
    .mmapable = nullptr,
    .attach = nullptr,
    .detach = nullptr,
    .lookup_percpu_elem = htab_percpu_lookup_percpu_elem,
};

const MapOps htab_lru_map_ops = {
    .name = "lru_hash",
    .alloc_check = htab_alloc_check,
    .layout = htab_layout,
    .init = htab_init,
    .lookup_elem = htab_lru_lookup_elem,
    .update_elem = htab_lru_update_elem,
    .delete_elem = htab_lru_delete_elem,
    .sys_lookup = htab_sys_lookup,
    .sys_update = htab_lru_update_elem,
    .get_next_key = htab_get_next_key,
    .sys_lookup_and_delete = htab_sys_lookup_and_delete,
    .lookup_batch = htab_lookup_batch,
    .lookup_and_delete_batch = htab_lookup_and_delete_batch,
    .update_batch = generic_update_batch,
    .delete_batch = generic_delete_batch,
    .for_each_next = htab_for_each_next<false>,
    .mmapable = nullptr,
    .attach = nullptr,
    .detach = nullptr,
};

const MapOps htab_lru_percpu_map_ops = {
    .name = "lru_percpu_hash",
    .alloc_check = htab_alloc_check,
    .layout = htab_layout,
    .init = htab_init,
    .lookup_elem = htab_lru_percpu_lookup_elem,
    .update_elem = htab_lru_percpu_update_elem,
    .delete_elem = htab_lru_delete_elem,
    .sys_lookup = htab_percpu_sys_lookup,
    .sys_update = htab_lru_percpu_sys_update,
    .get_next_key = htab_get_next_key,
    .sys_lookup_and_delete = htab_sys_lookup_and_delete,
    .lookup_batch = htab_lookup_batch,
    .lookup_and_delete_batch = htab_lookup_and_delete_batch,
    .update_batch = generic_update_batch,
    .delete_batch = generic_delete_batch,
    .for_each_next = htab_for_each_next<true>,
    .mmapable = nullptr,
    .attach = nullptr,
    .detach = nullptr,
    .lookup_percpu_elem = htab_lru_percpu_lookup_percpu_elem,
};

} // namespace userbpf
