// BPF_MAP_TYPE_ARRAY and BPF_MAP_TYPE_PERCPU_ARRAY: the kernel's
// kernel/bpf/arraymap.c semantics on userbpf's shared data area.
//
// Layout of the data area (no header: every byte belongs to values).
//   ARRAY         max_entries slots of elem_size = round_up(value_size, 8)
//                 bytes, slot i at offset i * elem_size. The values start at
//                 offset 0, so mmap() of a BPF_F_MMAPABLE map fd (which maps
//                 the data area from its offset 0) sees value 0 first, as the
//                 kernel maps its values array.
//   PERCPU_ARRAY  one block per possible CPU: [cpu][index]. A program touches
//                 only its own CPU's block, so CPUs never share cache lines
//                 (blocks are rounded to 64 bytes); syscalls gather or scatter
//                 across the blocks.
// Arrays are preallocated: every element always exists and starts as zeros.
#include <cerrno>
#include <climits>
#include <cstring>

#include "maps/map.h"
#include "object/object.h"
#include "util/racy.h"

namespace userbpf {

extern const MapOps array_map_ops;
extern const MapOps percpu_array_map_ops;

namespace {

// The flags the kernel's array_map_alloc_check accepts (ARRAY_CREATE_FLAG_MASK).
constexpr uint32_t kArrayCreateFlags = BPF_F_NUMA_NODE | BPF_F_MMAPABLE | BPF_F_RDONLY | BPF_F_WRONLY |
                                       BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG | BPF_F_PRESERVE_ELEMS |
                                       BPF_F_INNER_MAP;
// A per-CPU value must fit one unit of the kernel's per-CPU allocator.
constexpr uint64_t kPercpuMinUnitSize = 32 * 1024;
// sizeof(struct bpf_array) on Linux 6.18 x86-64, which the kernel counts in a
// map's memory usage (fdinfo "memlock": 320 for one 8-byte value).
constexpr uint64_t kKernelArrayStructSize = 312;
constexpr uint64_t kCacheLine = 64;
constexpr uint32_t kNoNumaNode = UINT32_MAX; // NUMA_NO_NODE as the u32 in bpf_attr

uint32_t elem_size(const Map &map) { return static_cast<uint32_t>(round_up(map.value_size, 8)); }

uint32_t read_index(const void *key) {
  uint32_t index;
  memcpy(&index, key, sizeof(index)); // keys may be unaligned (program stack, user buffers)
  return index;
}

// Bytes of one CPU's block in a per-CPU array.
uint64_t percpu_block_size(uint64_t max_entries, uint64_t elem_size) {
  return round_up(max_entries * elem_size, kCacheLine);
}

uint8_t *percpu_slot(const Map &map, uint32_t cpu, uint32_t index) {
  const uint64_t elem = elem_size(map);
  return map.data + cpu * percpu_block_size(map.max_entries, elem) + uint64_t{index} * elem;
}

bool has_spin_lock(const Map &map) { return map.hdr != nullptr && map.hdr->map.has_spin_lock != 0; }

// The flag checks of the kernel's array_map_update_elem (the program-side
// update, also the syscall update of plain arrays). 0 when the update may go on.
int check_update(const Map &map, uint32_t index, uint64_t flags) {
  if ((flags & ~uint64_t{BPF_F_LOCK}) > BPF_EXIST) return -EINVAL;
  if (index >= map.max_entries) return -E2BIG; // every element exists; none can be added
  if (flags & BPF_NOEXIST) return -EEXIST;
  if ((flags & BPF_F_LOCK) && !has_spin_lock(map)) return -EINVAL;
  return 0;
}

// ---------------------------------------------------------------- create

int array_alloc_check(const MapCreateAttr &attr) {
  const bool percpu = attr.map_type == BPF_MAP_TYPE_PERCPU_ARRAY;
  const uint32_t numa_node = (attr.map_flags & BPF_F_NUMA_NODE) ? attr.numa_node : kNoNumaNode;
  const uint32_t prog_access = attr.map_flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG);
  const uint32_t sys_access = attr.map_flags & (BPF_F_RDONLY | BPF_F_WRONLY);

