// userbpf_bpf(): the bpf(2) system call, decoded. This file is the only place
// that knows the layout of union bpf_attr and the kernel's per-command checks
// (kernel/bpf/syscall.c): attr size rules, CHECK_ATTR, fd and permission
// checks, key/value sizes. It hands map families decoded requests (MapOps).
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <net/if.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <vector>

#include <userbpf/bpf.h>

#include "alloc/rcu.h"
#include "btf/btf.h"
#include "btf/btf_object.h"
#include "maps/map.h"
#include "maps/prog_array.h"
#include "object/handle.h"
#include "object/store.h"
#include "prog/program.h"
#include "util/kernel_ctype.h"
#include "prog/test_run.h"
#include "verifier/verifier.h"

namespace userbpf {
namespace {

// The kernel-internal "not supported" errno that leaks to user space.
constexpr int kENOTSUPP = 524;
constexpr size_t kAttrSize = sizeof(union bpf_attr);
constexpr uint32_t kObjFlagMask = BPF_F_RDONLY | BPF_F_WRONLY;

#define ATTR_END(field) (offsetof(union bpf_attr, field) + sizeof(((union bpf_attr *)nullptr)->field))

bool all_zero(const void *p, size_t n) {
  const auto *b = static_cast<const unsigned char *>(p);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, b + i, 8);
    if (w) return false;
  }
  for (; i < n; ++i)
    if (b[i]) return false;
  return true;
}

// A user pointer the kernel's copy_{from,to}_user would fault on: NULL, the
// zero page, or a non-canonical address. (Other bad addresses cannot be told
// apart without a system call; see docs/DESIGN-NOTES.md.)
bool bad_user_ptr(uint64_t p) { return p < 4096 || p >= 0x0000800000000000ull; }
template <typename T> T *uptr(uint64_t p) { return reinterpret_cast<T *>(static_cast<uintptr_t>(p)); }

// copy_from_user() / copy_to_user() for the slow commands (BPF_PROG_LOAD):
// process_vm_readv/writev on ourselves tell an unmapped (or, for writes,
// read-only) page from a good one without touching it, so a bad pointer is
// EFAULT, as in the kernel, never a crash. Where those calls are refused
// (seccomp), fall back to the NULL/non-canonical check above.
constexpr uint64_t kUserEnd = 0x0000800000000000ull;
bool user_range_bad(uint64_t p, size_t n) { return bad_user_ptr(p) || n > kUserEnd - p; }

int copy_from_user(void *dst, uint64_t src, size_t n) {
  if (n == 0) return 0;
  if (user_range_bad(src, n)) return -EFAULT;
  struct iovec local = {dst, n}, remote = {uptr<void>(src), n};
  ssize_t r = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
  if (r == static_cast<ssize_t>(n)) return 0;
  if (r < 0 && (errno == ENOSYS || errno == EPERM)) {
    memcpy(dst, uptr<void>(src), n);
    return 0;
  }
  return -EFAULT;
}

int copy_to_user(uint64_t dst, const void *src, size_t n) {
  if (n == 0) return 0;
  if (user_range_bad(dst, n)) return -EFAULT;
  struct iovec local = {const_cast<void *>(src), n}, remote = {uptr<void>(dst), n};
  ssize_t r = process_vm_writev(getpid(), &local, 1, &remote, 1, 0);
  if (r == static_cast<ssize_t>(n)) return 0;
  if (r < 0 && (errno == ENOSYS || errno == EPERM)) {
    memcpy(uptr<void>(dst), src, n);
    return 0;
  }
  return -EFAULT;
}

// The caller's memory a slow command is about to read (BPF_PROG_LOAD: the
// instructions, the license, func_info and line_info), copied ahead in one
// process_vm_readv for all its ranges: each copy_from_user() is two system
// calls (getpid + process_vm_readv, ~3 us on a VM), and a libbpf load reads
// four ranges per program, once per record for func_info and line_info.
// A range that could not be copied whole is not kept: reads of it go to
// copy_from_user() as they come, so a fault still gives EFAULT at the read
// where the kernel's own copy faults, after the same checks before it.
class UserSnapshot {
 public:
  // Ranges to copy (before fetch()); empty and absurd ones are left out.
  void add(uint64_t addr, uint64_t len) {
    if (len == 0 || user_range_bad(addr, len) || len > kMaxBytes - total_) return;
    ranges_.push_back({addr, len, total_, false});
    total_ += len;
  }
  void fetch() {
    if (ranges_.empty()) return;
    bytes_.resize(total_);
    std::vector<struct iovec> remote;
    for (const Range &r : ranges_) remote.push_back({uptr<void>(r.addr), r.len});
    struct iovec local = {bytes_.data(), total_};
    ssize_t got = process_vm_readv(getpid(), &local, 1, remote.data(), remote.size(), 0);
    // A partial copy stops in the first range that faulted: the ones before it are whole.
    for (Range &r : ranges_) r.ok = got >= 0 && r.offset + r.len <= static_cast<uint64_t>(got);
  }
  // copy_from_user() of [addr, addr + n), served from the copy when it holds it.
  int read(void *dst, uint64_t addr, size_t n) const {
    for (const Range &r : ranges_) {
      if (r.ok && addr >= r.addr && n <= r.len && addr - r.addr <= r.len - n) {
        memcpy(dst, bytes_.data() + r.offset + (addr - r.addr), n);
        return 0;
      }
    }
    return copy_from_user(dst, addr, n);
  }

 private:
  static constexpr uint64_t kMaxBytes = 32u << 20; // a maximal program's instructions and records
  struct Range {
    uint64_t addr, len, offset;
    bool ok;
  };
  std::vector<Range> ranges_;
  uint64_t total_ = 0;
  std::vector<uint8_t> bytes_;
};

// strncpy_from_user(): at most `max` bytes of a NUL-terminated string; the
// length copied, or -EFAULT if a byte before the NUL (or the limit) faults.
// Reads go through `user` when given (its copy, or copy_from_user()).
long strncpy_from_user(char *dst, uint64_t src, size_t max, const UserSnapshot *user = nullptr) {
  size_t done = 0;
  while (done < max) {
    uint64_t at = src + done;
    size_t chunk = std::min<uint64_t>(max - done, kPageSize - (at & (kPageSize - 1)));
    if (user ? user->read(dst + done, at, chunk) : copy_from_user(dst + done, at, chunk)) return -EFAULT;
    if (const void *nul = memchr(dst + done, 0, chunk))
      return static_cast<long>(static_cast<const char *>(nul) - dst);
    done += chunk;
  }
  return static_cast<long>(max);
}

// Fields within the caller's attr read as themselves, fields beyond `size` as
// zero; write-backs land in the caller's attr only where it has room.
struct Attr {
  const union bpf_attr *a;
  union bpf_attr *user;
  unsigned size;
  // CHECK_ATTR: everything after the command's last field must be zero.
  bool tail_dirty(size_t last_end) const {
    size_t n = std::min<size_t>(size, kAttrSize);
    return n > last_end && !all_zero(reinterpret_cast<const char *>(a) + last_end, n - last_end);
  }
  template <typename T> void write_back(size_t off, T v) const {
    if (off + sizeof(T) <= size) memcpy(reinterpret_cast<char *>(user) + off, &v, sizeof(T));
  }
};

uint32_t file_mode(uint32_t flags, int *err) {
  // bpf_get_file_flag(): RDONLY and WRONLY together are invalid.
  if ((flags & BPF_F_RDONLY) && (flags & BPF_F_WRONLY)) {
    *err = -EINVAL;
    return 0;
  }
  if (flags & BPF_F_RDONLY) return kModeRead;
  if (flags & BPF_F_WRONLY) return kModeWrite;
  return kModeRead | kModeWrite;
}

// __bpf_map_get(): the map behind fd.
const Handle *map_handle(uint32_t fd, int *err) {
  const Handle *h = handle_get(static_cast<int>(fd), err);
  if (!h) return nullptr;
  if (h->obj->kind != ObjectKind::kMap) {
    *err = -EINVAL;
    return nullptr;
  }
  return h;
}

// map_get_sys_perms(): the fd's mode, less write once the map is frozen.
uint32_t sys_perms(const Handle &h) {
  uint32_t mode = h.mode;
  if (h.obj->hdr->frozen.load(std::memory_order_relaxed)) mode &= ~kModeWrite;
  return mode;
}

