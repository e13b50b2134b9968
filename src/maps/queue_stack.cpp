// BPF_MAP_TYPE_QUEUE and BPF_MAP_TYPE_STACK: the kernel's
// kernel/bpf/queue_stack_maps.c semantics on userbpf's shared data area.
//
// Both are a ring of max_entries + 1 value slots (one always free, so that
// head == tail means empty): push writes at head and advances it; a queue
// pops and peeks at tail (oldest first), a stack at head - 1 (newest first).
// There are no keys (key_size 0): user space pushes with BPF_MAP_UPDATE_ELEM
// (BPF_EXIST makes room in a full map by dropping the oldest element), peeks
// with BPF_MAP_LOOKUP_ELEM and pops with BPF_MAP_LOOKUP_AND_DELETE_ELEM;
// programs call bpf_map_push_elem, bpf_map_pop_elem and bpf_map_peek_elem.
//
// Layout of the data area: a 16-byte header (the lock, head and tail), then
// the slots, value_size bytes each (unrounded, as the kernel's elements[]).
// The ring's size is never read back from the region: it comes from
// max_entries, and head and tail are checked against it before any use, so
// a damaged header cannot send a copy outside the area.
#include <atomic>
#include <cerrno>
#include <cstring>

#include "alloc/percpu_freelist.h"
#include "maps/map.h"
#include "util/racy.h"

namespace userbpf {

extern const MapOps queue_map_ops;
extern const MapOps stack_map_ops;

namespace {

struct QueueStackHeader {
  ResSpinLock lock;
  std::atomic<uint32_t> head; // next slot to write
  std::atomic<uint32_t> tail; // oldest element (queue side)
  uint32_t reserved;
};
constexpr uint64_t kHeaderBytes = sizeof(QueueStackHeader);
static_assert(kHeaderBytes == 16);

// The flags the kernel's queue_stack_map_alloc_check accepts
// (QUEUE_STACK_CREATE_FLAG_MASK: BPF_F_NUMA_NODE | BPF_F_ACCESS_MASK).
constexpr uint32_t kQueueStackCreateFlags =
    BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY | BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG;
// KMALLOC_MAX_SIZE on x86-64 (4 MiB): a bigger value could not reach user space.
constexpr uint64_t kKmallocMaxSize = uint64_t{1} << 22;
// sizeof(struct bpf_queue_stack) on Linux 6.18 x86-64 (struct bpf_map, the
// lock, head, tail and size), which the kernel counts in the map's memory.
constexpr uint64_t kKernelQueueStackStructSize = 312;

QueueStackHeader &header(const Map &map) { return *reinterpret_cast<QueueStackHeader *>(map.data); }
uint32_t ring_size(const Map &map) { return map.max_entries + 1; } // max_entries < UINT32_MAX: checked at create
uint8_t *slot(const Map &map, uint32_t i) { return map.data + kHeaderBytes + uint64_t{i} * map.value_size; }

int queue_stack_alloc_check(const MapCreateAttr &attr) {
  if (attr.max_entries == 0 || attr.key_size != 0 || attr.value_size == 0) return -EINVAL;
  if (attr.map_flags & ~kQueueStackCreateFlags) return -EINVAL;
  // bpf_map_flags_access_ok(): not both read-only and write-only.
  if ((attr.map_flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) == (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG))
    return -EINVAL;
  if (attr.value_size > kKmallocMaxSize) return -E2BIG;
  return 0;
}

int queue_stack_layout(const MapCreateAttr &attr, uint32_t, MapLayout *out) {
  // The kernel allocates (max_entries + 1) * value_size in a u64: at most
  // 2^32 * 2^22 bytes, no overflow; a ring that big fails there (-ENOMEM)
  // and here in the memlock charge or the region.
  const uint64_t slots_bytes = (uint64_t{attr.max_entries} + 1) * attr.value_size;
  out->data_size = kHeaderBytes + slots_bytes;
  out->commit_size = out->data_size;
  out->charge_size = kKernelQueueStackStructSize + slots_bytes;
  return 0;
}

int queue_stack_init(Map &map) {
  QueueStackHeader &h = header(map);
  res_spin_lock_init(h.lock);
  h.head.store(0, std::memory_order_relaxed);
  h.tail.store(0, std::memory_order_relaxed);
  return 0;
}

// Take the ring's lock and read head and tail; -EBUSY when the lock cannot
// be had (the kernel's rqspinlock failing: a deadlock or a stuck holder),
// -EFAULT for a header no push or pop of ours could have left.
class RingLock {
 public:
  explicit RingLock(Map &map) : map_(map), guard_(header(map).lock) {
    if (!guard_.ok()) {
      err_ = -EBUSY;
      return;
    }
    head = header(map).head.load(std::memory_order_relaxed);
    tail = header(map).tail.load(std::memory_order_relaxed);
    if (head >= ring_size(map) || tail >= ring_size(map)) err_ = -EFAULT;
  }
  int error() const { return err_; }
  bool empty() const { return head == tail; }
  bool full() const { return next(head) == tail; }
  uint32_t next(uint32_t i) const { return i + 1 == ring_size(map_) ? 0 : i + 1; }
  uint32_t prev(uint32_t i) const { return i == 0 ? ring_size(map_) - 1 : i - 1; }
  void store() {
    header(map_).head.store(head, std::memory_order_relaxed);
    header(map_).tail.store(tail, std::memory_order_relaxed);
  }
  uint32_t head = 0, tail = 0;

