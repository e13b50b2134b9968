#include "object/handle.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <linux/falloc.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <system_error>
#include <thread>
#include <iterator>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "alloc/rcu.h"
#include "object/fd_table.h"
#include "object/store.h"

namespace userbpf {
namespace {

// errno the kernel's bpf_map_mmap gives for a map type without mmap support.
constexpr int kENOTSUPP = 524;

int raw_close(int fd) { return static_cast<int>(syscall(SYS_close, fd)); }

// Our own mappings bypass the mmap()/munmap() interposers.
void *raw_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
  long r = syscall(SYS_mmap, addr, len, prot, flags, fd, off);
  return r == -1 ? MAP_FAILED : reinterpret_cast<void *>(r);
}
int raw_munmap(void *addr, size_t len) { return static_cast<int>(syscall(SYS_munmap, addr, len)); }

std::mutex registry_mu; // the view registry and slow-path fd-table inserts
std::unordered_map<ino_t, Object *> &objects_by_ino() {
  static auto *m = new std::unordered_map<ino_t, Object *>;
  return *m;
}
std::unordered_map<uint64_t, Object *> &objects_by_id() {
  static auto *m = new std::unordered_map<uint64_t, Object *>;
  return *m;
}
uint64_t id_key(ObjectKind kind, uint32_t id) { return uint64_t{static_cast<uint32_t>(kind)} << 32 | id; }

// Register a new view. Caller holds registry_mu.
void register_view(Object *obj) {
  objects_by_ino()[obj->ino] = obj;
  objects_by_id()[id_key(obj->kind, obj->id)] = obj;
}
// Forget a view whose last local reference went. Caller holds registry_mu.
void unregister_view(Object *obj) {
  auto it = objects_by_ino().find(obj->ino);
  if (it != objects_by_ino().end() && it->second == obj) objects_by_ino().erase(it);
  auto jt = objects_by_id().find(id_key(obj->kind, obj->id));
  if (jt != objects_by_id().end() && jt->second == obj) objects_by_id().erase(jt);
}

dev_t store_dev() {
  static dev_t dev = [] {
    struct stat sb;
    return stat(store_dir().c_str(), &sb) == 0 ? sb.st_dev : dev_t{0};
  }();
  return dev;
}

// A new object's creator holds handle 1.
constexpr uint64_t kFirstHandleId = 1;

// Make fd a handle: take handle handle_id's OFD lock and record its id and
// mode in the file offset.
int make_handle(int fd, uint64_t handle_id, uint32_t mode) {
  if (ofd_lock_byte(fd, F_RDLCK, kHandleLockBase + static_cast<off_t>(handle_id)) != 0) return -errno;
  if (lseek(fd, static_cast<off_t>(handle_file_offset(handle_id, mode)), SEEK_SET) < 0) return -errno;
  return 0;
}

// Address ranges of freed small views, kept mapped (to their dead files)
// until a new region of the same size replaces one with MAP_FIXED. Freed
// views are unmapped on liburcu's callback thread; there, each munmap raced
// the loading thread for the mmap lock and cost a TLB-shootdown IPI to its
// CPU. Replacing a range in the thread that maps it costs neither. Ranges of
// at most kRecycledMaxBytes, kRecycledTotalBytes in all, stay mapped: dead
// maps' pages outlive them by at most that much memory per process.
constexpr size_t kRecycledMaxBytes = 64 * 1024;
constexpr size_t kRecycledTotalBytes = 1024 * 1024;
size_t recycled_bytes = 0; // guarded by recycled_mu
struct RecycledRange {
  void *addr;
  size_t len;
};
std::mutex recycled_mu;
std::vector<RecycledRange> &recycled_ranges() {
  static auto *v = new std::vector<RecycledRange>;
  return *v;
}

// Map region bytes of fd shared, in a recycled range of that size if any.
void *map_region(int fd, size_t region) {
  void *hint = nullptr;
  {
    std::lock_guard<std::mutex> g(recycled_mu);
    auto &v = recycled_ranges();
    for (size_t i = 0; i < v.size(); i++)
      if (v[i].len == region) {
        hint = v[i].addr;
        recycled_bytes -= region;
        v[i] = v.back();
        v.pop_back();
        break;
      }
  }
  if (hint) {
    void *p = raw_mmap(hint, region, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE | MAP_FIXED, fd, 0);
    if (p != MAP_FAILED) return p;
    raw_munmap(hint, region); // the range is no longer ours to replace
  }
  return raw_mmap(nullptr, region, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
}

// Drop a view's region: unmap it (or keep it for map_region()), or free its
// private copy.
void release_region(ObjectHeader *hdr, size_t mapped_len) {
  if (!mapped_len) {
    free(hdr);
    return;
  }
  if (mapped_len <= kRecycledMaxBytes) {
    std::lock_guard<std::mutex> g(recycled_mu);
    if (recycled_bytes + mapped_len <= kRecycledTotalBytes) {
      recycled_ranges().push_back({hdr, mapped_len});
      recycled_bytes += mapped_len;
      return;
    }
  }
  raw_munmap(hdr, mapped_len);
}

// ---- Recycling released maps' files (DESIGN-NOTES "What an object still costs")
//
// A map's own file costs about three times the kernel's whole MAP_CREATE
// (bench/store_floor_bench): creating, backing, mapping and faulting in a
// file, then unmapping and freeing it. A map this process made and released
// itself, whose file no other process ever mapped (ObjectHeader::
// mapped_elsewhere) and that no fork() shared, keeps its file instead:
//  - the release marks it dead and leaves it under its name
//    (keep_file_for_recycling): every reader takes a dead file for absent;
//  - the view's free, once the grace period is over (no thread of ours
//    still uses it), zeroes it and keeps its description and mapping here
//    (pool_spare, on liburcu's thread rather than in a MAP_CREATE);
//  - the worker of "Files made ahead" names it ahead: renames it to a fresh
//    id of its kind, unpublished (name_one_spare);
//  - the next MAP_CREATE (or BTF_LOAD) takes the lowest such id, resized if
//    need be, and needs no rename (take_named_spare, reuse_spare).
// A spare's description holds the owner lock byte: walks of other processes
// leave a spare alone while its owner lives, and remove it once the owner
// died (judge_fd_locked); a normal exit unlinks its own.
constexpr size_t kSpareMaxRegion = 256 * 1024;
constexpr size_t kSpareTotalBytes = 2 * 1024 * 1024;
struct Spare {
  int fd = -1; // our own description (owner lock held)
  ObjectHeader *hdr = nullptr;
  size_t len = 0;
  ino_t ino = 0;
  std::string path;
  ObjectKind kind = ObjectKind::kMap; // what it was, and will be again
  uint32_t old_id = 0;                // its object's id: the order the worker names spares in
  uint32_t named_id = 0;              // named ahead: under this (unpublished) id; 0: under its old object's name
  bool naming = false;                // the worker is renaming it (not to be taken)
};
std::mutex spare_mu;
// Spares not named ahead (or named under ids since passed), kept longest ago first.
std::vector<Spare> &spares() {
  static auto *v = new std::vector<Spare>;
  return *v;
}
// Spares named ahead, per kind, ascending ids.
std::deque<Spare> &named_spares(ObjectKind kind) {
  static auto *d = new std::deque<Spare>[8];
  return d[static_cast<unsigned>(kind) & 7];
}
// (kind, id) of every spare under an object's name: walks of ours skip them.
std::unordered_set<uint64_t> &spare_named_ids() {
  static auto *s = new std::unordered_set<uint64_t>;
  return *s;
}
constexpr ObjectKind kSpareKinds[] = {ObjectKind::kMap, ObjectKind::kBtf}; // the mapped kinds
bool spares_closed = false;                 // the exit handler ran; guarded by spare_mu
size_t spare_bytes = 0;                     // guarded by spare_mu
// Paths of spares released whose views are not freed yet. Guarded by spare_mu.
std::unordered_set<std::string> &pending_spares() {
  static auto *s = new std::unordered_set<std::string>;
  return *s;
}
// Off in a fork() child that could not take over the pool (another thread
// held it at the fork).
std::atomic<bool> recycling_enabled{true};
// A fork() child's views may carry spares its parent kept: they stay the
// parent's. The generation tells a view's spare from an inherited one.
std::atomic<uint32_t> recycling_generation{0};

void unlink_spares_at_exit() {
  if (!recycling_enabled.load()) return;
  std::lock_guard<std::mutex> g(spare_mu);
  spares_closed = true; // a spare the worker is renaming now is unlinked by the worker
  for (const Spare &sp : spares()) unlink(sp.path.c_str());
  for (ObjectKind kind : kSpareKinds)
    for (const Spare &sp : named_spares(kind)) unlink(sp.path.c_str());
  for (const std::string &path : pending_spares()) unlink(path.c_str());
  spares().clear();
  for (ObjectKind kind : kSpareKinds) named_spares(kind).clear();
  spare_named_ids().clear();
  pending_spares().clear();
  spare_bytes = 0;
}

// A spare's path is no longer pending (pooled or unlinked). Caller holds spare_mu.
void forget_pending_locked(const std::string &path) { pending_spares().erase(path); }

void discard_spare(Spare &sp);
void wake_worker_for_spares();

// Keep a freed view's file (its release made it a spare), making room by
// dropping the spares kept longest ago (not those named ahead). false: the
// caller frees it as any view.
bool pool_spare(Object &obj) {
  // Zeroed here, on liburcu's thread rather than in the next MAP_CREATE
  // (nothing of ours uses it after the grace period), all but `dead`: a
  // walk elsewhere reading the header meanwhile sees it released or
  // unpublished, never half of each. Its next first handle is opened only
  // in that MAP_CREATE: a file opened here would take the lowest free fd
  // number at a moment the program did not choose (DESIGN-NOTES "Files made
  // ahead").
  const bool usable = obj.mapped_len && obj.internal_fd >= 0 && fd_refers_to(obj.internal_fd, obj.dev, obj.ino);
  if (usable) {
    auto *bytes = reinterpret_cast<uint8_t *>(obj.hdr);
    constexpr size_t dead_at = offsetof(ObjectHeader, dead), dead_end = dead_at + sizeof(ObjectHeader::dead);
    obj.hdr->dead.store(1);
    memset(bytes, 0, dead_at);
    memset(bytes + dead_end, 0, obj.mapped_len - dead_end);
  }
  std::vector<Spare> dropped;
  bool pooled = false;
  {
    std::lock_guard<std::mutex> g(spare_mu);
    forget_pending_locked(obj.spare_path);
    if (!usable) return false;
    auto &v = spares();
    auto droppable = [&] { return std::find_if(v.begin(), v.end(), [](const Spare &sp) { return !sp.naming; }); };
    for (auto it = droppable(); it != v.end() && spare_bytes + obj.mapped_len > kSpareTotalBytes; it = droppable()) {
      spare_bytes -= it->len;
      if (it->named_id) spare_named_ids().erase(id_key(it->kind, it->named_id));
      dropped.push_back(std::move(*it));
      v.erase(it);
    }
    // Else the rest is named ahead: not this one. Its room is taken now.
    pooled = !spares_closed && spare_bytes + obj.mapped_len <= kSpareTotalBytes;
    if (pooled) spare_bytes += obj.mapped_len;
  }
  for (Spare &sp : dropped) discard_spare(sp); // outside the lock: system calls
  if (!pooled) return false;
  {
    std::lock_guard<std::mutex> g(spare_mu);
    if (spares_closed) { // the process is exiting: the caller unlinks it
      spare_bytes -= obj.mapped_len;
      return false;
    }
    spares().push_back({obj.internal_fd, obj.hdr, obj.mapped_len, obj.ino, obj.spare_path, obj.kind, obj.id});
  }
  wake_worker_for_spares();
  return true;
}

// The most recently kept spare of exactly `len` bytes, out of the pool (its
// pages are the likeliest to be in the caches).
bool take_spare(size_t len, Spare *out) {
  std::lock_guard<std::mutex> g(spare_mu);
  auto &v = spares();
  for (size_t i = v.size(); i-- > 0;)
    if (v[i].len == len && !v[i].naming) {
      *out = std::move(v[i]);
      v.erase(v.begin() + static_cast<std::ptrdiff_t>(i));
      spare_bytes -= len;
      // Renamed (or discarded) by the caller: its name, if it had an
      // object's, goes; until then a walk of ours sees an unpublished file
      // whose owner lock is held, and leaves it.
      if (out->named_id) spare_named_ids().erase(id_key(out->kind, out->named_id));
      out->named_id = 0; // its id was passed
      return true;
    }
  return false;
}

// A spare named ahead for an object of `len` bytes: of the few with the
// lowest ids of its kind, the first of that size (else the first: resized
// by the caller), if its id is still above every one published
// (note_published claims it). Those before it are passed (skipped, or an
// object was made without one meanwhile): back to the pool under the names
// they have, for the worker to name again. Skipping one puts the next
// ones back in step with the sizes asked for.
constexpr size_t kNamedLookahead = 4;
bool take_named_spare(ObjectKind kind, size_t len, Spare *out) {
  bool passed = false, got = false;
  {
    std::lock_guard<std::mutex> g(spare_mu);
    auto &d = named_spares(kind);
    while (!got && !d.empty()) {
      size_t skip = 0;
      while (skip < d.size() && skip < kNamedLookahead && d[skip].len != len) skip++;
      if (skip == d.size() || skip == kNamedLookahead) skip = 0;
      for (; skip > 0; skip--) {
        spares().push_back(std::move(d.front()));
        d.pop_front();
        passed = true;
      }
      Spare sp = std::move(d.front());
      d.pop_front();
      if (note_published(kind, sp.named_id)) {
        spare_bytes -= sp.len;
        spare_named_ids().erase(id_key(kind, sp.named_id));
        *out = std::move(sp);
        got = true;
      } else {
        spares().push_back(std::move(sp));
        passed = true;
      }
    }
  }
  if (passed) wake_worker_for_spares();
  return got;
}

// The worker: give one spare not named ahead (the one whose object was made
// first) a fresh id of its kind, unpublished, so that a MAP_CREATE (or
// BTF_LOAD) needs no rename. Returns false once none is left. A libbpf
// object made again makes its maps in the same order: named in that order,
// the next ones are taken with each id above the last, sizes matching.
bool name_one_spare() {
  Spare *next = nullptr;
  std::string from;
  ObjectKind kind;
  int fd;
  {
    std::lock_guard<std::mutex> g(spare_mu);
    for (Spare &sp : spares())
      if (!sp.naming && (!next || sp.old_id < next->old_id)) next = &sp;
    if (!next || spares_closed) return false;
    next->naming = true;
    from = next->path;
    kind = next->kind;
    fd = next->fd;
  }
  uint32_t id = 0;
  std::string path;
  const int err = object_file_rename_in(kind, from, &id, &path);
  std::lock_guard<std::mutex> g(spare_mu);
  // Found again by its description (the vector may have changed meanwhile;
  // only the worker takes a spare being named out of it, or a fork child's
  // clear).
  auto &v = spares();
  auto it = std::find_if(v.begin(), v.end(), [&](const Spare &sp) { return sp.naming && sp.fd == fd; });
  if (it == v.end()) { // the exit handler cleared the pool: the file is ours to remove
    unlink(err ? from.c_str() : path.c_str());
    return false;
  }
  Spare sp = std::move(*it);
  v.erase(it);
  if (sp.named_id) spare_named_ids().erase(id_key(kind, sp.named_id));
  if (err) {
    spare_bytes -= sp.len;
    discard_spare(sp);
    return true;
  }
  sp.naming = false;
  sp.named_id = id;
  sp.path = std::move(path);
  spare_named_ids().insert(id_key(kind, id));
  named_spares(kind).push_back(std::move(sp));
  return true;
}

void discard_spare(Spare &sp) {
  unlink(sp.path.c_str());
  raw_munmap(sp.hdr, sp.len);
  raw_close(sp.fd);
}

// fork(): every view that exists now is mapped in the child too, so none may
// be recycled by either process. The child's copies of the spares and of
// views its parent made spares of are the parent's files, which the child
// leaves alone; its own new maps recycle as anyone's.
void recycling_before_fork() {
  std::lock_guard<std::mutex> g(registry_mu);
  for (auto &entry : objects_by_ino()) entry.second->made_here = false;
}
void recycling_after_fork_child() {
  recycling_generation.fetch_add(1);
  // Our copies of the spares' descriptions. If another thread held the pool
  // at the fork, its state is unknown here: no recycling in this process.
  // (Holding the pool's lock across the fork instead deadlocks: liburcu's
  // fork handler waits for its callback thread, which may be waiting for
  // the pool in pool_spare.)
  if (!spare_mu.try_lock()) {
    recycling_enabled.store(false);
    return;
  }
  for (const Spare &sp : spares()) raw_close(sp.fd);
  spares().clear();
  for (ObjectKind kind : kSpareKinds) {
    for (const Spare &sp : named_spares(kind)) raw_close(sp.fd);
    named_spares(kind).clear();
  }
  spare_named_ids().clear();
  pending_spares().clear();
  spare_bytes = 0;
  spare_mu.unlock();
}
[[maybe_unused]] const int recycling_atfork = pthread_atfork(recycling_before_fork, nullptr, recycling_after_fork_child);

void put_object(Object *obj);

void free_object(Object *obj) {
  if (obj->prog_runtime && obj->prog_runtime_free) obj->prog_runtime_free(obj->prog_runtime);
  for (Object *held : obj->held_views) put_object(held);
  if (obj->kind == ObjectKind::kMap && obj->map.ops && obj->map.ops->detach) obj->map.ops->detach(obj->map);
  // A spare this process made (not one a fork inherited from its parent).
  if (!obj->spare_path.empty() && recycling_enabled.load() &&
      obj->spare_generation == recycling_generation.load()) {
    if (pool_spare(*obj)) {
      delete obj; // the pool owns its description and mapping now
      return;
    }
    unlink(obj->spare_path.c_str()); // pool_spare forgot it
  }
  if (obj->hdr) release_region(obj->hdr, obj->mapped_len);
  // The program may have closed our fd behind our back (close_range) and
  // reused its number for a file of its own: close only what is still ours.
  if (obj->internal_fd >= 0 && fd_refers_to(obj->internal_fd, obj->dev, obj->ino)) raw_close(obj->internal_fd);
  delete obj;
}

} // namespace

void map_view_setup(Object &obj) {
  Map &m = obj.map;
  const MapHeader &mh = obj.hdr->map;
  m.hdr = obj.hdr;
  m.data = reinterpret_cast<uint8_t *>(obj.hdr) + obj.hdr->data_offset;
  m.ops = map_ops_for_type(mh.map_type);
  m.region_fd = obj.internal_fd;
  m.id = obj.hdr->id;
  m.type = mh.map_type;
  m.key_size = mh.key_size;
  m.value_size = mh.value_size;
  m.max_entries = mh.max_entries;
  m.map_flags = mh.map_flags;
  m.ncpus = possible_cpus();
  m.percpu_value_size = static_cast<uint32_t>(round_up(mh.value_size, 8));
}

namespace {

// This process's copy of the region behind internal_fd: mapped (maps) or
// read into private memory (objects that never change). nullptr on failure;
// *mapped_len is 0 for a private copy.
ObjectHeader *load_region(int internal_fd, const ObjectHeader &probe, size_t *mapped_len) {
  if (kind_is_mapped(probe.kind)) {
    void *p = map_region(internal_fd, probe.region_size);
    *mapped_len = probe.region_size;
    return p == MAP_FAILED ? nullptr : static_cast<ObjectHeader *>(p);
  }
  void *p = malloc(probe.region_size);
  *mapped_len = 0;
  if (p && region_read(internal_fd, probe, p, probe.region_size, 0) != 0) {
    free(p);
    p = nullptr;
  }
  return static_cast<ObjectHeader *>(p);
}

// Build the process view of the object behind internal_fd.
// Caller holds registry_mu.
int map_object(int internal_fd, const struct stat &sb, Object **out) {
  ObjectHeader probe;
  if (!header_read(internal_fd, &probe, &sb) ||
      (!probe.region_in_xattr && probe.region_size != static_cast<uint64_t>(sb.st_size)))
    return -EINVAL;
  size_t mapped_len = 0;
  ObjectHeader *hdr = load_region(internal_fd, probe, &mapped_len);
  if (!hdr) return -ENOMEM;
  auto *obj = new Object;
  obj->hdr = hdr;
  obj->mapped_len = mapped_len;
  obj->internal_fd = internal_fd;
  obj->dev = sb.st_dev;
  obj->ino = sb.st_ino;
  obj->kind = obj->hdr->kind;
  obj->id = obj->hdr->id;
  // Mapped here, by a process other than its creator's first view: its file
  // must never be recycled (see keep_file_for_recycling).
  if (mapped_len) obj->hdr->mapped_elsewhere.store(1);
  if (obj->kind == ObjectKind::kMap) {
    Map &m = obj->map;
    map_view_setup(*obj);
    int err = m.ops ? (m.ops->attach ? m.ops->attach(m) : 0) : -EINVAL;
    if (err) {
      release_region(hdr, mapped_len);
      delete obj;
      return err;
    }
  }
  register_view(obj);
  *out = obj;
  return 0;
}

// The process view of the object behind fd (any fd on its file), creating it
// if needed, with one more local reference. Caller holds registry_mu.
int get_object_locked(int fd, const struct stat &sb, Object **out) {
  auto it = objects_by_ino().find(sb.st_ino);
  if (it != objects_by_ino().end()) {
    it->second->local_refs.fetch_add(1);
    *out = it->second;
    return 0;
  }
  // Our own open file description: mapping and lock probes must not go
  // through a handle's description (a dup would keep the handle open).
  char proc[64];
  snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
  int internal = open(proc, O_RDWR | O_CLOEXEC);
  if (internal < 0) return -EINVAL;
  Object *obj = nullptr;
  int err = map_object(internal, sb, &obj);
  if (err) {
    raw_close(internal);
    return err;
  }
  obj->local_refs.store(1);
  *out = obj;
  return 0;
}

// This process's own description (no handle lock) of the live object behind
// a view, opened now if the view never needed one (a copied object this
// process made), and its fstat in *sb: -1 if the object has been released
// (its file has no name left), or the program closed our description behind
// our back.
int live_own_description(Object &obj, struct stat *sb) {
  if (obj.internal_fd < 0) {
    int fd = open(object_path(obj.kind, obj.id).c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return -1;
    if (fstat(fd, sb) != 0 || sb->st_ino != obj.ino || sb->st_dev != obj.dev) { // the id names a newer object
      raw_close(fd);
      return -1;
    }
    obj.internal_fd = fd; // closed with the view (free_object)
  } else if (fstat(obj.internal_fd, sb) != 0 || sb->st_ino != obj.ino || sb->st_dev != obj.dev) {
    return -1;
  }
  return sb->st_nlink == 0 ? -1 : obj.internal_fd;
}

// Drop one local reference; the last one unmaps the view (after a grace
// period) and releases the object if nothing else in any process holds it.
void put_object(Object *obj) {
  {
    std::lock_guard<std::mutex> g(registry_mu);
    if (obj->local_refs.fetch_sub(1) != 1) return;
    unregister_view(obj);
  }
  // Nothing to judge, and no lock needed to know it, for a mapped object
  // (map, BTF) already released (its view outlived it: a program's, freed
  // after the program), or one another object holds: whoever drops the last
  // reference does so under the store lock and then looks for handles, after
  // our close. A program array is judged all the same (its last handle
  // empties it).
  const bool prog_array = obj->kind == ObjectKind::kMap && obj->map.type == BPF_MAP_TYPE_PROG_ARRAY;
  const bool nothing_to_judge =
      obj->mapped_len && (obj->hdr->dead.load() || (!prog_array && obj->hdr->refs.load() > 0));
  // Judge the object through our own description rather than opening its
  // file again; a description opened for this is closed with the view after
  // the grace period (its last close frees the file's memory: better on
  // liburcu's thread than on the caller's).
  if (!nothing_to_judge) {
    StoreLock lock;
    struct stat sb;
    ObjectHeader scratch;
    const int fd = live_own_description(*obj, &sb);
    collect_view_if_dead_locked(*obj, fd, sb, fd >= 0 ? view_current_header(*obj, sb, &scratch) : nullptr);
  }
  rcu_defer([obj] { free_object(obj); });
}

// Register fd -> handle. Caller holds registry_mu.
Handle *install_locked(int fd, Object *obj, uint64_t handle_id, uint32_t mode) {
  auto *h = new Handle{obj, handle_id, mode};
  Handle *old = fd_table_exchange(fd, h);
  if (old) {
    // A stale entry (fd closed behind our back): forget it.
    Object *o = old->obj;
    rcu_defer([old] { delete old; });
    registry_mu.unlock();
    put_object(o);
    registry_mu.lock();
  }
  return h;
}

// Slow path: identify an fd the table does not know.
const Handle *identify(int fd, int *err) {
  struct stat sb;
  if (fstat(fd, &sb) != 0) {
    *err = -EBADF;
    return nullptr;
  }
  if (!S_ISREG(sb.st_mode) || sb.st_dev != store_dev()) {
    *err = -EINVAL;
    return nullptr;
  }
  off_t off = lseek(fd, 0, SEEK_CUR);
  if (off <= 0 || (static_cast<uint64_t>(off) >> 8) == 0) {
    *err = -EINVAL;
    return nullptr;
  }
  std::lock_guard<std::mutex> g(registry_mu);
  if (const Handle *h = fd_table_get(fd)) return h; // raced with another thread
  Object *obj = nullptr;
  int e = get_object_locked(fd, sb, &obj);
  if (e) {
    *err = e;
    return nullptr;
  }
  return install_locked(fd, obj, static_cast<uint64_t>(off) >> 8, static_cast<uint32_t>(off) & 3);
}

uint64_t now_boottime_ns() {
  struct timespec ts;
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

} // namespace

const Handle *handle_get(int fd, int *err) {
  if (fd < 0) {
    *err = -EBADF;
    return nullptr;
  }
  if (const Handle *h = fd_table_get(fd)) return h;
  return identify(fd, err);
}

Handle *handle_detach(int fd) { return fd_table_exchange(fd, nullptr); }

void handle_release(Handle *h) {
  Object *obj = h->obj;
  // Programs may keep a program array's view alive past its last handle; that
  // handle's close must still empty it (store.cpp, drop_unused_references_locked).
  const bool prog_array = obj->kind == ObjectKind::kMap && obj->map.type == BPF_MAP_TYPE_PROG_ARRAY;
  const uint32_t id = obj->id;
  rcu_defer([h] { delete h; });
  put_object(obj);
  if (prog_array) collect_if_dead(ObjectKind::kMap, id);
}

void handle_forget(int fd) {
  if (Handle *h = handle_detach(fd)) handle_release(h);
}

// ---- Program files made ahead (DESIGN-NOTES "Files made ahead")
//
// A program's file is all name: its region is one extended attribute
// (store.h), written once. Creating that name (an O_CREAT on the store's
// tmpfs, about 7 us) was most of a small program's BPF_PROG_LOAD. A worker
// thread of ours keeps a few program files made ahead, each under a fresh id
// and unpublished (no region): made with mknod(), so no fd of ours appears at
// a moment the program did not choose (every fd we hand out or keep is
// opened inside the caller's own bpf() call). A load takes the one with the
// lowest id: if that id is still above every program id published
// (note_published), it opens it, takes its first handle and checks it
// still has its name; else (a program was made elsewhere meanwhile, or a
// walk removed the file) it makes its own, and ids go up as the kernel's do.
// The walks of other processes treat them as any unpublished file (removed
// once kUnpublishedGraceSeconds old), ours skip them; a normal exit
// unlinks them.
namespace {
// How many the worker keeps ready grows with the loads seen: twice as many
// as programs loaded so far, from 4 up to 48. A process that loads a program
// or two (a test, a command line) makes and unlinks 4 files, not 48 (each a
// mknod, and an unlink at exit, that held the store directory's lock while
// its first objects were being made); one that loads many soon keeps 48.
constexpr size_t kPremadeMin = 4;
constexpr size_t kPremadeMax = 48;
constexpr auto kSpareBurstWait = std::chrono::microseconds(50);
constexpr size_t kUnlinkBatch = 8; // released files gathered before the worker is woken for them
constexpr auto kUnlinkDelay = std::chrono::milliseconds(10); // how long fewer wait
struct Premade {
  uint32_t id = 0;
  std::string path;
};
struct PremadePool {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Premade> files;         // ascending ids
  std::vector<std::string> to_unlink; // files made ahead whose ids were passed, released programs
  std::unordered_set<uint32_t> ids;  // of `files`
  bool spares_to_name = false;       // pool_spare pooled one (see "Recycling")
  size_t loads = 0;                  // programs loaded (takes): how many files to keep ahead
  size_t spares_pooled = 0;          // spares pooled so far (wake_worker_for_spares)
  bool worth_a_worker() const { return worker_running || loads >= kWorkerStartLoads || spares_pooled >= kWorkerStartSpares; }
  size_t target() const { return std::clamp(2 * loads, kPremadeMin, kPremadeMax); }
  size_t low() const { return target() / 3; } // fewer left: the worker makes more
  bool worker_running = false;
  bool stopping = false;
  // The worker is blocked until there is work (or, with files to unlink, a
  // batch of them): only then does new work need a wake-up (a futex call,
  // and an IPI to the worker's CPU). At work, it looks again before it waits.
  bool worker_waiting = false;
  void wake_worker() {
    if (worker_waiting) cv.notify_one();
  }
};
PremadePool *&premade_pool_ptr() {
  static PremadePool *p = new PremadePool;
  return p;
}
PremadePool &premade_pool() { return *premade_pool_ptr(); }

void premade_worker() {
  pthread_setname_np(pthread_self(), "userbpf-files"); // as ps and /proc/PID/task show it
  PremadePool &pool = premade_pool();
  std::unique_lock<std::mutex> lk(pool.mu);
  for (;;) {
    auto work = [&](size_t unlinks) {
      return pool.stopping || (pool.loads && pool.files.size() <= pool.low()) || pool.to_unlink.size() >= unlinks ||
             pool.spares_to_name;
    };
    pool.worker_waiting = true;
    pool.cv.wait(lk, [&] { return work(1); });
    // Only files to unlink: let a batch gather first (kUnlinkDelay at most).
    if (!work(kUnlinkBatch)) pool.cv.wait_for(lk, kUnlinkDelay, [&] { return work(kUnlinkBatch); });
    pool.worker_waiting = false;
    if (pool.stopping) return;
    std::vector<std::string> to_unlink;
    to_unlink.swap(pool.to_unlink);
    const bool name_spares = pool.spares_to_name;
    pool.spares_to_name = false;
    const size_t want = pool.loads && pool.files.size() <= pool.low() ? pool.target() - pool.files.size() : 0;
    lk.unlock();
    for (const std::string &path : to_unlink) unlink(path.c_str());
    // Program files first: a load waits for one, a spare not named yet is
    // renamed by the MAP_CREATE that takes it. Each file goes to the pool as
    // soon as it is made: a program made without one meanwhile (the pool ran
    // out) publishes a higher id, and a batch handed over at its end would
    // arrive with its ids all passed.
    size_t made = 0;
    for (; made < want; made++) {
      Premade p;
      if (object_file_make_ahead(ObjectKind::kProg, &p.id, &p.path) != 0) break;
      std::lock_guard<std::mutex> g(pool.mu);
      if (pool.stopping) { // exiting: the exit handler has unlinked the pool already
        unlink(p.path.c_str());
        return;
      }
      pool.ids.insert(p.id);
      pool.files.push_back(std::move(p));
    }
    lk.lock();
    // Spares come in bursts (the maps of one object, released together, pooled
    // after one grace period): let the burst end, so that they are named in
    // the order their objects were made, not the order they came in.
    if (name_spares && !pool.cv.wait_for(lk, kSpareBurstWait, [&] { return pool.stopping; })) {
      lk.unlock();
      while (name_one_spare()) {
      }
      lk.lock();
    }
    // The store refuses (full): try again later, not in a loop.
    if (want && made == 0) pool.cv.wait_for(lk, std::chrono::seconds(1), [&] { return pool.stopping; });
  }
}

void premade_at_exit() {
  PremadePool &pool = premade_pool();
  std::lock_guard<std::mutex> g(pool.mu);
  pool.stopping = true;
  pool.cv.notify_all();
  for (const Premade &p : pool.files) unlink(p.path.c_str());
  for (const std::string &path : pool.to_unlink) unlink(path.c_str());
  pool.files.clear();
  pool.to_unlink.clear();
  pool.ids.clear();
}

// fork(): the pool's files stay the parent's; the child starts a pool of
// its own, leaving the copy of its parent's as it is (another thread may
// have been changing it; no lock is held across the fork: liburcu's fork
// handler waits for its callback thread, which may be waiting for the pool
// in a walk over the ids).
PremadePool *premade_pool_at_fork = nullptr; // the parent's, kept reachable
void premade_after_fork_child() {
  premade_pool_at_fork = premade_pool_ptr();
  premade_pool_ptr() = new PremadePool;
}
[[maybe_unused]] const int premade_atfork = pthread_atfork(nullptr, nullptr, premade_after_fork_child);

// Start the worker if it is not running. false: it cannot run (no thread,
// or the process is exiting). Caller holds pool.mu.
bool start_worker_locked(PremadePool &pool) {
  if (pool.worker_running) return true;
  if (pool.stopping) return false;
  static std::once_flag at_exit;
  std::call_once(at_exit, [] { atexit(premade_at_exit); });
  try {
    std::thread(premade_worker).detach();
    pool.worker_running = true;
  } catch (const std::system_error &) {
    return false;
  }
  return true;
}

// A file made ahead for a new program, out of the pool, its id claimed;
// false if there is none to take (the caller makes its own file).
bool take_premade(Premade *out) {
  PremadePool &pool = premade_pool();
  std::lock_guard<std::mutex> g(pool.mu);
  pool.loads++;
  if (!pool.worth_a_worker() || !start_worker_locked(pool)) return false; // the program makes its own file
  bool got = false, passed = false;
  while (!got && !pool.files.empty()) {
    Premade p = std::move(pool.files.front());
    pool.files.pop_front();
    pool.ids.erase(p.id);
    if (note_published(ObjectKind::kProg, p.id)) {
      *out = std::move(p);
      got = true;
    } else {
      pool.to_unlink.push_back(std::move(p.path));
      passed = true;
    }
  }
  if (pool.files.size() <= pool.low() || passed) pool.wake_worker();
  return got;
}

} // namespace

bool unlink_on_worker(const std::string &path) {
  PremadePool &pool = premade_pool();
  std::lock_guard<std::mutex> g(pool.mu);
  if (!pool.worker_running) return false; // none (yet): not started for this
  pool.to_unlink.push_back(path);
  // No wake-up (a futex call) for each: the first wakes the worker, which
  // unlinks them when a few have gathered or kUnlinkDelay later (or at once
  // if it has other work); the exit handler unlinks what is left.
  if (pool.to_unlink.size() == 1 || pool.to_unlink.size() >= kUnlinkBatch) pool.wake_worker();
  return true;
}

namespace {

void wake_worker_for_spares() {
  PremadePool &pool = premade_pool();
  std::lock_guard<std::mutex> g(pool.mu);
  pool.spares_pooled++;
  const bool told = pool.spares_to_name; // the worker knows already
  pool.spares_to_name = true;            // named once the worker runs
  if (!pool.worth_a_worker() || !start_worker_locked(pool)) return; // MAP_CREATE renames spares itself
  if (!told) pool.wake_worker();
}

} // namespace

bool is_own_made_ahead(ObjectKind kind, uint32_t id) {
  if (kind_is_mapped(kind)) {
    std::lock_guard<std::mutex> g(spare_mu);
    return spare_named_ids().count(id_key(kind, id)) != 0;
  }
  if (kind != ObjectKind::kProg) return false;
  PremadePool &pool = premade_pool();
  std::lock_guard<std::mutex> g(pool.mu);
  return pool.ids.count(id) != 0;
}

namespace {
// A new object's file, created under its store name by object_file_create()
// and not yet published (no magic): the first handle's fd, our own
// description, and the region (mapped, or a private buffer written at
// publication).
struct NewObjectFile {
  int user_fd = -1;
  int internal_fd = -1;
  uint32_t id = 0;
  std::string path;
  ObjectHeader *hdr = nullptr;
  size_t mapped_len = 0;
  ino_t ino = 0;
  bool spare_owner_locked = false; // made from a spare: internal_fd holds the owner lock

  // Undo everything (the object was never published).
  void discard() {
    if (hdr) release_region(hdr, mapped_len);
    if (!path.empty()) unlink(path.c_str());
    if (internal_fd >= 0) raw_close(internal_fd);
    if (user_fd >= 0) raw_close(user_fd);
  }
};

// Make the new object from a spare of this process (see "Recycling"),
// zeroed when it was pooled. Its first handle's description is opened and
// locked under the spare's name. A spare named ahead (its id claimed by
// take_named_spare) is resized to `region` if its size differs (truncated,
// or extended and backed, and remapped); any other is renamed in under a
// fresh id. On failure the spare is the caller's to discard.
int reuse_spare(ObjectKind kind, Spare &sp, size_t region, uint32_t mode, NewObjectFile *f) {
  if (region != sp.len) {
    if (region < sp.len ? ftruncate(sp.fd, static_cast<off_t>(region)) != 0
                        : fallocate(sp.fd, 0, 0, static_cast<off_t>(region)) != 0)
      return -ENOMEM;
    long p = syscall(SYS_mremap, sp.hdr, sp.len, region, MREMAP_MAYMOVE);
    if (p == -1) return -ENOMEM; // still mapped as it was, for discard_spare to unmap
    sp.hdr = reinterpret_cast<ObjectHeader *>(p);
    sp.len = region;
  }
  int fd = open(sp.path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return -errno;
  // (A spare named ahead is still under its name: its owner lock keeps
  // every walk off it, and an id's name is never given to another file.)
  int err = make_handle(fd, kFirstHandleId, mode);
  if (!err && !sp.named_id) err = object_file_rename_in(kind, sp.path, &f->id, &f->path);
  if (err) {
    raw_close(fd);
    return err;
  }
  if (sp.named_id) {
    f->id = sp.named_id;
    f->path = sp.path;
  }
  f->user_fd = fd;
  f->internal_fd = sp.fd;
  f->hdr = sp.hdr;
  f->mapped_len = sp.len;
  f->ino = sp.ino;
  f->spare_owner_locked = true;
  return 0;
}

// Open the file made ahead as the new program's first handle: 0, or -1 if
// it is gone (a walk elsewhere took it for abandoned): the caller makes its
// own. Checked after the handle lock is held: from then on no walk removes it.
int open_premade(const Premade &p, uint32_t mode, NewObjectFile *f) {
  int fd = open(p.path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return -1;
  struct stat sb;
  if (make_handle(fd, kFirstHandleId, mode) != 0 || fstat(fd, &sb) != 0 || sb.st_nlink != 1) {
    raw_close(fd);
    return -1;
  }
  f->user_fd = fd;
  f->id = p.id;
  f->path = p.path;
  f->ino = sb.st_ino;
  return 0;
}
int open_new_object_file(ObjectKind kind, uint64_t region, uint64_t backed, uint32_t mode, NewObjectFile *f) {
  Spare sp;
  if (kind_is_mapped(kind) && backed == region &&
      ((region <= kSpareMaxRegion && take_named_spare(kind, region, &sp)) || take_spare(region, &sp))) {
    if (reuse_spare(kind, sp, region, mode, f) == 0) return 0;
    discard_spare(sp);
  }
  Premade pre;
  if (kind == ObjectKind::kProg && take_premade(&pre) && open_premade(pre, mode, f) == 0) {
    f->hdr = static_cast<ObjectHeader *>(calloc(1, region));
    return f->hdr ? 0 : -ENOMEM;
  }
  int fd = object_file_create(kind, &f->id, &f->path);
  if (fd < 0) return fd;
  f->user_fd = fd;
  // The creator holds the first handle from the start: a collector never
  // takes the file for one whose creator died.
  if (int err = make_handle(fd, kFirstHandleId, mode)) return err;
  struct stat sb;
  if (!kind_is_mapped(kind)) {
    // Written in one go at publication (pwrite backs it with memory). Our
    // own description is opened only if this process ever needs one
    // (object_ref_get); a close judges the object by its name.
    if (fstat(fd, &sb) != 0) return -errno;
    f->ino = sb.st_ino;
    f->hdr = static_cast<ObjectHeader *>(calloc(1, region));
    return f->hdr ? 0 : -ENOMEM;
  }
  f->internal_fd = open(f->path.c_str(), O_RDWR | O_CLOEXEC);
  if (f->internal_fd < 0) return -errno;
  if (fstat(f->internal_fd, &sb) != 0) return -errno;
  f->ino = sb.st_ino;
  // Back the header and the committed data (`backed` bytes from the start)
  // now: a full tmpfs must fail here with ENOMEM, not with SIGBUS on first
  // touch. fallocate() sets the file's size too; a region only partly
  // committed is sized first.
  if (backed < region && ftruncate(f->internal_fd, static_cast<off_t>(region)) != 0) return -ENOMEM;
  if (fallocate(f->internal_fd, 0, 0, static_cast<off_t>(backed)) != 0)
    return errno == ENOSPC || errno == EFBIG ? -ENOMEM : -errno;
  void *p = map_region(f->internal_fd, region);
  if (p == MAP_FAILED) return -ENOMEM;
  f->hdr = static_cast<ObjectHeader *>(p);
  f->mapped_len = region;
  return 0;
}

// Make the object visible to everyone: its header's magic, written last.
int publish(NewObjectFile &f) {
  if (f.mapped_len) {
    __atomic_store_n(&f.hdr->magic, kObjectMagic, __ATOMIC_RELEASE);
    return 0;
  }
  const size_t len = f.hdr->region_size;
  if (len <= kXattrRegionMax) {
    // One attribute, set whole: nobody sees it half written.
    f.hdr->region_in_xattr = 1;
    f.hdr->magic = kObjectMagic;
    if (fsetxattr(f.user_fd, kRegionXattr, f.hdr, len, XATTR_CREATE) == 0) return 0;
    f.hdr->region_in_xattr = 0; // refused (no user xattrs here, or no room): the file's data
    f.hdr->magic = 0;
  }
  // A reader must never see a half-written region with a valid magic: the
  // region goes first, the magic after it.
  if (pwrite(f.user_fd, f.hdr, len, 0) != static_cast<ssize_t>(len)) return -ENOMEM;
  f.hdr->magic = kObjectMagic;
  if (pwrite(f.user_fd, &f.hdr->magic, sizeof(f.hdr->magic), 0) != static_cast<ssize_t>(sizeof(f.hdr->magic)))
    return -ENOMEM;
  return 0;
}
} // namespace

int object_create(ObjectKind kind, uint64_t data_size, uint64_t commit_size, uint64_t charge_size,
                  DataPlacement placement, uint32_t mode, const std::function<int(Object &)> &init) {
  uint64_t data_pages = round_up(data_size, kPageSize);
  if (data_pages < data_size || data_pages > max_region_bytes() ||
      kHeaderSize + data_pages > max_region_bytes())
    return -ENOMEM;
  const bool mapped = kind_is_mapped(kind);
  if (commit_size > data_pages) commit_size = data_pages;
  // A mapped region is whole pages. Its data shares page 0 with the header
  // unless users map the data (it must start a page) or only part of it is
  // backed now (map_commit() backs whole pages of data later): a small map
  // is then one page, not two, to back, fault in and free.
  const bool own_pages = placement == DataPlacement::kOwnPages || commit_size < data_size;
  const uint64_t data_offset = mapped && own_pages ? kHeaderSize : kCopiedDataOffset;
  const uint64_t region = !mapped ? kCopiedDataOffset + data_size
                          : own_pages ? kHeaderSize + data_pages
                                      : round_up(kCopiedDataOffset + data_size, kPageSize);
  const uint64_t backed = own_pages ? kHeaderSize + round_up(commit_size, kPageSize) : region;
  int err = memlock_charge(charge_size);
  if (err) return err;
  NewObjectFile f;
  auto *obj = new Object;
  bool attached = false;
  auto fail = [&](int e) {
    if (attached && obj->map.ops && obj->map.ops->detach) obj->map.ops->detach(obj->map);
    for (Object *held : obj->held_views) put_object(held);
    delete obj;
    f.discard();
    memlock_uncharge(charge_size);
    return e;
  };
  err = open_new_object_file(kind, region, backed, mode, &f);
  if (err) return fail(err);
  ObjectHeader *hdr = f.hdr;
  hdr->dead.store(0); // a spare's says released until now (pool_spare)
  hdr->version = kObjectVersion;
  hdr->kind = kind;
  hdr->id = f.id;
  hdr->owner_uid = getuid();
  hdr->region_size = region;
  hdr->data_offset = data_offset;
  hdr->data_size = data_size;
  hdr->committed = round_up(commit_size, kPageSize);
  hdr->charged_bytes = charge_size;
  hdr->create_time_ns = now_boottime_ns();
  hdr->next_handle.store(kFirstHandleId + 1);

  obj->hdr = hdr;
  obj->mapped_len = f.mapped_len;
  obj->internal_fd = f.internal_fd;
  obj->dev = store_dev();
  obj->ino = f.ino;
  obj->kind = kind;
  obj->id = f.id;
  obj->map.id = f.id;
  obj->made_here = mapped;
  obj->spare_owner_locked = f.spare_owner_locked;
  err = init(*obj);
  if (err) return fail(err);
  if (kind == ObjectKind::kMap && obj->map.ops && obj->map.ops->attach) {
    err = obj->map.ops->attach(obj->map);
    if (err) return fail(err);
    attached = true;
  }
  note_published(kind, f.id); // first: no id reserved before this one is published after it
  err = publish(f);
  if (err) return fail(err);

  std::lock_guard<std::mutex> g(registry_mu);
  obj->local_refs.store(1);
  register_view(obj);
  install_locked(f.user_fd, obj, kFirstHandleId, mode);
  return f.user_fd;
}

namespace {
// Open a handle on the file at path. Caller holds the StoreLock.
int open_handle_locked(const std::string &path, uint32_t mode, ObjectKind *kind_out, bool by_id) {
  int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return -ENOENT;
    return by_id ? -ENOENT : -errno;
  }
  // fd holds no lock yet: it sees every handle's lock, and (under the store
  // lock) its header's shared counters are current.
  struct stat sb;
  ObjectHeader probe;
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_dev != store_dev() || !header_read(fd, &probe, &sb)) {
    raw_close(fd);
    return by_id ? -ENOENT : -EACCES;
  }
  if (probe.dead || (by_id && !object_alive(fd, sb, probe))) {
    raw_close(fd);
    return -ENOENT;
  }
  std::lock_guard<std::mutex> g(registry_mu);
  Object *obj = nullptr;
  int err = get_object_locked(fd, sb, &obj);
  if (!err) {
    const uint64_t hid = probe.next_handle;
    err = header_store_next_handle(fd, probe, hid + 1);
    if (!err) err = make_handle(fd, hid, mode);
    if (!err) {
      if (kind_out) *kind_out = obj->kind;
      install_locked(fd, obj, hid, mode);
      return fd;
    }
    registry_mu.unlock();
    put_object(obj);
    registry_mu.lock();
  }
  raw_close(fd);
  return by_id ? -ENOENT : err;
}
} // namespace

int handle_open_id(ObjectKind kind, uint32_t id, uint32_t mode) {
  StoreLock lock;
  // An object whose last holder went away unseen (exit, a close in another
  // process) is released now, so that this answer is ENOENT.
  if (collect_if_dead(kind, id)) return -ENOENT;
  ObjectKind got;
  return open_handle_locked(object_path(kind, id), mode, &got, true);
}

Object *object_view_by_id(ObjectKind kind, uint32_t id) {
  StoreLock lock;
  int fd = open(object_path(kind, id).c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return nullptr;
  struct stat sb;
  ObjectHeader probe;
  Object *obj = nullptr;
  if (fstat(fd, &sb) == 0 && sb.st_dev == store_dev() && header_read(fd, &probe, &sb) && probe.kind == kind &&
      !probe.dead) {
    std::lock_guard<std::mutex> g(registry_mu);
    if (get_object_locked(fd, sb, &obj) != 0) obj = nullptr;
  }
  raw_close(fd);
  return obj;
}

int object_ref_get(Object &obj) {
  StoreLock lock;
  if (obj.mapped_len) { // the shared header itself
    if (obj.hdr->dead.load()) return -EBADF; // released by a close racing with us
    obj.hdr->refs.fetch_add(1);
    return 0;
  }
  // Through our own description; released by a close racing with us if
  // the object's file has no name left.
  struct stat sb;
  const int fd = live_own_description(obj, &sb);
  if (fd < 0) return -EBADF;
  if (obj.hdr->region_in_xattr) { // the count is the file's size (store.h)
    // Released (release_locked removes the region first, the name later):
    // its attribute is gone.
    if (fgetxattr(fd, kRegionXattr, nullptr, 0) < 0) return -EBADF;
    return ftruncate(fd, sb.st_size + 1) == 0 ? 0 : -EBADF;
  }
  ObjectHeader hdr;
  if (!header_read(fd, &hdr, &sb) || hdr.dead) return -EBADF;
  return header_store_refs(fd, hdr, hdr.refs + 1) ? -EBADF : 0;
}

int prog_bind_map(Object &prog, int prog_fd, Object &map) {
  // The list only grows: a map in our copy of it (the program's maps at its
  // load, libbpf's .rodata among them) is used still, and nothing changes.
  const ProgHeader &loaded = prog.hdr->prog;
  const uint32_t n = std::min(loaded.nr_map_ids, kMaxUsedMaps);
  if (std::find(loaded.map_ids, loaded.map_ids + n, map.id) != loaded.map_ids + n) return 0;
  StoreLock lock;
  // The program's header as it is now, through the caller's handle (no
  // open of our own by name).
  struct stat sb;
  ObjectHeader hdr;
  if (fstat(prog_fd, &sb) != 0 || !header_read(prog_fd, &hdr, &sb) || hdr.dead) return -EBADF;
  const uint32_t used = std::min(hdr.prog.nr_map_ids, kMaxUsedMaps);
  for (uint32_t i = 0; i < used; i++)
    if (hdr.prog.map_ids[i] == map.id) return 0; // already used: nothing changes
  // The kernel has no limit here (its list grows); ours is the header's.
  if (used == kMaxUsedMaps) return -E2BIG;
  if (int err = object_ref_get(map)) return err;
  if (int err = header_store_prog_map(prog_fd, hdr, used, map.id)) {
    object_ref_put(ObjectKind::kMap, map.id);
    return err;
  }
  // As the maps of its load: the program's release finds this one here too.
  object_view_hold(prog, map);
  return 0;
}

uint32_t prog_used_maps(Object &prog, uint32_t ids[kMaxUsedMaps]) {
  const ProgHeader *ph = &prog.hdr->prog;
  ObjectHeader now;
  {
    StoreLock lock;
    struct stat sb;
    const int fd = live_own_description(prog, &sb);
    // A released program's list no longer changes: our copy is as good.
    if (fd >= 0 && header_read(fd, &now, &sb)) ph = &now.prog;
  }
  const uint32_t n = std::min(ph->nr_map_ids, kMaxUsedMaps);
  std::copy(ph->map_ids, ph->map_ids + n, ids);
  return n;
}

void object_view_put(Object *obj) { put_object(obj); }

bool keep_file_for_recycling(Object &view, const std::string &path) {
  if (!recycling_enabled.load() || !view.made_here || !kind_is_mapped(view.kind) || !view.mapped_len ||
      view.mapped_len > kSpareMaxRegion || view.internal_fd < 0)
    return false;
  const ObjectHeader &hdr = *view.hdr;
  // Another process's stale view could write into the next map; a region
  // only partly backed would not be all there for it.
  if (hdr.mapped_elsewhere.load() || hdr.committed < round_up(hdr.data_size, kPageSize)) return false;
  static std::once_flag at_exit;
  std::call_once(at_exit, [] { atexit(unlink_spares_at_exit); });
  if (!view.spare_owner_locked) { // once per description: a reused spare's is held already
    if (ofd_lock_byte(view.internal_fd, F_RDLCK, kSpareOwnerLockByte) != 0) return false;
    view.spare_owner_locked = true;
  }
  // The file keeps its name until the worker names it ahead: its header
  // says `dead` (release_locked), which every reader takes for absent, and
  // its owner lock keeps other processes' walks off it.
  view.spare_generation = recycling_generation.load();
  std::lock_guard<std::mutex> g(spare_mu);
  pending_spares().insert(path);
  view.spare_path = path;
  return true;
}

bool object_view_get(Object &view) {
  std::lock_guard<std::mutex> g(registry_mu); // local references drop to zero only under it
  if (view.local_refs.load() == 0) return false;
  view.local_refs.fetch_add(1);
  return true;
}

void object_view_hold(Object &holder, Object &view) {
  // A close racing with the caller may have dropped the view's last local
  // reference (it is then only kept for the caller's grace period): hold
  // live views only. Without one, a release finds the object by its name.
  // (The holder is not published yet, or the caller holds the StoreLock:
  // nobody else changes its list.)
  if (object_view_get(view)) holder.held_views.push_back(&view);
}

const ObjectHeader *view_current_header(const Object &obj, const struct stat &sb, ObjectHeader *scratch) {
  if (obj.mapped_len) return obj.hdr;
  // A program's list of maps grows with BPF_PROG_BIND_MAP: read it.
  if (!obj.hdr->region_in_xattr || obj.kind == ObjectKind::kProg) return nullptr;
  memcpy(static_cast<void *>(scratch), obj.hdr, sizeof(*scratch));
  scratch->refs.store(static_cast<uint32_t>(sb.st_size));
  return scratch;
}

int local_view_fd(ObjectKind kind, uint32_t id, Object **view, struct stat *sb) {
  *view = nullptr;
  Object *obj;
  {
    std::lock_guard<std::mutex> g(registry_mu);
    auto it = objects_by_id().find(id_key(kind, id));
    if (it == objects_by_id().end()) return -1;
    obj = it->second;
    obj->local_refs.fetch_add(1);
  }
  *view = obj;
  return live_own_description(*obj, sb);
}

int handle_open_path(const std::string &real_path, uint32_t mode, ObjectKind *kind_out) {
  StoreLock lock;
  return open_handle_locked(real_path, mode, kind_out, false);
}

int object_pin(const Handle &h, const std::string &real_path) {
  StoreLock lock;
  std::string src = object_path(h.obj->kind, h.obj->id);
  if (link(src.c_str(), real_path.c_str()) != 0) {
    int e = errno;
    if (e == EXDEV) return -EPERM;
    return -e;
  }
  return 0;
}

int object_commit(Object &obj, uint64_t data_offset, uint64_t len) {
  return map_commit(obj.map, data_offset, len);
}

int map_commit(Map &map, uint64_t data_offset, uint64_t len) {
  ObjectHeader *hdr = map.hdr;
  uint64_t end = round_up(data_offset + len, kPageSize);
  if (end > round_up(hdr->data_size, kPageSize)) return -ENOMEM;
  if (end <= __atomic_load_n(&hdr->committed, __ATOMIC_ACQUIRE)) return 0;
  // fallocate is idempotent: racing committers at worst both allocate.
  if (fallocate(map.region_fd, 0, static_cast<off_t>(hdr->data_offset),
                static_cast<off_t>(end)) != 0)
    return -ENOMEM;
  uint64_t cur = __atomic_load_n(&hdr->committed, __ATOMIC_RELAXED);
  while (cur < end && !__atomic_compare_exchange_n(&hdr->committed, &cur, end, true, __ATOMIC_RELEASE,
                                                   __ATOMIC_RELAXED)) {
  }
  return 0;
}

// ---- mmap of map fds

int g_tracked_mappings = 0; // read by the munmap() interposer without a lock

namespace {
struct WritableMapping {
  uintptr_t start, end;
  Object *obj;
};
std::mutex mappings_mu;
std::vector<WritableMapping> &writable_mappings() {
  static auto *v = new std::vector<WritableMapping>;
  return *v;
}

void writer_lock(Object *obj, bool take) { ofd_lock_byte(obj->internal_fd, take ? F_RDLCK : F_UNLCK, kMmapWriterLockByte); }
} // namespace

void *handle_mmap(const Handle &h, void *addr, size_t len, int prot, int flags, int fd, off_t off) {
  Object *obj = h.obj;
  auto fail = [](int e) {
    errno = e;
    return MAP_FAILED;
  };
  if (obj->kind != ObjectKind::kMap) return fail(ENODEV);
  Map &m = obj->map;
  if (!m.ops->mmapable) return fail(kENOTSUPP);
  if (!m.ops->mmapable(m)) return fail(EINVAL);
  if (!(flags & MAP_SHARED)) return fail(EINVAL);
  // As observed on Linux 6.18: a write-only fd gives EACCES; a read-only fd
  // EACCES for a writable mapping and EINVAL for a read-only one.
  if (!(h.mode & kModeRead)) return fail(EACCES);
  if (!(h.mode & kModeWrite)) return fail((prot & PROT_WRITE) ? EACCES : EINVAL);
  if (off < 0 || (off & (kPageSize - 1)) || len == 0) return fail(EINVAL);
  uint64_t avail = round_up(obj->hdr->data_size, kPageSize);
  uint64_t want = round_up(len, kPageSize);
  if (static_cast<uint64_t>(off) > avail || want > avail - static_cast<uint64_t>(off)) return fail(EINVAL);
  bool writable = prot & PROT_WRITE;
  std::lock_guard<std::mutex> g(obj->mmap_mu);
  if (writable) {
    if (!(h.mode & kModeWrite)) return fail(EACCES);
    if (obj->hdr->frozen.load()) return fail(EPERM);
    if (m.map_flags & BPF_F_RDONLY_PROG) return fail(EACCES);
  }
  long r = syscall(SYS_mmap, addr, len, prot, flags, fd, off + static_cast<off_t>(obj->hdr->data_offset));
  if (r < 0 && r > -4096) return MAP_FAILED; // errno set by syscall()
  void *p = reinterpret_cast<void *>(r);
  if (p == MAP_FAILED) return p;
  if (writable) {
    obj->local_refs.fetch_add(1); // the mapping holds the view
    if (obj->writable_mmaps++ == 0) writer_lock(obj, true);
    std::lock_guard<std::mutex> mg(mappings_mu);
    writable_mappings().push_back({reinterpret_cast<uintptr_t>(p), reinterpret_cast<uintptr_t>(p) + want, obj});
    __atomic_store_n(&g_tracked_mappings, static_cast<int>(writable_mappings().size()), __ATOMIC_RELAXED);
  }
  return p;
}

// Called by the munmap() interposer for every munmap.
void handle_munmap(void *addr, size_t len) {
  uintptr_t s = reinterpret_cast<uintptr_t>(addr), e = s + round_up(len, kPageSize);
  std::vector<Object *> released;
  {
    std::lock_guard<std::mutex> g(mappings_mu);
    auto &v = writable_mappings();
    for (size_t i = 0; i < v.size();) {
      WritableMapping &w = v[i];
      if (w.end <= s || w.start >= e) {
        ++i;
        continue;
      }
      // Keep what is left on each side of the hole.
      WritableMapping left = {w.start, s, w.obj}, right = {e, w.end, w.obj};
      bool keep_left = w.start < s, keep_right = w.end > e;
      if (keep_left && keep_right) {
        w = left;
        v.push_back(right);
        ++i;
      } else if (keep_left) {
        w = left;
        ++i;
      } else if (keep_right) {
        w = right;
        ++i;
      } else {
        released.push_back(w.obj);
        v.erase(v.begin() + static_cast<long>(i));
      }
    }
    __atomic_store_n(&g_tracked_mappings, static_cast<int>(v.size()), __ATOMIC_RELAXED);
  }
  for (Object *obj : released) {
    {
      std::lock_guard<std::mutex> g(obj->mmap_mu);
      if (--obj->writable_mmaps == 0) writer_lock(obj, false);
    }
    put_object(obj);
  }
}

bool handle_has_writable_mmaps(const Object &obj, int handle_fd) {
  if (obj.writable_mmaps > 0) return true; // ours (the caller holds mmap_mu)
  // Writer locks are taken through internal descriptions only (writer_lock),
  // so the handle's description sees them all: every process's, and that of
  // a child that inherited ours by fork and mapped through it
  // (Mmap.WritableMappingInAnotherProcessBlocksFreeze). Our internal
  // description would not see its own. If the fd no longer refers to the
  // map (closed by another thread), ask with a fresh description.
  const bool own = fd_refers_to(handle_fd, obj.dev, obj.ino);
  const int fd = own ? handle_fd : open(object_path(obj.kind, obj.id).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool held = ofd_lock_held(fd, kMmapWriterLockByte, 1) == 1;
  if (!own) raw_close(fd);
  return held;
}

} // namespace userbpf