// The map behind fd, if the fd may `need` (kModeRead | kModeWrite) it: the
// kernel's __bpf_map_get() (EBADF, EINVAL) then its permission check (EPERM).
const Handle *map_for(uint32_t fd, uint32_t need, int *err) {
  const Handle *h = map_handle(fd, err);
  if (h && (sys_perms(*h) & need) != need) {
    *err = -EPERM;
    return nullptr;
  }
  return h;
}


uint32_t nr_node_ids() {
  static uint32_t n = [] {
    FILE *f = fopen("/sys/devices/system/node/possible", "re");
    unsigned hi = 0, lo = 0;
    uint32_t r = 1;
    if (f) {
      char buf[256] = {};
      if (fgets(buf, sizeof(buf), f)) {
        const char *last = strrchr(buf, ',');
        last = last ? last + 1 : buf;
        if (sscanf(last, "%u-%u", &lo, &hi) == 2) r = hi + 1;
        else if (sscanf(last, "%u", &lo) == 1) r = lo + 1;
      }
      fclose(f);
    }
    return r;
  }();
  return n;
}

// bpf_obj_name_cpy(): letters, digits, '_' and '.', NUL-terminated within
// the field; what follows the NUL is ignored.
int copy_obj_name(char *dst, const char *name, size_t size) {
  size_t i = 0;
  for (; i < size && name[i]; ++i) {
    unsigned char c = static_cast<unsigned char>(name[i]);
    if (!kernel_isalnum(c) && c != '_' && c != '.') return -EINVAL;
  }
  if (i == size) return -EINVAL;
  memset(dst, 0, size);
  memcpy(dst, name, i);
  return 0;
}

// What user space reads or writes as one value: per-CPU maps carry every CPU.
uint32_t user_value_size(const Map &m) {
  return map_type_is_percpu(m.type) ? m.percpu_value_size * m.ncpus : m.value_size;
}

// ---- BPF_MAP_CREATE

// The BTF object behind fd, as a local view reference, taken in a short
// read-side section: the checks and the store lock that follow run outside
// it (a long section, or one waiting for the store lock, makes liburcu's
// next grace period sleep 10 ms).
int btf_view_of_fd(int fd, ViewRef *out) {
  RcuReadGuard guard;
  int err = 0;
  const Handle *h = btf_handle(fd, &err);
  if (!h) return err;
  if (!object_view_get(*h->obj)) return -EBADF; // its fd was closed meanwhile
  *out = ViewRef(h->obj);
  return 0;
}

int map_create(const Attr &at) {
  const union bpf_attr &a = *at.a;
  if (at.tail_dirty(ATTR_END(map_extra))) return -EINVAL;
  if (a.btf_vmlinux_value_type_id) {
    if (a.map_type != BPF_MAP_TYPE_STRUCT_OPS || a.btf_key_type_id || a.btf_value_type_id) return -EINVAL;
  } else if (a.btf_key_type_id && !a.btf_value_type_id) {
    return -EINVAL;
  }
  if (a.map_type != BPF_MAP_TYPE_BLOOM_FILTER && a.map_extra != 0) return -EINVAL;
  int err = 0;
  uint32_t mode = file_mode(a.map_flags, &err);
  if (err) return err;
  constexpr uint32_t kNumaNoNode = 0xffffffff; // NUMA_NO_NODE (-1)
  if ((a.map_flags & BPF_F_NUMA_NODE) && a.numa_node != kNumaNoNode && a.numa_node >= nr_node_ids())
    return -EINVAL;

  const MapOps *ops = map_ops_for_type(a.map_type);
  if (!ops) return -EINVAL;
  MapCreateAttr ca;
  ca.map_type = a.map_type;
  ca.key_size = a.key_size;
  ca.value_size = a.value_size;
  ca.max_entries = a.max_entries;
  ca.map_flags = a.map_flags;
  ca.inner_map_fd = a.inner_map_fd;
  ca.numa_node = a.numa_node;
  ca.map_ifindex = a.map_ifindex;
  ca.btf_fd = a.btf_fd;
  ca.btf_key_type_id = a.btf_key_type_id;
  ca.btf_value_type_id = a.btf_value_type_id;
  ca.btf_vmlinux_value_type_id = a.btf_vmlinux_value_type_id;
  ca.map_extra = a.map_extra;
  memcpy(ca.map_name, a.map_name, sizeof(ca.map_name));
  if ((err = ops->alloc_check(ca))) return err;
  if (a.map_ifindex) {
    // Device offload (bpf_map_offload_map_alloc): only ARRAY and HASH, and no
    // device here can offload: EOPNOTSUPP for a real interface, EINVAL else.
    if (a.map_type != BPF_MAP_TYPE_ARRAY && a.map_type != BPF_MAP_TYPE_HASH) return -EINVAL;
    char ifname[IF_NAMESIZE];
    return if_indextoname(a.map_ifindex, ifname) ? -EOPNOTSUPP : -EINVAL;
  }
  uint32_t ncpus = possible_cpus();
  MapLayout layout;
  if ((err = ops->layout(ca, ncpus, &layout))) return err;
  char name[BPF_OBJ_NAME_LEN];
  if ((err = copy_obj_name(name, a.map_name, sizeof(a.map_name)))) return err;

  // The map's BTF (after allocation and name, as the kernel): btf_fd must be
  // a BTF object when any type id is given, and the key/value types must
  // have the map's sizes. The map keeps a reference on it.
  uint32_t btf_id = 0;
  if (a.btf_key_type_id || a.btf_value_type_id || a.btf_vmlinux_value_type_id) {
    ViewRef view;
    if ((err = btf_view_of_fd(static_cast<int>(a.btf_fd), &view))) return err;
    if (a.btf_value_type_id) {
      std::shared_ptr<const btf::Btf> b = btf_of(*view.get());
      if (!b) return -EINVAL;
      if ((err = btf_check_map_types(*b, a.map_type, a.key_size, a.value_size, a.max_entries, a.btf_key_type_id,
                                     a.btf_value_type_id)))
        return err;
    }
    if ((err = object_ref_get(*view.get()))) return err;
    btf_id = view->id;
  }

  uint32_t stored_flags = a.map_flags & ~(BPF_F_RDONLY | BPF_F_WRONLY);
  // Only BPF_F_MMAPABLE arrays are mapped by users (page-aligned data).
  const DataPlacement placement =
      (a.map_flags & BPF_F_MMAPABLE) ? DataPlacement::kOwnPages : DataPlacement::kAfterHeader;
  int fd = object_create(ObjectKind::kMap, layout.data_size, layout.commit_size,
                       layout.charge_size + kHeaderSize, placement, mode, [&](Object &obj) {
                         MapHeader &mh = obj.hdr->map;
                         mh.map_type = ca.map_type;
                         mh.key_size = ca.key_size;
                         mh.value_size = ca.value_size;
                         mh.max_entries = ca.max_entries;
                         mh.map_flags = stored_flags;
                         mh.numa_node = ca.numa_node;
                         mh.map_extra = ca.map_extra;
                         memcpy(mh.name, name, sizeof(mh.name));
                         if (btf_id) {
                           mh.btf_id = btf_id;
                           mh.btf_key_type_id = a.btf_key_type_id;
                           mh.btf_value_type_id = a.btf_value_type_id;
                           mh.btf_vmlinux_value_type_id = a.btf_vmlinux_value_type_id;
                         }
                         map_view_setup(obj);
                         return obj.map.ops->init(obj.map);
                       });
  if (fd < 0 && btf_id) object_ref_put(ObjectKind::kBtf, btf_id);
  return fd;
}

// ---- element commands

// The key argument of an element command (the kernel's __bpf_copy_key): a
// map with keys needs a readable one (EFAULT), a keyless map (queue, stack:
// key_size 0) takes none, and a key given to it is EINVAL.
int user_key(const Map &m, uint64_t ukey, const void **key) {
  *key = nullptr;
  if (m.key_size == 0) return ukey ? -EINVAL : 0;
  if (bad_user_ptr(ukey)) return -EFAULT;
  *key = uptr<const void>(ukey);
  return 0;
}

int map_lookup_elem(const Attr &at) {
  const union bpf_attr &a = *at.a;
  if (at.tail_dirty(ATTR_END(flags))) return -EINVAL;
  if (a.flags & ~BPF_F_LOCK) return -EINVAL;
  RcuReadGuard guard;
  int err = 0;
  const Handle *h = map_for(a.map_fd, kModeRead, &err);
  if (!h) return err;
  Map &m = h->obj->map;
  if ((a.flags & BPF_F_LOCK) && !m.hdr->map.has_spin_lock) return -EINVAL;
  const void *key;
  if ((err = user_key(m, a.key, &key))) return err;
  // A bloom filter's lookup reads the value it is asked about.
  if (m.type == BPF_MAP_TYPE_BLOOM_FILTER && bad_user_ptr(a.value)) return -EFAULT;
  if (bad_user_ptr(a.value)) {
    // The kernel copies the value out only after a successful lookup.
    std::vector<uint8_t> scratch(user_value_size(m));
    int r = m.ops->sys_lookup(m, key, scratch.data(), a.flags);
    return r ? r : -EFAULT;
  }
  return m.ops->sys_lookup(m, key, uptr<void>(a.value), a.flags);
}