 private:
  Map &map_;
  ResSpinGuard guard_;
  int err_ = 0;
};

// queue_stack_map_push_elem: BPF_EXIST overwrites the oldest element of a
// full map (for a stack too: the tail moves), anything else fails with E2BIG.
int push_elem(Map &map, const void *value, uint64_t flags) {
  if ((flags & BPF_NOEXIST) || flags > BPF_EXIST) return -EINVAL;
  RingLock ring(map);
  if (int err = ring.error()) return err;
  if (ring.full()) {
    if (!(flags & BPF_EXIST)) return -E2BIG;
    ring.tail = ring.next(ring.tail);
  }
  racy_copy(slot(map, ring.head), value, map.value_size);
  ring.head = ring.next(ring.head);
  ring.store();
  return 0;
}

// __queue_map_get / __stack_map_get: a queue takes its oldest element, a
// stack its newest. ENOENT when empty. A program's buffer is then zeroed (it
// leaves no stale bytes); a user's is left alone, as the kernel copies a value
// out to user space only on success (the MapOps rule).
enum class Caller { kProgram, kUser };
int take(Map &map, void *value, bool remove, Caller caller) {
  RingLock ring(map);
  if (int err = ring.error()) return err;
  if (ring.empty()) {
    if (caller == Caller::kProgram) memset(value, 0, map.value_size);
    return -ENOENT;
  }
  const bool stack = map.type == BPF_MAP_TYPE_STACK;
  const uint32_t at = stack ? ring.prev(ring.head) : ring.tail;
  racy_copy(value, slot(map, at), map.value_size);
  if (remove) {
    if (stack) ring.head = at;
    else ring.tail = ring.next(ring.tail);
    ring.store();
  }
  return 0;
}

int pop_elem(Map &map, void *value) { return take(map, value, true, Caller::kProgram); }
int peek_elem(Map &map, void *value) { return take(map, value, false, Caller::kProgram); }

// Keyed element commands have no meaning here: a program cannot look an
// element up (the verifier refuses the call), update and delete by key fail
// with EINVAL, as do key walks (queue_stack_map_{lookup,update,delete}_elem,
// _get_next_key).
void *no_lookup(Map &, const void *) { return nullptr; }
int no_update(Map &, const void *, const void *, uint64_t) { return -EINVAL; }
int no_delete(Map &, const void *) { return -EINVAL; }
int no_next_key(Map &, const void *, void *) { return -EINVAL; }

// The syscall side (map_lookup_elem, map_update_elem and
// map_lookup_and_delete_elem of kernel/bpf/syscall.c call peek, push and pop
// for these two types, with no key).
int sys_push(Map &map, const void *, const void *value, uint64_t flags) { return push_elem(map, value, flags); }
int sys_peek(Map &map, const void *, void *value, uint64_t) { return take(map, value, false, Caller::kUser); }
int sys_pop(Map &map, const void *, void *value, uint64_t) { return take(map, value, true, Caller::kUser); }

// The two types share every op (take() asks the map which end to use). No
// batch commands and no mmap: the kernel's ops lack them (ENOTSUPP).
constexpr MapOps keyless_ops(const char *name) {
  return MapOps{
      .name = name,
      .alloc_check = queue_stack_alloc_check,
      .layout = queue_stack_layout,
      .init = queue_stack_init,
      .lookup_elem = no_lookup,
      .update_elem = no_update,
      .delete_elem = no_delete,
      .sys_lookup = sys_peek,
      .sys_update = sys_push,
      .get_next_key = no_next_key,
      .sys_lookup_and_delete = sys_pop,
      .lookup_batch = nullptr,
      .lookup_and_delete_batch = nullptr,
      .update_batch = nullptr,
      .delete_batch = nullptr,
      .for_each_next = nullptr, // no map_for_each_callback in the kernel: for_each gets ENOTSUPP
      .mmapable = nullptr,
      .attach = nullptr,
      .detach = nullptr,
      .push_elem = push_elem,
      .pop_elem = pop_elem,
      .peek_elem = peek_elem,
  };
}

} // namespace

const MapOps queue_map_ops = keyless_ops("queue");
const MapOps stack_map_ops = keyless_ops("stack");

} // namespace userbpf
