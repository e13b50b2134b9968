// The map layer's contract: what every map family implements (MapOps) and the
// per-process view of one map (Map).
//
// A map's data lives in one shared region (DESIGN principle 3): a file that every
// process using the map mmaps. Page 0 is the ObjectHeader (src/object/object.h);
// the family's data area starts at hdr->data_offset. Nothing inside the region
// is a process pointer: families store offsets from Map::data, so the same bytes
// are valid in every process that maps them, at whatever address.
//
// Keys and values handed to syscall-side ops are the caller's buffers (in
// this process), of the sizes the ABI defines (key_size, value_size, or the
// per-CPU user size); the syscall layer has rejected NULL and other pointers
// the kernel would fault on. Ops return 0 or a negative errno, as the
// kernel's do, and write a value out only on success.
#pragma once

#include <cstddef>
#include <cstdint>
#include <linux/bpf.h>

namespace userbpf {

struct ObjectHeader;
struct Map;

// What BPF_MAP_CREATE asked for, decoded from union bpf_attr by src/syscall.
struct MapCreateAttr {
  uint32_t map_type = 0;
  uint32_t key_size = 0;
  uint32_t value_size = 0;
  uint32_t max_entries = 0;
  uint32_t map_flags = 0;
  uint32_t inner_map_fd = 0;
  uint32_t numa_node = 0;
  uint32_t map_ifindex = 0;
  uint32_t btf_fd = 0;
  uint32_t btf_key_type_id = 0;
  uint32_t btf_value_type_id = 0;
  uint32_t btf_vmlinux_value_type_id = 0;
  uint64_t map_extra = 0;
  char map_name[BPF_OBJ_NAME_LEN] = {};
};

// A family's answer to "how big is the shared data area for these attrs".
struct MapLayout {
  uint64_t data_size = 0;   // bytes of the family's data area (the object layer page-aligns it)
  uint64_t commit_size = 0; // bytes committed (backed by memory) at create; the rest is reserved
                            // and committed on demand with map_commit() (BPF_F_NO_PREALLOC)
  uint64_t charge_size = 0; // bytes charged to RLIMIT_MEMLOCK (the kernel's map->pages estimate)
};

// Arguments of the four batch commands, already decoded. Pointers are the
// caller's buffers (in this process). Ops write the number of elements
// processed to *count_out exactly when the kernel writes attr->batch.count
// back (the kernel skips it on some early errors).
struct BatchArgs {
  const void *in_batch = nullptr; // NULL on the first call of a walk
  void *out_batch = nullptr;
  void *keys = nullptr;
  void *values = nullptr;
  uint32_t count = 0;             // capacity, from attr->batch.count
  uint32_t *count_out = nullptr;  // &attr->batch.count
  uint64_t elem_flags = 0;
  uint64_t flags = 0;
};

// Where bpf_for_each_map_elem's walk stands between two elements (the VM
// runs the program's callback in between). Zeroed: before the first one.
// (No member initializers: the JIT's run context holds eight, and zeroing
// them on every run would cost every program; for_each_map_start zeroes.)
struct MapWalkCursor {
  uint64_t position; // arrays: the next index; hashes: the bucket being walked
  uint64_t element;  // hashes: the element handed out last in that bucket (0: none yet)
  uint32_t array_key; // arrays: the key handed out (the callback gets a pointer to it)
};

struct MapOps {
  const char *name; // e.g. "array"; used in messages and the CLI

  // BPF_MAP_CREATE checks of this family (the kernel's map_alloc_check), then
  // the layout of its data area. Overflow of sizes must be detected here:
  // return -E2BIG / -ENOMEM / -EINVAL exactly as the kernel does.
  int (*alloc_check)(const MapCreateAttr &attr);
  int (*layout)(const MapCreateAttr &attr, uint32_t ncpus, MapLayout *out);

  // Format a freshly created, zero-filled data area. Called once, by the creator.
  int (*init)(Map &map);

  // ---- program side (helpers call these; also the building blocks of the syscall side)
  // Pointer to the value for key, or nullptr. Per-CPU maps: this CPU's slot.
  void *(*lookup_elem)(Map &map, const void *key);
  // value is value_size bytes (per-CPU maps: this CPU's value only).
  int (*update_elem)(Map &map, const void *key, const void *value, uint64_t flags);
  int (*delete_elem)(Map &map, const void *key);

  // ---- syscall side
  // Copy the value out. Per-CPU maps copy every CPU: round_up(value_size, 8) per CPU.
  int (*sys_lookup)(Map &map, const void *key, void *value, uint64_t flags);
  // value is the user's whole value (per-CPU maps: all CPUs, rounded slots).
  int (*sys_update)(Map &map, const void *key, const void *value, uint64_t flags);
  // key == nullptr means "first key"; a missing key also yields the first key
  // for hashes (the kernel's behaviour).
  int (*get_next_key)(Map &map, const void *key, void *next_key);
  // nullptr: the command is not supported for this type (the syscall layer
  // returns the kernel's errno for that).
  int (*sys_lookup_and_delete)(Map &map, const void *key, void *value, uint64_t flags);
  int (*lookup_batch)(Map &map, BatchArgs &args);
  int (*lookup_and_delete_batch)(Map &map, BatchArgs &args);
  int (*update_batch)(Map &map, BatchArgs &args);
  int (*delete_batch)(Map &map, BatchArgs &args);