int map_update_elem(const Attr &at) {
  const union bpf_attr &a = *at.a;
  if (at.tail_dirty(ATTR_END(flags))) return -EINVAL;
  RcuReadGuard guard;
  int err = 0;
  const Handle *h = map_for(a.map_fd, kModeWrite, &err);
  if (!h) return err;
  Map &m = h->obj->map;
  if ((a.flags & BPF_F_LOCK) && !m.hdr->map.has_spin_lock) return -EINVAL;
  const void *key;
  if ((err = user_key(m, a.key, &key))) return err;
  if (bad_user_ptr(a.value)) return -EFAULT;
  return m.ops->sys_update(m, key, uptr<const void>(a.value), a.flags);
}

int map_delete_elem(const Attr &at) {
  const union bpf_attr &a = *at.a;
  if (at.tail_dirty(ATTR_END(key))) return -EINVAL;
  RcuReadGuard guard;
  int err = 0;
  const Handle *h = map_for(a.map_fd, kModeWrite, &err);
  if (!h) return err;
  Map &m = h->obj->map;
  const void *key;
  if ((err = user_key(m, a.key, &key))) return err;
  return m.ops->delete_elem(m, key);
}

int map_get_next_key(const Attr &at) {
  const union bpf_attr &a = *at.a;
  if (at.tail_dirty(ATTR_END(next_key))) return -EINVAL;
  RcuReadGuard guard;
  int err = 0;
  const Handle *h = map_for(a.map_fd, kModeRead, &err);
  if (!h) return err;
  Map &m = h->obj->map;
  const void *key = nullptr; // no key: the first one
  if (a.key && (err = user_key(m, a.key, &key))) return err;
  if (bad_user_ptr(a.next_key)) {
    std::vector<uint8_t> scratch(m.key_size);
    int r = m.ops->get_next_key(m, key, scratch.data());
    return r ? r : -EFAULT;
  }
  return m.ops->get_next_key(m, key, uptr<void>(a.next_key));
}

int map_lookup_and_delete_elem(const Attr &at) {
  const union bpf_attr &a = *at.a;
  if (at.tail_dirty(ATTR_END(flags))) return -EINVAL;
  if (a.flags & ~BPF_F_LOCK) return -EINVAL;
  RcuReadGuard guard;
  int err = 0;
  const Handle *h = map_for(a.map_fd, kModeRead | kModeWrite, &err);
  if (!h) return err;
  Map &m = h->obj->map;
  // Queues and stacks take no flags at all (before BPF_F_LOCK's own check).
  if (a.flags && (m.type == BPF_MAP_TYPE_QUEUE || m.type == BPF_MAP_TYPE_STACK)) return -EINVAL;
  if ((a.flags & BPF_F_LOCK) && !m.hdr->map.has_spin_lock) return -EINVAL;
  const void *key;
  if ((err = user_key(m, a.key, &key))) return err;
  if (!m.ops->sys_lookup_and_delete) return -kENOTSUPP;
  if (bad_user_ptr(a.value)) {
    // The kernel copies the value out after the element is gone.
    std::vector<uint8_t> scratch(user_value_size(m));
    int r = m.ops->sys_lookup_and_delete(m, key, scratch.data(), a.flags);
    return r ? r : -EFAULT;
  }
  return m.ops->sys_lookup_and_delete(m, key, uptr<void>(a.value), a.flags);
}

int map_freeze(const Attr &at) {
  const union bpf_attr &a = *at.a;
  if (at.tail_dirty(ATTR_END(map_fd))) return -EINVAL;
  RcuReadGuard guard;
  int err = 0;
  const Handle *h = map_handle(a.map_fd, &err);
  if (!h) return err;
  Object &obj = *h->obj;
  if (obj.hdr->map.has_spin_lock) return -kENOTSUPP; // maps with BTF special fields
  if (!(sys_perms(*h) & kModeWrite)) return -EPERM;
  std::lock_guard<std::mutex> g(obj.mmap_mu);
  if (handle_has_writable_mmaps(obj, static_cast<int>(a.map_fd))) return -EBUSY;
  uint32_t expected = 0;
  if (!obj.hdr->frozen.compare_exchange_strong(expected, 1)) return -EBUSY;
  return 0;
}

// ---- batch commands (bpf_map_do_batch)

int map_batch(const Attr &at, int cmd) {
  const union bpf_attr &a = *at.a;
  if (at.tail_dirty(ATTR_END(batch.flags))) return -EINVAL;
  RcuReadGuard guard;
  int err = 0;
  bool has_read = cmd == BPF_MAP_LOOKUP_BATCH || cmd == BPF_MAP_LOOKUP_AND_DELETE_BATCH;
  bool has_write = cmd != BPF_MAP_LOOKUP_BATCH;
  const Handle *h = map_for(a.batch.map_fd, (has_read ? kModeRead : 0) | (has_write ? kModeWrite : 0), &err);
  if (!h) return err;
  Map &m = h->obj->map;
  int (*fn)(Map &, BatchArgs &) = nullptr;
  switch (cmd) {
    case BPF_MAP_LOOKUP_BATCH: fn = m.ops->lookup_batch; break;
    case BPF_MAP_LOOKUP_AND_DELETE_BATCH: fn = m.ops->lookup_and_delete_batch; break;
    case BPF_MAP_UPDATE_BATCH: fn = m.ops->update_batch; break;
    case BPF_MAP_DELETE_BATCH: fn = m.ops->delete_batch; break;
  }
  if (!fn) return -kENOTSUPP;
  BatchArgs args;
  args.in_batch = a.batch.in_batch ? uptr<const void>(a.batch.in_batch) : nullptr;
  args.out_batch = a.batch.out_batch ? uptr<void>(a.batch.out_batch) : nullptr;
  args.keys = a.batch.keys ? uptr<void>(a.batch.keys) : nullptr;
  args.values = a.batch.values ? uptr<void>(a.batch.values) : nullptr;
  args.count = a.batch.count;
  uint32_t count_out = a.batch.count;
  args.count_out = &count_out;
  args.elem_flags = a.batch.elem_flags;
  args.flags = a.batch.flags;
  int r = fn(m, args);
  if (count_out != a.batch.count) at.write_back(offsetof(union bpf_attr, batch.count), count_out);
  return r;
}

// ---- the verifier logs (BPF_PROG_LOAD, BPF_BTF_LOAD)

// log_level bits (include/linux/bpf_verifier.h; the 6.1 uapi header has none).
constexpr uint32_t kLogLevel1 = 1, kLogLevel2 = 2, kLogStats = 4, kLogFixed = 8;
constexpr uint32_t kLogMask = kLogLevel1 | kLogLevel2 | kLogStats | kLogFixed;

// The log as the caller's log_buf receives it (kernel/bpf/log.c): the
// default rotating mode keeps the end of the log, BPF_LOG_FIXED keeps the
// beginning; either way the buffer holds at most log_size - 1 bytes and a
// NUL, and nothing after that NUL is touched. Returns bpf_vlog_finalize()'s
// verdict: -ENOSPC if the log did not fit, -EFAULT if the buffer faulted.
int write_log(const std::string &log, uint32_t level, uint64_t ubuf, uint32_t size, size_t len_max = 0) {
  if (level == 0 || !ubuf || log.empty()) return 0; // nothing was ever written
  size_t n = std::min<size_t>(log.size(), size - 1);
  const char *from = (level & kLogFixed) ? log.data() : log.data() + (log.size() - n);
  std::string out(from, n);
  out.push_back('\0');
  if (copy_to_user(ubuf, out.data(), out.size())) return -EFAULT;
  return std::max(log.size(), len_max) + 1 > size ? -ENOSPC : 0;
}

// ---- ids and info

int obj_get_next_id(const Attr &at, ObjectKind kind) {
  const union bpf_attr &a = *at.a;
  if (at.tail_dirty(ATTR_END(next_id)) || a.start_id >= INT32_MAX) return -EINVAL;
  for (uint32_t id : live_ids(kind)) {
    if (id > a.start_id) {
      at.write_back(offsetof(union bpf_attr, next_id), id);
      return 0;
    }
  }
  return -ENOENT;
}

