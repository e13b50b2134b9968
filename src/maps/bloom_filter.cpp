// BPF_MAP_TYPE_BLOOM_FILTER: the kernel's kernel/bpf/bloom_filter.c
// semantics on userbpf's shared data area.
//
// A keyless map (key_size 0) of bits: a push (BPF_MAP_UPDATE_ELEM from user
// space, bpf_map_push_elem from a program) sets nr_hash_funcs bits chosen by
// hashing the value; a peek (BPF_MAP_LOOKUP_ELEM, bpf_map_peek_elem) answers
// 0 when all of a value's bits are set ("maybe present") and ENOENT when one
// is not ("certainly absent"). Nothing can be removed or walked.
//
// The bits and the hashes are the kernel's: max_entries * nr_hash_funcs * 7/5
// bits (1/ln 2), rounded up to a power of two (at least 64; 2^32 when that
// overflows), bit i of hash function k = jhash2 (values of whole u32 words)
// or jhash of the value, seeded with seed + k, masked. With BPF_F_ZERO_SEED
// (seed 0) a filter therefore answers exactly as the kernel's, false
// positives included.
//
// Layout of the data area: an 8-byte header (the seed), then the bit array
// as 64-bit words set with atomic ORs. The geometry (number of hash
// functions, mask) is computed again from max_entries and map_extra where it
// is needed, never read back from the region.
#include <atomic>
#include <cerrno>
#include <ctime>
#include <sys/random.h>

#include "maps/map.h"
#include "object/object.h"
#include "util/jhash.h"