  // bpf_for_each_map_elem (the kernel's map_for_each_callback): step the
  // cursor to the next element and point *key and *value at it (per-CPU
  // maps: this CPU's value); false when the walk is over. Called from a
  // program run, inside its RCU read-side section, like lookup_elem; the
  // callback may update or delete elements (the current one too) between
  // two steps. nullptr: the family has none, and the verifier refuses the
  // helper for it ("callback function not allowed for map").
  bool (*for_each_next)(Map &map, MapWalkCursor &cursor, void **key, void **value);

  // Whether mmap() of the map fd is allowed (arrays with BPF_F_MMAPABLE).
  bool (*mmapable)(const Map &map);

  // Optional per-process state, made when a process first maps the region and
  // dropped when it unmaps it (e.g. allocator caches). May be nullptr.
  int (*attach)(Map &map);
  void (*detach)(Map &map);

  // ---- keyless maps (queue, stack): bpf_map_push_elem, bpf_map_pop_elem and
  // bpf_map_peek_elem; nullptr for the keyed families (the verifier never
  // lets a program call them on one). value is value_size bytes.
  int (*push_elem)(Map &map, const void *value, uint64_t flags);
  int (*pop_elem)(Map &map, void *value);
  int (*peek_elem)(Map &map, void *value);

  // ---- per-CPU maps: bpf_map_lookup_percpu_elem, the value of key on that
  // CPU (nullptr past the last possible CPU or for a missing key); nullptr
  // for the other families.
  void *(*lookup_percpu_elem)(Map &map, const void *key, uint32_t cpu);
};

// The per-process view of a map: where its region is mapped here, and the
// attributes every op needs, copied out of the header for speed.
struct Map {
  ObjectHeader *hdr = nullptr;  // page 0 of the region
  uint8_t *data = nullptr;      // the family's data area (hdr + hdr->data_offset)
  const MapOps *ops = nullptr;
  int region_fd = -1;           // this process's fd on the region (for map_commit)
  uint32_t id = 0;
  uint32_t type = 0;
  uint32_t key_size = 0;
  uint32_t value_size = 0;
  uint32_t max_entries = 0;
  uint32_t map_flags = 0;
  uint32_t ncpus = 1;           // possible CPUs; per-CPU maps keep ncpus slots
  uint32_t percpu_value_size = 0; // round_up(value_size, 8)
  void *priv = nullptr;         // family's per-process state (attach/detach)
};

// ---- services the object layer gives map families

// Back [offset, offset+len) of the data area with memory (fallocate on the
// region). Returns 0 or -ENOMEM. Families that commit lazily must call this
// before touching reserved pages: touching an uncommitted page of a full
// tmpfs would raise SIGBUS instead of failing cleanly.
int map_commit(Map &map, uint64_t offset, uint64_t len);

// The CPU this thread runs on, in [0, ncpus). A program run reads it once at
// entry (the kernel's migrate_disable()); see docs/DESIGN-NOTES.md.
uint32_t current_cpu(uint32_t ncpus);
// Where current_cpu() finds the CPU first: a 32-bit CPU number at this
// offset from the thread pointer (x86-64: fs), negative when unknown. False
// when there is no such place (then only current_cpu() knows). For the JIT,
// which reads it inline as the kernel inlines bpf_get_smp_processor_id.
bool current_cpu_thread_offset(int32_t *offset);

// Number of possible CPUs (parsed once from /sys/devices/system/cpu/possible).
uint32_t possible_cpus();

// ---- services the program layer gives the program-array family
// (src/prog/tail_call.cpp; maps never see program objects themselves)

struct ProgRef {
  uint32_t id = 0;
  uint32_t prog_type = 0;
  uint32_t prog_flags = 0;
};
// One more reference (ObjectHeader::refs) on the program behind fd: 0, or
// -EBADF (not an open fd) / -EINVAL (not a program), as bpf_prog_get().
int prog_ref_get(int fd, ProgRef *out);
// Drop one; the program is released if nothing else holds it.
void prog_ref_put(uint32_t id);

// The array families' get_next_key (arrays, per-CPU arrays, program arrays:
// the kernel's array_map_get_next_key): index + 1, from 0 without a key or
// past the end.
int array_get_next_key(Map &map, const void *key, void *next_key);

// Generic batch implementations built on get_next_key / sys_lookup /
// sys_update / delete_elem, as the kernel's generic_map_*_batch. Array
// families use them; hash families have their own bucket-wise versions.
int generic_lookup_batch(Map &map, BatchArgs &args);
int generic_update_batch(Map &map, BatchArgs &args);
int generic_delete_batch(Map &map, BatchArgs &args);

// The registry (src/maps/map_types.def): ops for a map type, or nullptr.
const MapOps *map_ops_for_type(uint32_t map_type);

constexpr uint64_t round_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

// Is this a per-CPU map type (user space reads ncpus values)?
bool map_type_is_percpu(uint32_t map_type);

} // namespace userbpf