int map_get_fd_by_id(const Attr &at) {
  const union bpf_attr &a = *at.a;
  if (at.tail_dirty(ATTR_END(open_flags)) || (a.open_flags & ~kObjFlagMask)) return -EINVAL;
  int err = 0;
  uint32_t mode = file_mode(a.open_flags, &err);
  if (err) return err;
  return handle_open_id(ObjectKind::kMap, a.map_id, mode);
}

int map_get_info(const Handle &h, const Attr &at) {
  const union bpf_attr &a = *at.a;
  uint32_t info_len = a.info.info_len;
  void *uinfo = uptr<void>(a.info.info);
  // bpf_check_uarg_tail_zero() on the caller's info struct.
  if (info_len > kPageSize) return -E2BIG;
  if (info_len > sizeof(bpf_map_info)) {
    if (bad_user_ptr(a.info.info)) return -EFAULT;
    if (!all_zero(static_cast<char *>(uinfo) + sizeof(bpf_map_info), info_len - sizeof(bpf_map_info)))
      return -E2BIG;
  }
  info_len = std::min<uint32_t>(info_len, sizeof(bpf_map_info));
  struct bpf_map_info info;
  memset(&info, 0, sizeof(info));
  const MapHeader &mh = h.obj->hdr->map;
  info.type = mh.map_type;
  info.id = h.obj->id;
  info.key_size = mh.key_size;
  info.value_size = mh.value_size;
  info.max_entries = mh.max_entries;
  info.map_flags = mh.map_flags;
  info.map_extra = mh.map_extra;
  memcpy(info.name, mh.name, sizeof(info.name));
  info.btf_id = mh.btf_id;
  info.btf_key_type_id = mh.btf_key_type_id;
  info.btf_value_type_id = mh.btf_value_type_id;
  info.btf_vmlinux_value_type_id = mh.btf_vmlinux_value_type_id;
  if (info_len) {
    if (bad_user_ptr(a.info.info)) return -EFAULT;
    memcpy(uinfo, &info, info_len);
  }
  at.write_back(offsetof(union bpf_attr, info.info_len), info_len);
  return 0;
}

// The jited_* fields of bpf_prog_get_info_by_fd() from this process's native
// code (`jit`, nullptr when the program runs in the interpreter: then they say
// nothing was compiled, as the kernel with bpf_jit_enable=0). On entry `info`
// holds the caller's buffer sizes. Our functions are contiguous in one image,
// so the code of every function in order (the kernel's copy) is one range.
int prog_info_fill_jited(struct bpf_prog_info &info, const vm::JitImage *jit, const ObjectHeader &hdr) {
  const uint32_t ulen_insns = info.jited_prog_len, ulen_ksyms = info.nr_jited_ksyms,
                 ulen_lens = info.nr_jited_func_lens, ulen_linfo = info.nr_jited_line_info;
  info.jited_prog_len = 0;
  info.nr_jited_ksyms = 0;
  info.nr_jited_func_lens = 0;
  info.nr_jited_line_info = 0;
  if (!jit) return 0;
  const uintptr_t code = reinterpret_cast<uintptr_t>(jit->code());
  const std::vector<vm::JitImage::Function> funcs = jit->functions();
  info.jited_prog_len = static_cast<uint32_t>(jit->code_size() - funcs[0].begin);
  if (ulen_insns &&
      copy_to_user(info.jited_prog_insns, jit->code() + funcs[0].begin, std::min(ulen_insns, info.jited_prog_len)))
    return -EFAULT;
  info.nr_jited_ksyms = static_cast<uint32_t>(funcs.size());
  for (uint32_t i = 0; i < std::min(ulen_ksyms, info.nr_jited_ksyms); i++) {
    uint64_t addr = code + funcs[i].begin;
    if (copy_to_user(info.jited_ksyms + i * sizeof(uint64_t), &addr, sizeof addr)) return -EFAULT;
  }
  info.nr_jited_func_lens = static_cast<uint32_t>(funcs.size());
  for (uint32_t i = 0; i < std::min(ulen_lens, info.nr_jited_func_lens); i++) {
    uint32_t len = static_cast<uint32_t>(funcs[i].size);
    if (copy_to_user(info.jited_func_lens + i * sizeof(uint32_t), &len, sizeof len)) return -EFAULT;
  }
  // One native address per line_info record: its function's address for the
  // first instruction of a function (as the kernel), else the instruction's code.
  info.nr_jited_line_info = hdr.prog.nr_line_info;
  const struct bpf_line_info *linfo = prog_line_info(hdr);
  for (uint32_t i = 0; i < std::min(ulen_linfo, info.nr_jited_line_info); i++) {
    const size_t insn = std::min<size_t>(linfo[i].insn_off, jit->insn_count());
    uint64_t addr = code + jit->insn_begin(insn);
    for (const vm::JitImage::Function &f : funcs)
      if (f.first_insn == insn) addr = code + f.begin;
    if (copy_to_user(info.jited_line_info + i * sizeof(uint64_t), &addr, sizeof addr)) return -EFAULT;
  }
  return 0;
}

// bpf_prog_get_info_by_fd(). The xlated instructions are the stored dump
// form (map ids); the jited ones are this process's code, built here if the
// program has not run in this process yet (the run-time form is per process).
int prog_get_info(const Handle &h, const Attr &at) {
  const union bpf_attr &a = *at.a;
  uint32_t info_len = a.info.info_len;
  uint64_t uinfo = a.info.info;
  if (info_len > kPageSize) return -E2BIG;
  if (info_len > sizeof(bpf_prog_info)) {
    std::vector<char> tail(info_len - sizeof(bpf_prog_info));
    if (copy_from_user(tail.data(), uinfo + sizeof(bpf_prog_info), tail.size())) return -EFAULT;
    if (!all_zero(tail.data(), tail.size())) return -E2BIG;
  }
  info_len = std::min<uint32_t>(info_len, sizeof(bpf_prog_info));
  struct bpf_prog_info info;
  memset(&info, 0, sizeof(info));
  if (copy_from_user(&info, uinfo, info_len)) return -EFAULT;

  const ObjectHeader &hdr = *h.obj->hdr;
  const ProgHeader &ph = hdr.prog;
  info.type = ph.prog_type;
  info.id = h.obj->id;
  info.load_time = hdr.create_time_ns;
  info.created_by_uid = hdr.owner_uid;
  info.gpl_compatible = ph.gpl_compatible ? 1 : 0;
  memcpy(info.tag, ph.tag, sizeof(info.tag));
  memcpy(info.name, ph.name, sizeof(info.name));

  // Current, not this process's copy: BPF_PROG_BIND_MAP may have added maps.
  uint32_t map_ids[kMaxUsedMaps];
  const uint32_t nr_maps = prog_used_maps(*h.obj, map_ids);
  uint32_t ulen = std::min(info.nr_map_ids, nr_maps);
  info.nr_map_ids = nr_maps;
  if (ulen && copy_to_user(info.map_ids, map_ids, ulen * sizeof(uint32_t))) return -EFAULT;

  // set_info_rec_size(): the record sizes the kernel knows, or EINVAL.
  if ((info.nr_func_info || info.func_info_rec_size) && info.func_info_rec_size != sizeof(struct bpf_func_info))
    return -EINVAL;
  if ((info.nr_line_info || info.line_info_rec_size) && info.line_info_rec_size != sizeof(struct bpf_line_info))
    return -EINVAL;
  if ((info.nr_jited_line_info || info.jited_line_info_rec_size) && info.jited_line_info_rec_size != sizeof(uint64_t))
    return -EINVAL;
  info.func_info_rec_size = sizeof(struct bpf_func_info);
  info.line_info_rec_size = sizeof(struct bpf_line_info);
  info.jited_line_info_rec_size = sizeof(uint64_t);
  info.run_time_ns = 0; // run-time statistics come with the run-time side (issue 5)
  info.run_cnt = 0;
  info.recursion_misses = 0;
  info.verified_insns = ph.verified_insns;

  uint32_t count = 0;
  const vm::RawInsn *insns = prog_runtime_insns(hdr, &count);
  ulen = info.xlated_prog_len;
  info.xlated_prog_len = count * static_cast<uint32_t>(sizeof(vm::RawInsn));
  if (info.xlated_prog_len && ulen &&
      copy_to_user(info.xlated_prog_insns, insns, std::min(ulen, info.xlated_prog_len)))
    return -EFAULT;
  // A program that no longer translates (prog_runtime fails) cannot run
  // either: it reports no native code rather than failing the info call.
  int runtime_err = 0;
  const vm::Program *runtime = prog_runtime(*h.obj, &runtime_err);
  if (int err = prog_info_fill_jited(info, runtime ? runtime->jit() : nullptr, hdr)) return err;
  info.btf_id = ph.btf_id;
  // func_info and line_info as loaded (rec sizes checked above).
  ulen = info.nr_func_info;
  info.nr_func_info = ph.nr_func_info;
  if (info.nr_func_info && ulen &&
      copy_to_user(info.func_info, prog_func_info(hdr),
                   std::min(ulen, info.nr_func_info) * sizeof(struct bpf_func_info)))
    return -EFAULT;
  ulen = info.nr_line_info;
  info.nr_line_info = ph.nr_line_info;
  if (info.nr_line_info && ulen &&
      copy_to_user(info.line_info, prog_line_info(hdr),
                   std::min(ulen, info.nr_line_info) * sizeof(struct bpf_line_info)))
    return -EFAULT;
  ulen = info.nr_prog_tags;
  info.nr_prog_tags = 1;
  if (ulen && copy_to_user(info.prog_tags, ph.tag, BPF_TAG_SIZE)) return -EFAULT;

  if (copy_to_user(uinfo, &info, info_len)) return -EFAULT;
  at.write_back(offsetof(union bpf_attr, info.info_len), info_len);
  return 0;
}

