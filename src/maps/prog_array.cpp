// BPF_MAP_TYPE_PROG_ARRAY: the kernel's prog_array_map_ops (kernel/bpf/
// arraymap.c, the fd-array part) on userbpf's shared data area.
//
// Layout of the data area: a 16-byte header (the owner), then max_entries
// u32 slots, each 0 (empty) or the id of a program the slot holds a
// reference on. Ids, not pointers: every process reads the same array and
// reaches the program through its own view (src/prog/tail_call.cpp).
//
// User space stores program fds and reads back program ids, as with the
// kernel; programs cannot look the array up (the verifier allows it only as
// bpf_tail_call's argument).
#include "maps/prog_array.h"

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>

#include "object/object.h"

namespace userbpf {

extern const MapOps prog_array_map_ops;

namespace {

// The owner: 0 until set, then kOwnerSet | frags << 32 | prog_type.
struct ProgArrayHeader {
  std::atomic<uint64_t> owner;
  uint64_t reserved;
};
constexpr uint64_t kOwnerSet = uint64_t{1} << 63;
constexpr uint64_t kHeaderBytes = sizeof(ProgArrayHeader);
static_assert(kHeaderBytes == 16);
// sizeof(struct bpf_array) on Linux 6.18 x86-64 (as array.cpp counts it).
constexpr uint64_t kKernelArrayStructSize = 312;
constexpr uint32_t kFdArrayCreateFlags = BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY;

ProgArrayHeader &header(const Map &map) { return *reinterpret_cast<ProgArrayHeader *>(map.data); }
std::atomic<uint32_t> *slots(const Map &map) {
  return reinterpret_cast<std::atomic<uint32_t> *>(map.data + kHeaderBytes);
}

uint32_t read_u32(const void *p) {
  uint32_t v;
  memcpy(&v, p, sizeof(v)); // keys and values may be unaligned user buffers
  return v;
}

// fd_array_map_alloc_check: u32 keys and values (fds), no program access
// flags, and array_map_alloc_check's rules.
int prog_array_alloc_check(const MapCreateAttr &attr) {
  if (attr.max_entries == 0 || attr.key_size != sizeof(uint32_t) || attr.value_size != sizeof(uint32_t))
    return -EINVAL;
  if (attr.map_flags & ~kFdArrayCreateFlags) return -EINVAL;
  if ((attr.map_flags & (BPF_F_RDONLY | BPF_F_WRONLY)) == (BPF_F_RDONLY | BPF_F_WRONLY)) return -EINVAL;
  return 0;
}

int prog_array_layout(const MapCreateAttr &attr, uint32_t, MapLayout *out) {
  out->data_size = kHeaderBytes + uint64_t{attr.max_entries} * sizeof(uint32_t);
  out->commit_size = out->data_size;
  // The kernel's array_map_mem_usage for fd arrays: one pointer per slot.
  out->charge_size = kKernelArrayStructSize + uint64_t{attr.max_entries} * sizeof(void *);
  return 0;
}

int prog_array_init(Map &) { return 0; } // zero: no owner, every slot empty

// Programs reach the array only through bpf_tail_call (fd_array_map_lookup_elem
// is EOPNOTSUPP in the kernel; the verifier never lets a program call it).
void *prog_array_lookup_elem(Map &, const void *) { return nullptr; }
int prog_array_update_elem(Map &, const void *, const void *, uint64_t) { return -EOPNOTSUPP; }

// bpf_fd_array_map_lookup_elem: the id of the program in the slot.
int prog_array_sys_lookup(Map &map, const void *key, void *value, uint64_t) {
  uint32_t id = prog_array_entry(map, read_u32(key));
  if (!id) return -ENOENT;
  memcpy(value, &id, sizeof(id));
  return 0;
}

// bpf_fd_array_map_update_elem: BPF_ANY only; the value is a program fd.
int prog_array_sys_update(Map &map, const void *key, const void *value, uint64_t flags) {
  if (flags != BPF_ANY) return -EINVAL;
  const uint32_t index = read_u32(key);
  if (index >= map.max_entries) return -E2BIG;
  ProgRef ref;
  if (int err = prog_ref_get(static_cast<int>(read_u32(value)), &ref)) return err;
  if (!prog_array_compatible(map, ref.prog_type, ref.prog_flags)) {
    prog_ref_put(ref.id);
    return -EINVAL;
  }
  uint32_t old = slots(map)[index].exchange(ref.id);
  if (old) prog_ref_put(old);
  return 0;
}

// fd_array_map_delete_elem
int prog_array_delete_elem(Map &map, const void *key) {
  const uint32_t index = read_u32(key);
  if (index >= map.max_entries) return -E2BIG;
  uint32_t old = slots(map)[index].exchange(0);
  if (!old) return -ENOENT;
  prog_ref_put(old);
  return 0;
}

} // namespace

bool prog_array_compatible(Map &map, uint32_t prog_type, uint32_t prog_flags) {
  const uint64_t frags = (prog_flags & BPF_F_XDP_HAS_FRAGS) ? 1 : 0;
  const uint64_t want = kOwnerSet | frags << 32 | prog_type;
  uint64_t owner = 0;
  if (header(map).owner.compare_exchange_strong(owner, want)) return true;
  return owner == want;
}

uint32_t prog_array_entry(const Map &map, uint32_t index) {
  if (index >= map.max_entries) return 0;
  return slots(map)[index].load(std::memory_order_acquire);
}

void prog_array_clear(Map &map) {
  for (uint32_t i = 0; i < map.max_entries; i++)
    if (uint32_t old = slots(map)[i].exchange(0)) prog_ref_put(old);
}

const MapOps prog_array_map_ops = {
    .name = "prog_array",
    .alloc_check = prog_array_alloc_check,
    .layout = prog_array_layout,
    .init = prog_array_init,
    .lookup_elem = prog_array_lookup_elem,
    .update_elem = prog_array_update_elem,
    .delete_elem = prog_array_delete_elem,
    .sys_lookup = prog_array_sys_lookup,
    .sys_update = prog_array_sys_update,
    .get_next_key = array_get_next_key,
    .sys_lookup_and_delete = nullptr,
    .lookup_batch = nullptr,
    .lookup_and_delete_batch = nullptr,
    .update_batch = nullptr,
    .delete_batch = nullptr,
    .for_each_next = nullptr, // the kernel's prog_array_map_ops has no map_for_each_callback
    .mmapable = nullptr,
    .attach = nullptr,
    .detach = nullptr,
};

} // namespace userbpf