  if (attr.max_entries == 0 || attr.key_size != sizeof(uint32_t) || attr.value_size == 0) return -EINVAL;
  if (attr.map_flags & ~kArrayCreateFlags) return -EINVAL;
  // A map cannot be both read-only and write-only, for programs or for syscalls.
  if (prog_access == (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) return -EINVAL;
  if (sys_access == (BPF_F_RDONLY | BPF_F_WRONLY)) return -EINVAL;
  // Per-CPU memory comes from every node; a node cannot be chosen.
  if (percpu && numa_node != kNoNumaNode) return -EINVAL;
  if (attr.map_type != BPF_MAP_TYPE_ARRAY && (attr.map_flags & (BPF_F_MMAPABLE | BPF_F_INNER_MAP))) return -EINVAL;
  // BPF_F_PRESERVE_ELEMS is for perf event arrays only.
  if (attr.map_flags & BPF_F_PRESERVE_ELEMS) return -EINVAL;
  // round_up(value_size, 8) must not overflow the kernel's int.
  if (attr.value_size > INT_MAX) return -E2BIG;
  if (percpu && round_up(attr.value_size, 8) > kPercpuMinUnitSize) return -E2BIG;
  return 0;
}

int array_layout(const MapCreateAttr &attr, uint32_t ncpus, MapLayout *out) {
  const bool percpu = attr.map_type == BPF_MAP_TYPE_PERCPU_ARRAY;
  const uint64_t elem = round_up(attr.value_size, 8);
  // value_size <= INT_MAX (alloc_check), so elem * max_entries < 2^63: no overflow.
  const uint64_t values_bytes = elem * attr.max_entries;

  if (percpu) {
    uint64_t data = 0;
    if (__builtin_mul_overflow(percpu_block_size(attr.max_entries, elem), uint64_t{ncpus ? ncpus : 1}, &data))
      return -ENOMEM;
    out->data_size = data;
    // The kernel's array_map_mem_usage: the struct, one pointer per element,
    // and every CPU's copy of every value.
    out->charge_size = kKernelArrayStructSize + uint64_t{attr.max_entries} * sizeof(void *) + values_bytes * ncpus;
  } else if (attr.map_flags & BPF_F_MMAPABLE) {
    // Whole pages, so that user mmap() of the last page stays inside the map.
    out->data_size = round_up(values_bytes, kPageSize);
    out->charge_size = round_up(kKernelArrayStructSize, kPageSize) + out->data_size;
  } else {
    out->data_size = values_bytes;
    out->charge_size = kKernelArrayStructSize + values_bytes;
  }
  out->commit_size = out->data_size; // preallocated: all of it is backed at create
  return 0;
}

int array_init(Map &) {
  return 0; // a zero-filled area is an array whose values are all zero
}

bool array_mmapable(const Map &map) { return (map.map_flags & BPF_F_MMAPABLE) != 0; }

// ---------------------------------------------------------------- ARRAY

void *array_lookup_elem(Map &map, const void *key) {
  const uint32_t index = read_index(key);
  if (index >= map.max_entries) return nullptr;
  return map.data + uint64_t{index} * elem_size(map);
}

int array_update_elem(Map &map, const void *key, const void *value, uint64_t flags) {
  const uint32_t index = read_index(key);
  if (int err = check_update(map, index, flags)) return err;
  // TODO(BTF): with a bpf_spin_lock in the value, BPF_F_LOCK copies under the
  // lock and every copy skips the lock word; the header does not carry the
  // lock's offset yet, and has_spin_lock is never set until BTF lands.
  racy_copy(map.data + uint64_t{index} * elem_size(map), value, map.value_size);
  return 0;
}

int array_delete_elem(Map &, const void *) {
  return -EINVAL; // array elements cannot be deleted
}

int array_sys_lookup(Map &map, const void *key, void *value, uint64_t flags) {
  if (flags & ~uint64_t{BPF_F_LOCK}) return -EINVAL;
  if ((flags & BPF_F_LOCK) && !has_spin_lock(map)) return -EINVAL;
  const uint32_t index = read_index(key);
  if (index >= map.max_entries) return -ENOENT;
  // Exactly value_size bytes, as the kernel's copy_map_value: the user buffer
  // is value_size long.
  racy_copy(value, map.data + uint64_t{index} * elem_size(map), map.value_size);
  return 0;
}


// ---------------------------------------------------------------- PERCPU_ARRAY

void *percpu_array_lookup_elem(Map &map, const void *key) {
  const uint32_t index = read_index(key);
  if (index >= map.max_entries) return nullptr;
  return percpu_slot(map, current_cpu(map.ncpus), index);
}

void *percpu_array_lookup_percpu_elem(Map &map, const void *key, uint32_t cpu) {
  const uint32_t index = read_index(key);
  if (cpu >= map.ncpus || index >= map.max_entries) return nullptr;
  return percpu_slot(map, cpu, index);
}

// bpf_for_each_map_elem over an array (bpf_for_each_array_elem): index
// order, every element. The key the callback gets points at the cursor's
// copy of the index, as the kernel's points at its loop variable.
template <void *(*kLookup)(Map &, const void *)>
bool array_for_each_next(Map &map, MapWalkCursor &cursor, void **key, void **value) {
  if (cursor.position >= map.max_entries) return false;
  cursor.array_key = static_cast<uint32_t>(cursor.position++);
  *key = &cursor.array_key;
  *value = kLookup(map, &cursor.array_key);
  return true;
}

// Program side: this CPU's value only, value_size bytes.
int percpu_array_update_elem(Map &map, const void *key, const void *value, uint64_t flags) {
  const uint32_t index = read_index(key);
  if (int err = check_update(map, index, flags)) return err;
  racy_copy(percpu_slot(map, current_cpu(map.ncpus), index), value, map.value_size);
  return 0;
}

// Syscall side: every CPU's whole 8-byte-rounded slot in turn. The kernel
// copies the padding too, so it round-trips the caller's bytes.
int percpu_array_sys_lookup(Map &map, const void *key, void *value, uint64_t flags) {
  if (flags != 0) return -EINVAL; // per-CPU arrays cannot hold a spin lock: no BPF_F_LOCK
  const uint32_t index = read_index(key);
  if (index >= map.max_entries) return -ENOENT;
  const uint32_t elem = elem_size(map);
  auto *out = static_cast<uint8_t *>(value);
  for (uint32_t cpu = 0; cpu < map.ncpus; ++cpu) racy_copy(out + uint64_t{cpu} * elem, percpu_slot(map, cpu, index), elem);
  return 0;
}

// The kernel's bpf_percpu_array_update: stricter flags than the program side
// (no BPF_F_LOCK at all, and only an exact BPF_NOEXIST is refused).
int percpu_array_sys_update(Map &map, const void *key, const void *value, uint64_t flags) {
  const uint32_t index = read_index(key);
  if (flags > BPF_EXIST) return -EINVAL;
  if (index >= map.max_entries) return -E2BIG;
  if (flags == BPF_NOEXIST) return -EEXIST;
  const uint32_t elem = elem_size(map);
  const auto *in = static_cast<const uint8_t *>(value);
  for (uint32_t cpu = 0; cpu < map.ncpus; ++cpu) racy_copy(percpu_slot(map, cpu, index), in + uint64_t{cpu} * elem, elem);
  return 0;
}

} // namespace

int array_get_next_key(Map &map, const void *key, void *next_key) {
  // No key, or one past the end: the walk (re)starts at index 0.
  const uint32_t index = key ? read_index(key) : UINT32_MAX;
  uint32_t next = 0;
  if (index < map.max_entries) {
    if (index == map.max_entries - 1) return -ENOENT;
    next = index + 1;
  }
  memcpy(next_key, &next, sizeof(next));
  return 0;
}

// Both tables leave lookup_and_delete and the delete/lookup_and_delete
// batches unset: the kernel's array ops lack them, and its syscall layer then
// answers ENOTSUPP (524) (observed on 6.18).
const MapOps array_map_ops = {
    .name = "array",
    .alloc_check = array_alloc_check,
    .layout = array_layout,
    .init = array_init,
    .lookup_elem = array_lookup_elem,
    .update_elem = array_update_elem,
    .delete_elem = array_delete_elem,
    .sys_lookup = array_sys_lookup,
    .sys_update = array_update_elem,
    .get_next_key = array_get_next_key,
    .sys_lookup_and_delete = nullptr,
    .lookup_batch = generic_lookup_batch,
    .lookup_and_delete_batch = nullptr,
    .update_batch = generic_update_batch,
    .delete_batch = nullptr,
    .for_each_next = array_for_each_next<array_lookup_elem>,
    .mmapable = array_mmapable,
    .attach = nullptr,
    .detach = nullptr,
};

const MapOps percpu_array_map_ops = {
    .name = "percpu_array",
    .alloc_check = array_alloc_check,
    .layout = array_layout,
    .init = array_init,
    .lookup_elem = percpu_array_lookup_elem,
    .update_elem = percpu_array_update_elem,
    .delete_elem = array_delete_elem,
    .sys_lookup = percpu_array_sys_lookup,
    .sys_update = percpu_array_sys_update,
    .get_next_key = array_get_next_key,
    .sys_lookup_and_delete = nullptr,
    .lookup_batch = generic_lookup_batch,
    .lookup_and_delete_batch = nullptr,
    .update_batch = generic_update_batch,
    .delete_batch = nullptr,
    .for_each_next = array_for_each_next<percpu_array_lookup_elem>,
    .mmapable = nullptr, // the kernel has no mmap for per-CPU arrays (ENOTSUPP)
    .attach = nullptr,
    .detach = nullptr,
    .lookup_percpu_elem = percpu_array_lookup_percpu_elem,
};

} // namespace userbpf