int prog_get_fd_by_id(const Attr &at) {
  const union bpf_attr &a = *at.a;
  if (at.tail_dirty(ATTR_END(prog_id))) return -EINVAL;
  return handle_open_id(ObjectKind::kProg, a.prog_id, kModeRead | kModeWrite);
}

// ---- BTF (kernel/bpf/btf.c: btf_new_fd, btf_get_fd_by_id, btf_get_info_by_fd)

// BPF_BTF_LOAD's fields past the 6.1 header's btf_log_level (6.4+, 6.9+).
constexpr size_t kBtfLogTrueSizeOff = ATTR_END(btf_log_level);
constexpr size_t kBtfFlagsOff = kBtfLogTrueSizeOff + 4;
constexpr size_t kBtfTokenFdOff = kBtfFlagsOff + 4;
constexpr size_t kBtfLoadEnd = kBtfTokenFdOff + 4;
// BPF_*_GET_FD_BY_ID's token fd, past open_flags (6.15+).
constexpr size_t kFdByIdTokenFdOff = ATTR_END(open_flags);
constexpr uint32_t kF_TokenFdFlag = 1u << 16; // BPF_F_TOKEN_FD

uint32_t attr_u32(const Attr &at, size_t off) {
  uint32_t v;
  memcpy(&v, reinterpret_cast<const char *>(at.a) + off, sizeof(v));
  return v;
}

// bpf_token_get_from_fd() on a token fd: userbpf has no BPF tokens, so any
// open fd is "not a token" (EINVAL) and a closed one EBADF.
int token_fd_error(uint32_t fd) { return fcntl(static_cast<int>(fd), F_GETFD) < 0 ? -EBADF : -EINVAL; }

int btf_load(const Attr &at) {
  const union bpf_attr &a = *at.a;
  if (at.tail_dirty(kBtfLoadEnd)) return -EINVAL;
  uint32_t flags = attr_u32(at, kBtfFlagsOff);
  if (flags & ~kF_TokenFdFlag) return -EINVAL;
  if (flags & kF_TokenFdFlag) return token_fd_error(attr_u32(at, kBtfTokenFdOff));
  if (a.btf_size > btf::kMaxSize) return -E2BIG;
  uint32_t level = a.btf_log_level, log_size = a.btf_log_size;
  uint64_t log_buf = a.btf_log_buf;
  // bpf_vlog_init(): the log attributes must be sane.
  if (!!log_buf != !!log_size || (log_buf && level == 0) || (level & ~kLogMask) || log_size > (UINT32_MAX >> 2))
    return -EINVAL;
  std::vector<uint8_t> blob(a.btf_size);
  std::string log;
  std::unique_ptr<btf::Btf> parsed;
  int ret = copy_from_user(blob.data(), a.btf, blob.size());
  if (!ret) ret = btf::Btf::parse(blob.data(), a.btf_size, level ? &log : nullptr, &parsed);
  // finalize_log(): the log's verdict (ENOSPC, EFAULT) replaces the parse's,
  // and the size the whole log needs goes back to the caller (6.4+; 0
  // without a log level).
  if (int log_err = write_log(log, level, log_buf, log_size)) ret = log_err;
  at.write_back<uint32_t>(kBtfLogTrueSizeOff, level && !log.empty() ? static_cast<uint32_t>(log.size() + 1) : 0);
  if (ret) return ret;
  return btf_object_create(std::move(parsed));
}

int btf_get_fd_by_id(const Attr &at) {
  const union bpf_attr &a = *at.a;
  if (at.tail_dirty(kFdByIdTokenFdOff + 4)) return -EINVAL;
  if (a.open_flags & ~kF_TokenFdFlag) return -EINVAL;
  if (a.open_flags & kF_TokenFdFlag) return token_fd_error(attr_u32(at, kFdByIdTokenFdOff));
  return handle_open_id(ObjectKind::kBtf, a.btf_id, kModeRead);
}

int btf_get_info(const Handle &h, const Attr &at) {
  const union bpf_attr &a = *at.a;
  uint32_t info_len = a.info.info_len;
  uint64_t uinfo = a.info.info;
  if (info_len > kPageSize) return -E2BIG;
  if (info_len > sizeof(bpf_btf_info)) {
    std::vector<char> tail(info_len - sizeof(bpf_btf_info));
    if (copy_from_user(tail.data(), uinfo + sizeof(bpf_btf_info), tail.size())) return -EFAULT;
    if (!all_zero(tail.data(), tail.size())) return -E2BIG;
  }
  uint32_t info_copy = std::min<uint32_t>(info_len, sizeof(bpf_btf_info));
  struct bpf_btf_info info;
  memset(&info, 0, sizeof(info));
  if (copy_from_user(&info, uinfo, info_copy)) return -EFAULT;
  const ObjectHeader &hdr = *h.obj->hdr;
  info.id = h.obj->id;
  uint32_t btf_copy = std::min(hdr.btf.btf_size, info.btf_size);
  if (copy_to_user(info.btf, reinterpret_cast<const uint8_t *>(&hdr) + hdr.data_offset, btf_copy)) return -EFAULT;
  info.btf_size = hdr.btf.btf_size;
  info.kernel_btf = hdr.btf.kernel_btf;
  // User BTF has no name (the kernel's btf->name is empty).
  if (!info.name != !info.name_len) return -EINVAL;
  uint32_t name_len = info.name_len;
  info.name_len = 0;
  if (info.name && name_len && copy_to_user(info.name, "", 1)) return -EFAULT;
  if (copy_to_user(uinfo, &info, info_copy)) return -EFAULT;
  at.write_back(offsetof(union bpf_attr, info.info_len), info_copy);
  return 0;
}

int obj_get_info_by_fd(const Attr &at) {
  const union bpf_attr &a = *at.a;
  if (at.tail_dirty(ATTR_END(info.info))) return -EINVAL;
  RcuReadGuard guard;
  int err = 0;
  const Handle *h = handle_get(static_cast<int>(a.info.bpf_fd), &err);
  if (!h) return err == -EBADF ? -EBADFD : err; // as Linux 6.18 answers
  switch (h->obj->kind) {
    case ObjectKind::kMap: return map_get_info(*h, at);
    case ObjectKind::kProg: return prog_get_info(*h, at);
    case ObjectKind::kBtf: return btf_get_info(*h, at);
    default: return -EINVAL;
  }
}

// ---- pinning

int copy_path(uint64_t uptr_path, std::string *out) {
  if (bad_user_ptr(uptr_path)) return -EFAULT;
  const char *p = uptr<const char>(uptr_path);
  size_t n = strnlen(p, 4096);
  if (n == 4096) return -ENAMETOOLONG;
  *out = std::string(p, n);
  return 0;
}