namespace userbpf {

extern const MapOps bloom_filter_map_ops;

namespace {

struct BloomHeader {
  uint32_t seed; // random, or 0 with BPF_F_ZERO_SEED
  uint32_t reserved;
};
constexpr uint64_t kHeaderBytes = sizeof(BloomHeader);

// BLOOM_CREATE_FLAG_MASK: BPF_F_NUMA_NODE | BPF_F_ZERO_SEED | BPF_F_ACCESS_MASK.
constexpr uint32_t kBloomCreateFlags = BPF_F_NUMA_NODE | BPF_F_ZERO_SEED | BPF_F_RDONLY | BPF_F_WRONLY |
                                       BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG;
constexpr uint64_t kKmallocMaxSize = uint64_t{1} << 22; // x86-64
constexpr uint32_t kDefaultHashFuncs = 5;
// sizeof(struct bpf_bloom_filter) on Linux 6.18 x86-64 (struct bpf_map and
// four u32), which the kernel counts in the map's memory.
constexpr uint64_t kKernelBloomStructSize = 312;

struct Geometry {
  uint32_t nr_hash_funcs;
  uint32_t bitset_mask;  // bits - 1
  uint64_t bitset_bytes; // whole 8-byte words
};

// bloom_map_alloc's arithmetic.
Geometry geometry(uint32_t max_entries, uint64_t map_extra) {
  Geometry g;
  g.nr_hash_funcs = map_extra & 0xf ? static_cast<uint32_t>(map_extra & 0xf) : kDefaultHashFuncs;
  uint32_t nr_bits = 0;
  if (__builtin_mul_overflow(max_entries, g.nr_hash_funcs, &nr_bits) ||
      __builtin_mul_overflow(nr_bits / 5, uint32_t{7}, &nr_bits) || nr_bits > (1u << 31)) {
    g.bitset_mask = UINT32_MAX; // 2^32 bits
    g.bitset_bytes = (uint64_t{UINT32_MAX} + 7) / 8;
  } else {
    // roundup_pow_of_two, at least BITS_PER_LONG (nr_bits <= 2^31 here).
    const uint64_t bits = nr_bits <= 64 ? 64 : uint64_t{1} << (64 - __builtin_clzll(uint64_t{nr_bits} - 1));
    g.bitset_mask = static_cast<uint32_t>(bits - 1);
    g.bitset_bytes = bits / 8;
  }
  g.bitset_bytes = round_up(g.bitset_bytes, 8);
  return g;
}

Geometry geometry(const Map &map) { return geometry(map.max_entries, map.hdr->map.map_extra); }

std::atomic<uint64_t> *bitset(const Map &map) { return reinterpret_cast<std::atomic<uint64_t> *>(map.data + kHeaderBytes); }

uint32_t bit_of(const Map &map, const Geometry &g, const void *value, uint32_t k) {
  const uint32_t seed = reinterpret_cast<const BloomHeader *>(map.data)->seed + k;
  const uint32_t h = map.value_size % 4 == 0 ? jhash2(value, map.value_size / 4, seed) : jhash(value, map.value_size, seed);
  return h & g.bitset_mask;
}

// The kernel checks the value size in alloc_check and the rest in alloc:
// E2BIG comes first.
int bloom_alloc_check(const MapCreateAttr &attr) {
  if (attr.value_size > kKmallocMaxSize) return -E2BIG;
  if (attr.key_size != 0 || attr.value_size == 0 || attr.max_entries == 0) return -EINVAL;
  if (attr.map_flags & ~kBloomCreateFlags) return -EINVAL;
  if ((attr.map_flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) == (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG))
    return -EINVAL;
  if (attr.map_extra & ~uint64_t{0xf}) return -EINVAL; // the low 4 bits: the number of hash functions
  return 0;
}

int bloom_layout(const MapCreateAttr &attr, uint32_t, MapLayout *out) {
  const Geometry g = geometry(attr.max_entries, attr.map_extra);
  out->data_size = kHeaderBytes + g.bitset_bytes;
  out->commit_size = out->data_size;
  out->charge_size = kKernelBloomStructSize + g.bitset_bytes;
  return 0;
}

int bloom_init(Map &map) {
  uint32_t seed = 0;
  if (!(map.map_flags & BPF_F_ZERO_SEED) && getrandom(&seed, sizeof(seed), 0) != sizeof(seed)) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    seed = static_cast<uint32_t>(ts.tv_nsec ^ (ts.tv_sec << 20));
  }
  reinterpret_cast<BloomHeader *>(map.data)->seed = seed;
  return 0;
}

int bloom_push(Map &map, const void *value, uint64_t flags) {
  if (flags != BPF_ANY) return -EINVAL;
  const Geometry g = geometry(map);
  for (uint32_t k = 0; k < g.nr_hash_funcs; k++) {
    const uint32_t bit = bit_of(map, g, value, k);
    bitset(map)[bit / 64].fetch_or(uint64_t{1} << (bit % 64), std::memory_order_relaxed);
  }
  return 0;
}

int bloom_peek(Map &map, void *value) {
  const Geometry g = geometry(map);
  for (uint32_t k = 0; k < g.nr_hash_funcs; k++) {
    const uint32_t bit = bit_of(map, g, value, k);
    if (!(bitset(map)[bit / 64].load(std::memory_order_relaxed) & (uint64_t{1} << (bit % 64)))) return -ENOENT;
  }
  return 0;
}

int bloom_pop(Map &, void *) { return -EOPNOTSUPP; }

// Programs must use push and peek (the verifier refuses the others); the
// syscall side's update pushes and its lookup tests the value the caller
// gives (read from the value buffer, nothing written back).
void *no_lookup(Map &, const void *) { return nullptr; }
int no_update(Map &, const void *, const void *, uint64_t) { return -EINVAL; }
int no_delete(Map &, const void *) { return -EOPNOTSUPP; }
int no_next_key(Map &, const void *, void *) { return -EOPNOTSUPP; }
int sys_push(Map &map, const void *, const void *value, uint64_t flags) { return bloom_push(map, value, flags); }
int sys_peek(Map &map, const void *, void *value, uint64_t) { return bloom_peek(map, value); }

} // namespace

// No lookup-and-delete, batches or mmap (ENOTSUPP, as the kernel's ops lack them).
const MapOps bloom_filter_map_ops = {
    .name = "bloom_filter",
    .alloc_check = bloom_alloc_check,
    .layout = bloom_layout,
    .init = bloom_init,
    .lookup_elem = no_lookup,
    .update_elem = no_update,
    .delete_elem = no_delete,
    .sys_lookup = sys_peek,
    .sys_update = sys_push,
    .get_next_key = no_next_key,
    .sys_lookup_and_delete = nullptr,
    .lookup_batch = nullptr,
    .lookup_and_delete_batch = nullptr,
    .update_batch = nullptr,
    .delete_batch = nullptr,
    .for_each_next = nullptr, // no map_for_each_callback in the kernel: for_each gets ENOTSUPP
    .mmapable = nullptr,
    .attach = nullptr,
    .detach = nullptr,
    .push_elem = bloom_push,
    .pop_elem = bloom_pop,
    .peek_elem = bloom_peek,
};

} // namespace userbpf