int obj_pin(const Attr &at) {
  const union bpf_attr &a = *at.a;
  if (at.tail_dirty(ATTR_END(file_flags)) || a.file_flags != 0) return -EINVAL;
  std::string path, real;
  int err = copy_path(a.pathname, &path);
  if (err) return err;
  RcuReadGuard guard;
  const Handle *h = handle_get(static_cast<int>(a.bpf_fd), &err);
  if (!h) return err;
  if ((err = resolve_pin_path(path.c_str(), &real))) {
    // Outside the bpffs: the kernel answers ENOENT for a missing parent and
    // EPERM for a directory on another file system.
    std::string parent = path.substr(0, path.find_last_of('/') + 1);
    struct stat sb;
    if (!parent.empty() && stat(parent.c_str(), &sb) != 0) return -ENOENT;
    return err;
  }
  return object_pin(*h, real);
}

int obj_get(const Attr &at) {
  const union bpf_attr &a = *at.a;
  if (at.tail_dirty(ATTR_END(file_flags)) || a.bpf_fd != 0 || (a.file_flags & ~kObjFlagMask)) return -EINVAL;
  int err = 0;
  uint32_t mode = file_mode(a.file_flags, &err);
  if (err) return err;
  std::string path, real;
  if ((err = copy_path(a.pathname, &path))) return err;
  if (resolve_pin_path(path.c_str(), &real) != 0) {
    struct stat sb;
    return stat(path.c_str(), &sb) == 0 ? -EACCES : -ENOENT;
  }
  struct stat sb;
  if (stat(real.c_str(), &sb) != 0) return -errno;
  if (!S_ISREG(sb.st_mode)) return -EACCES;
  ObjectKind kind;
  return handle_open_path(real, mode, &kind);
}

// ---- BPF_PROG_LOAD (bpf_prog_load, then bpf_check's set-up and log)

// Program flags 6.18 accepts (the 6.1 header names the first six).
constexpr uint32_t kF_XdpDevBoundOnly = 1u << 6;   // BPF_F_XDP_DEV_BOUND_ONLY (6.3)
constexpr uint32_t kF_TestRegInvariants = 1u << 7; // BPF_F_TEST_REG_INVARIANTS (6.7)
constexpr uint32_t kF_TokenFd = 1u << 16;          // BPF_F_TOKEN_FD (6.9)
constexpr uint32_t kProgLoadFlags = BPF_F_STRICT_ALIGNMENT | BPF_F_ANY_ALIGNMENT | BPF_F_TEST_STATE_FREQ |
                                    BPF_F_SLEEPABLE | BPF_F_TEST_RND_HI32 | BPF_F_XDP_HAS_FRAGS |
                                    kF_XdpDevBoundOnly | kF_TestRegInvariants | kF_TokenFd;
// The last program type of 6.18's enum bpf_prog_type (BPF_PROG_TYPE_NETFILTER).
constexpr uint32_t kLastProgType = 32;
// Program types the kernel loads only with CAP_PERFMON (is_perfmon_prog_type).
bool is_perfmon_prog_type(uint32_t type) {
  switch (type) {
    case BPF_PROG_TYPE_KPROBE:
    case BPF_PROG_TYPE_TRACEPOINT:
    case BPF_PROG_TYPE_PERF_EVENT:
    case BPF_PROG_TYPE_RAW_TRACEPOINT:
    case BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE:
    case BPF_PROG_TYPE_TRACING:
    case BPF_PROG_TYPE_LSM:
    case BPF_PROG_TYPE_STRUCT_OPS:
    case BPF_PROG_TYPE_EXT: return true;
    default: return false;
  }
}

// license_is_gpl_compatible() (include/linux/license.h).
bool license_is_gpl_compatible(const char *license) {
  static const char *const kGpl[] = {"GPL", "GPL v2", "GPL and additional rights", "Dual BSD/GPL",
                                     "Dual MIT/GPL", "Dual MPL/GPL"};
  for (const char *l : kGpl)
    if (strcmp(license, l) == 0) return true;
  return false;
}

uint64_t now_ns() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// The log of a load that bpf_check() ends before the verifier's analysis runs
// (bad fd_array, BTF): only print_verification_stats()'s lines.
std::string stats_only_log(uint32_t level, uint64_t start_ns) {
  std::string log;
  if (level & kLogStats) {
    log += "verification time " + std::to_string((now_ns() - start_ns) / 1000) + " usec\n";
    log += "stack depth \n";
  }
  log += "processed 0 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n";
  return log;
}

// check_btf_info_early() and check_btf_info(): the program's BTF
// (prog_btf_fd) and its func_info / line_info records. On success the BTF
// object *btf_id holds one reference for the program to keep.
int prog_load_btf(const Attr &at, const UserSnapshot &user, const std::vector<vm::RawInsn> &insns, uint32_t *btf_id,
                  ProgBtfInfo *info, std::shared_ptr<const btf::Btf> *parsed, std::string *log) {
  const union bpf_attr &a = *at.a;
  ViewRef view;
  int err = btf_view_of_fd(static_cast<int>(a.prog_btf_fd), &view);
  if (err) return err;
  std::shared_ptr<const btf::Btf> b = btf_of(*view.get());
  if (!b) return -EINVAL;
  ProgBtfInput in;
  in.insns = reinterpret_cast<const struct bpf_insn *>(insns.data());
  in.insn_cnt = static_cast<uint32_t>(insns.size());
  in.func_info_rec_size = a.func_info_rec_size;
  in.func_info_cnt = a.func_info_cnt;
  in.func_info = a.func_info;
  in.line_info_rec_size = a.line_info_rec_size;
  in.line_info_cnt = a.line_info_cnt;
  in.line_info = a.line_info;
  in.read = [&](uint64_t addr, void *dst, size_t n) { return user.read(dst, addr, n); };
  err = btf_check_prog_info(*b, in, info, log);
  // A record with unknown non-zero bytes: tell the loader the size we know.
  if (info->func_rec_size_hint)
    at.write_back(offsetof(union bpf_attr, func_info_rec_size), info->func_rec_size_hint);
  if (info->line_rec_size_hint)
    at.write_back(offsetof(union bpf_attr, line_info_rec_size), info->line_rec_size_hint);
  if (err) return err;
  if ((err = object_ref_get(*view.get()))) return err;
  *btf_id = view->id;
  *parsed = std::move(b); // the verifier reads the global functions' prototypes
  return 0;
}

int prog_load(const Attr &at) {
  const union bpf_attr &a = *at.a;
  if (at.tail_dirty(ATTR_END(core_relo_rec_size))) return -EINVAL;
  if (a.prog_flags & ~kProgLoadFlags) return -EINVAL;
  if (a.prog_flags & kF_TokenFd) {
    // The token fd (prog_token_fd) lies past 6.1's attr, so it reads as fd 0,
    // which is never a BPF token: bpf_token_get_from_fd()'s EBADF / EINVAL.
    return fcntl(0, F_GETFD) < 0 ? -EBADF : -EINVAL;
  }
  // The loader always has CAP_BPF (see userbpf.hpp), so the limit is the
  // verifier's complexity limit, not BPF_MAXINSNS.
  if (a.insn_cnt == 0 || a.insn_cnt > vm::kMaxInsns) return -E2BIG;
  // is_perfmon_prog_type(): tracing types need CAP_PERFMON, which an
  // unprivileged loader (CAP_BPF alone) lacks.
  verifier::Privilege privilege = loader_verifier_privilege();
  if (is_perfmon_prog_type(a.prog_type) && !privilege.allow_ptr_leaks) return -EPERM;
  // attach_prog_fd (a program to extend) and attach_btf_id (a kernel BTF
  // target) only make sense for tracing/extension types, which need kernel
  // BTF: bpf_prog_load_check_attach() refuses them for every other type.
  if (a.attach_prog_fd || a.attach_btf_id) return -EINVAL;

  char license[128];
  UserSnapshot user;
  user.add(a.insns, uint64_t{a.insn_cnt} * sizeof(vm::RawInsn));
  // The license's first read: up to the limit or the end of its page.
  if (!user_range_bad(a.license, 1))
    user.add(a.license, std::min<uint64_t>(sizeof(license) - 1, kPageSize - (a.license & (kPageSize - 1))));
  if (a.func_info_cnt || a.line_info_cnt) {
    user.add(a.func_info, uint64_t{a.func_info_cnt} * a.func_info_rec_size);
    user.add(a.line_info, uint64_t{a.line_info_cnt} * a.line_info_rec_size);
  }
  user.fetch();
  std::vector<vm::RawInsn> insns(a.insn_cnt);
  if (user.read(insns.data(), a.insns, insns.size() * sizeof(vm::RawInsn))) return -EFAULT;
  if (strncpy_from_user(license, a.license, sizeof(license) - 1, &user) < 0) return -EFAULT;
  license[sizeof(license) - 1] = '\0';
  bool gpl = license_is_gpl_compatible(license);

  if (a.prog_ifindex) {
    // bpf_prog_dev_bound_init(): only XDP and TC programs bind to a device,
    // and no device here offloads or binds: EOPNOTSUPP for a real interface.
    if (a.prog_type != BPF_PROG_TYPE_XDP && a.prog_type != BPF_PROG_TYPE_SCHED_CLS) return -EINVAL;
    char ifname[IF_NAMESIZE];
    return if_indextoname(a.prog_ifindex, ifname) ? -EOPNOTSUPP : -EINVAL;
  }
  // find_prog_type(): types the kernel does not have. Types it has but the
  // verifier does not support yet are refused by the verifier itself.
  if (a.prog_type == BPF_PROG_TYPE_UNSPEC || a.prog_type > kLastProgType) return -EINVAL;
  char name[BPF_OBJ_NAME_LEN];
  if (copy_obj_name(name, a.prog_name, sizeof(a.prog_name))) return -EINVAL;

  // bpf_check(): the log attributes first (bpf_vlog_init).
  uint32_t level = a.log_level, log_size = a.log_size;
  uint64_t log_buf = a.log_buf;
  if (!!log_buf != !!log_size || (log_buf && level == 0) || (level & ~kLogMask) || log_size > (UINT32_MAX >> 2))
    return -EINVAL;
  uint64_t start_ns = now_ns();

  verifier::Options opt;
  opt.prog_type = a.prog_type;
  opt.expected_attach_type = a.expected_attach_type;
  opt.prog_flags = a.prog_flags;
  opt.gpl_compatible = gpl;
  opt.privilege = privilege;
  opt.log_level = level;

  // The maps the program names (the kernel's used_maps). The references a
  // created program keeps on them are taken once it is verified, all under
  // one hold of the store lock; until then a local reference on each view
  // keeps it alive. (Not a read-side section over the whole verification:
  // liburcu's grace periods sleep 10 ms whenever they meet a reader, and
  // every view and file freed in this process waits for them.)
  std::vector<ViewRef> used;
  std::vector<std::pair<int, uint32_t>> fd_ids; // map fds seen -> map id
  auto drop_refs = [&](size_t n) { // the store references of used[0, n)
    for (size_t i = 0; i < n; i++) object_ref_put(ObjectKind::kMap, used[i]->id);
  };
  auto resolver = [&](int fd, verifier::MapInfo *info) -> int {
    int err = 0;
    Object *obj = nullptr;
    {
      RcuReadGuard guard;
      const Handle *h = handle_get(fd, &err);
      if (!h) return err;                                   // not an open fd: EBADF
      if (h->obj->kind != ObjectKind::kMap) return -EINVAL; // __bpf_map_get()
      obj = h->obj;
      auto it = std::find_if(used.begin(), used.end(), [&](const ViewRef &u) { return u.get() == obj; });
      if (it == used.end()) {
        if (used.size() >= kMaxUsedMaps) return -E2BIG;
        if (!object_view_get(*obj)) return -EBADF; // its fd was closed meanwhile
        used.emplace_back(obj);
      }
    }
    fd_ids.emplace_back(fd, obj->id);
    const Map &m = obj->map;
    info->type = m.type;
    info->key_size = m.key_size;
    info->value_size = m.value_size;
    info->max_entries = m.max_entries;
    info->map_flags = m.map_flags;
    info->id = obj->id;
    info->frozen = obj->hdr->frozen.load() != 0;
    info->runtime_ptr = reinterpret_cast<uintptr_t>(&obj->map);
    info->value_base = 0;
    if (m.type == BPF_MAP_TYPE_ARRAY) {
      uint32_t key0 = 0;
      info->value_base = reinterpret_cast<uintptr_t>(obj->map.ops->lookup_elem(obj->map, &key0));
    }
    return 0;
  };

  // attr.fd_array is read entry by entry as the verifier meets
  // BPF_PSEUDO_MAP_IDX[_VALUE] (6.1's attr has no fd_array_cnt: the kernel
  // reads it lazily too), EFAULT where an entry faults.
  std::vector<std::pair<uint32_t, int>> idx_fds; // entries read -> fd
  if (a.fd_array) {
    opt.read_fd_array = [&](uint32_t idx, int *fd) -> int {
      uint64_t at_addr = a.fd_array + uint64_t{idx} * sizeof(int);
      if (int err = copy_from_user(fd, at_addr, sizeof(int))) return err;
      idx_fds.emplace_back(idx, *fd);
      return 0;
    };
  }

  verifier::Result res;
  int ret = 0;
  uint32_t btf_id = 0; // the program's BTF, a store reference taken
  ProgBtfInfo btf_info;
  std::shared_ptr<const btf::Btf> prog_btf;
  if (a.func_info_cnt || a.line_info_cnt) {
    std::string btf_log;
    ret = prog_load_btf(at, user, insns, &btf_id, &btf_info, &prog_btf, &btf_log);
    if (ret) res.log = btf_log + stats_only_log(level, start_ns);
    opt.btf = prog_btf.get();
    for (const struct bpf_func_info &fi : btf_info.func_info) opt.func_info.push_back({fi.insn_off, fi.type_id});
  }
  if (!ret) {
    res = verifier::verify(insns.data(), insns.size(), opt, resolver);
    ret = res.err;
  }
  // bpf_vlog_finalize(): a log that did not fit (ENOSPC) or faulted (EFAULT)
  // replaces the verdict, accepted or not, as the kernel does.
  if (int log_err = write_log(res.log, level, log_buf, log_size, res.log_len_max)) ret = log_err;
  if (ret) {
    if (btf_id) object_ref_put(ObjectKind::kBtf, btf_id);
    return ret > 0 ? -EINVAL : ret;
  }
  // bpf_check_tail_call(): every program array the program uses must take
  // programs of its type (the first one to ask becomes the array's owner).
  for (const ViewRef &u : used) {
    if (u->map.type == BPF_MAP_TYPE_PROG_ARRAY && !prog_array_compatible(u->map, a.prog_type, a.prog_flags)) {
      if (btf_id) object_ref_put(ObjectKind::kBtf, btf_id);
      return -EINVAL;
    }
  }
  if (!used.empty()) { // a program without maps takes no lock
    StoreLock lock;
    for (size_t i = 0; i < used.size(); i++) {
      if (int err = object_ref_get(*used[i].get())) { // a map released since (its last fd closed meanwhile)
        drop_refs(i);
        if (btf_id) object_ref_put(ObjectKind::kBtf, btf_id);
        return err;
      }
    }
  }

  ProgSpec spec;
  spec.prog_type = a.prog_type;
  spec.expected_attach_type = a.expected_attach_type;
  spec.prog_flags = a.prog_flags;
  spec.gpl_compatible = gpl;
  memcpy(spec.name, name, sizeof(spec.name));
  prog_calc_tag(insns.data(), insns.size(), spec.tag);
  spec.verified_insns = res.verified_insns;
  spec.stack_depth = res.stack_depth;
  spec.max_ctx_offset = res.max_ctx_offset;
  auto id_of_fd = [&](int fd) -> uint32_t {
    for (const auto &[f, id] : fd_ids)
      if (f == fd) return id;
    return 0;
  };
  spec.insns = xlated_dump_form(insns.data(), insns.size(), res.program, [&](size_t pc) -> uint32_t {
    const vm::RawInsn &r = insns[pc];
    if (r.src == BPF_PSEUDO_MAP_FD || r.src == BPF_PSEUDO_MAP_VALUE) return id_of_fd(r.imm);
    if (r.src == BPF_PSEUDO_MAP_IDX || r.src == BPF_PSEUDO_MAP_IDX_VALUE) {
      for (const auto &[idx, fd] : idx_fds)
        if (idx == static_cast<uint32_t>(r.imm)) return id_of_fd(fd);
    }
    return 0;
  });
  for (const ViewRef &u : used) spec.maps.push_back(u.get());
  if (btf_id) {
    spec.btf_id = btf_id;
    spec.func_info = std::move(btf_info.func_info);
    spec.line_info = std::move(btf_info.line_info);
  }
  int fd = prog_create(spec);
  if (fd < 0) {
    drop_refs(used.size());
    if (btf_id) object_ref_put(ObjectKind::kBtf, btf_id);
  }
  return fd;
}

// ---- BPF_PROG_TEST_RUN (bpf_prog_test_run; the per-type work is src/prog/test_run.cpp)

int prog_test_run(const Attr &at) {
  if (at.tail_dirty(ATTR_END(test.batch_size))) return -EINVAL;
  const auto &t = at.a->test;
  if (!!t.ctx_size_in != !!t.ctx_in || !!t.ctx_size_out != !!t.ctx_out) return -EINVAL;
  RcuReadGuard guard;
  int err = 0;
  const Handle *h = handle_get(static_cast<int>(t.prog_fd), &err);
  if (!h) return err;
  if (h->obj->kind != ObjectKind::kProg) return -EINVAL;
  TestRunRequest req;
  req.data_in = t.data_in;
  req.data_out = t.data_out;
  req.ctx_in = t.ctx_in;
  req.ctx_out = t.ctx_out;
  req.data_size_in = t.data_size_in;
  req.data_size_out = t.data_size_out;
  req.ctx_size_in = t.ctx_size_in;
  req.ctx_size_out = t.ctx_size_out;
  req.repeat = t.repeat;
  req.flags = t.flags;
  req.cpu = t.cpu;
  req.batch_size = t.batch_size;
  req.duration = t.duration;
  // A fast command, like the map commands: user buffers are checked as
  // DESIGN-NOTES "User pointers" says (NULL, the zero page, non-canonical:
  // EFAULT) and copied directly, without the system calls of copy_from_user().
  UserMemory user{[](void *dst, uint64_t src, size_t n) {
                    if (n == 0) return 0;
                    if (user_range_bad(src, n)) return -EFAULT;
                    memcpy(dst, uptr<const void>(src), n);
                    return 0;
                  },
                  [](uint64_t dst, const void *src, size_t n) {
                    if (n == 0) return 0;
                    if (user_range_bad(dst, n)) return -EFAULT;
                    memcpy(uptr<void>(dst), src, n);
                    return 0;
                  }};
  TestRunReply reply;
  int ret = userbpf::prog_test_run(*h->obj, req, user, &reply);
  if (reply.data_written) {
    at.write_back(offsetof(union bpf_attr, test.data_size_out), reply.data_size_out);
    at.write_back(offsetof(union bpf_attr, test.retval), reply.retval);
    at.write_back(offsetof(union bpf_attr, test.duration), reply.duration);
  }
  if (reply.ctx_written) at.write_back(offsetof(union bpf_attr, test.ctx_size_out), reply.ctx_size_out);
  if (reply.retval_written) at.write_back(offsetof(union bpf_attr, test.retval), reply.retval);
  return ret;
}

// ---- BPF_PROG_BIND_MAP (bpf_prog_bind_map)

// The program takes a reference on a map its instructions need not name
// (libbpf binds .rodata this way), so the map lives as long as the program
// and shows in its map_ids. The store side is prog_bind_map() (handle.h).
int prog_bind_map(const Attr &at) {
  const auto &b = at.a->prog_bind_map;
  if (at.tail_dirty(ATTR_END(prog_bind_map.flags)) || b.flags != 0) return -EINVAL;
  RcuReadGuard guard;
  int err = 0;
  const Handle *prog = handle_get(static_cast<int>(b.prog_fd), &err);
  if (!prog) return err;
  if (prog->obj->kind != ObjectKind::kProg) return -EINVAL;
  const Handle *map = map_handle(b.map_fd, &err);
  if (!map) return err;
  return prog_bind_map(*prog->obj, static_cast<int>(b.prog_fd), *map->obj);
}

// The end of each command's last attr field (the kernel's CMD_LAST_FIELD).
// A caller passing at least that much (libbpf passes exactly that) is read in
// place; a shorter attr is copied and zero-extended.
size_t last_field_end(int cmd) {
  switch (cmd) {
    case BPF_MAP_CREATE: return ATTR_END(map_extra);
    case BPF_MAP_LOOKUP_ELEM:
    case BPF_MAP_UPDATE_ELEM:
    case BPF_MAP_LOOKUP_AND_DELETE_ELEM: return ATTR_END(flags);
    case BPF_MAP_DELETE_ELEM: return ATTR_END(key);
    case BPF_MAP_GET_NEXT_KEY: return ATTR_END(next_key);
    case BPF_MAP_FREEZE: return ATTR_END(map_fd);
    case BPF_MAP_LOOKUP_BATCH:
    case BPF_MAP_LOOKUP_AND_DELETE_BATCH:
    case BPF_MAP_UPDATE_BATCH:
    case BPF_MAP_DELETE_BATCH: return ATTR_END(batch.flags);
    case BPF_MAP_GET_NEXT_ID: return ATTR_END(next_id);
    case BPF_MAP_GET_FD_BY_ID: return ATTR_END(open_flags);
    case BPF_OBJ_GET_INFO_BY_FD: return ATTR_END(info.info);
    case BPF_OBJ_PIN:
    case BPF_OBJ_GET: return ATTR_END(file_flags);
    case BPF_PROG_LOAD: return ATTR_END(core_relo_rec_size);
    case BPF_PROG_GET_NEXT_ID: return ATTR_END(next_id);
    case BPF_PROG_GET_FD_BY_ID: return ATTR_END(prog_id);
    case BPF_BTF_LOAD: return kBtfLoadEnd;
    case BPF_BTF_GET_FD_BY_ID: return kFdByIdTokenFdOff + 4;
    case BPF_BTF_GET_NEXT_ID: return ATTR_END(next_id);
    case BPF_PROG_TEST_RUN: return ATTR_END(test.batch_size);
    case BPF_PROG_BIND_MAP: return ATTR_END(prog_bind_map.flags);
    default: return kAttrSize;
  }
}

long dispatch(int cmd, const Attr &at) {
  switch (cmd) {
    case BPF_MAP_CREATE: return map_create(at);
    case BPF_MAP_LOOKUP_ELEM: return map_lookup_elem(at);
    case BPF_MAP_UPDATE_ELEM: return map_update_elem(at);
    case BPF_MAP_DELETE_ELEM: return map_delete_elem(at);
    case BPF_MAP_GET_NEXT_KEY: return map_get_next_key(at);
    case BPF_MAP_LOOKUP_AND_DELETE_ELEM: return map_lookup_and_delete_elem(at);
    case BPF_MAP_FREEZE: return map_freeze(at);
    case BPF_MAP_LOOKUP_BATCH:
    case BPF_MAP_LOOKUP_AND_DELETE_BATCH:
    case BPF_MAP_UPDATE_BATCH:
    case BPF_MAP_DELETE_BATCH: return map_batch(at, cmd);
    case BPF_MAP_GET_NEXT_ID: return obj_get_next_id(at, ObjectKind::kMap);
    case BPF_MAP_GET_FD_BY_ID: return map_get_fd_by_id(at);
    case BPF_OBJ_GET_INFO_BY_FD: return obj_get_info_by_fd(at);
    case BPF_OBJ_PIN: return obj_pin(at);
    case BPF_OBJ_GET: return obj_get(at);
    case BPF_PROG_LOAD: return prog_load(at);
    case BPF_PROG_GET_NEXT_ID: return obj_get_next_id(at, ObjectKind::kProg);
    case BPF_PROG_GET_FD_BY_ID: return prog_get_fd_by_id(at);
    case BPF_BTF_LOAD: return btf_load(at);
    case BPF_BTF_GET_FD_BY_ID: return btf_get_fd_by_id(at);
    case BPF_BTF_GET_NEXT_ID: return obj_get_next_id(at, ObjectKind::kBtf);
    case BPF_PROG_TEST_RUN: return prog_test_run(at);
    case BPF_PROG_BIND_MAP: return prog_bind_map(at);
    default: return -EINVAL; // the kernel's answer to a command it does not know
  }
}

} // namespace
} // namespace userbpf

extern "C" __attribute__((visibility("default"))) long userbpf_bpf(int cmd, union bpf_attr *attr,
                                                                  unsigned int size) {
  using namespace userbpf;
  // bpf_check_uarg_tail_zero(): a larger attr must be zero past what we know.
  if (size > kPageSize) {
    errno = E2BIG;
    return -1;
  }
  if (size && !attr) {
    errno = EFAULT;
    return -1;
  }
  if (size > kAttrSize && !all_zero(reinterpret_cast<char *>(attr) + kAttrSize, size - kAttrSize)) {
    errno = E2BIG;
    return -1;
  }
  // A smaller attr reads as zero-extended: copy it only when it is shorter
  // than the command's fields.
  union bpf_attr local;
  Attr at{attr, attr, size};
  if (size < last_field_end(cmd)) {
    memset(&local, 0, sizeof(local));
    if (size) memcpy(&local, attr, size);
    at.a = &local;
  }
  long r = dispatch(cmd, at);
  if (r < 0) {
    errno = static_cast<int>(-r);
    return -1;
  }
  return r;
}
