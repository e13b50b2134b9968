#include "object/handle.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <unordered_map>
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

std::mutex registry_mu; // objects_by_ino and slow-path fd-table inserts
std::unordered_map<ino_t, Object *> &objects_by_ino() {
  static auto *m = new std::unordered_map<ino_t, Object *>;
  return *m;
}

dev_t store_dev() {
  static dev_t dev = [] {
    struct stat sb;
    return stat(store_dir().c_str(), &sb) == 0 ? sb.st_dev : dev_t{0};
  }();
  return dev;
}

// Take the handle's OFD lock and record its id and mode in the file offset;
// *handle_id_out is the new handle's id.
int make_handle(int fd, ObjectHeader *hdr, uint32_t mode, uint64_t *handle_id_out) {
  uint64_t handle_id = hdr->next_handle.fetch_add(1);
  *handle_id_out = handle_id;
  struct flock fl = {};
  fl.l_type = F_RDLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = kHandleLockBase + static_cast<off_t>(handle_id);
  fl.l_len = 1;
  if (fcntl(fd, F_OFD_SETLK, &fl) != 0) return -errno;
  if (lseek(fd, static_cast<off_t>(handle_file_offset(handle_id, mode)), SEEK_SET) < 0) return -errno;
  return 0;
}

void free_object(Object *obj) {
  if (obj->prog_runtime && obj->prog_runtime_free) obj->prog_runtime_free(obj->prog_runtime);
  if (obj->kind == ObjectKind::kMap && obj->map.ops && obj->map.ops->detach) obj->map.ops->detach(obj->map);
  if (obj->hdr) raw_munmap(obj->hdr, obj->mapped_len);
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

// Map the region behind internal_fd and build the process view.
// Caller holds registry_mu.
int map_object(int internal_fd, const struct stat &sb, Object **out) {
  ObjectHeader probe;
  if (pread(internal_fd, &probe, sizeof(probe), 0) != static_cast<ssize_t>(sizeof(probe)) ||
      probe.magic != kObjectMagic || probe.version != kObjectVersion ||
      probe.region_size != static_cast<uint64_t>(sb.st_size))
    return -EINVAL;
  void *p = raw_mmap(nullptr, probe.region_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
                 internal_fd, 0);
  if (p == MAP_FAILED) return -ENOMEM;
  auto *obj = new Object;
  obj->hdr = static_cast<ObjectHeader *>(p);
  obj->mapped_len = probe.region_size;
  obj->internal_fd = internal_fd;
  obj->dev = sb.st_dev;
  obj->ino = sb.st_ino;
  obj->kind = obj->hdr->kind;
  obj->id = obj->hdr->id;
  if (obj->kind == ObjectKind::kMap) {
    Map &m = obj->map;
    map_view_setup(*obj);
    if (!m.ops) {
      raw_munmap(p, probe.region_size);
      delete obj;
      return -EINVAL;
    }
    if (m.ops->attach) {
      int err = m.ops->attach(m);
      if (err) {
        raw_munmap(p, probe.region_size);
        delete obj;
        return err;
      }
    }
  }
  objects_by_ino()[sb.st_ino] = obj;
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

// Drop one local reference; the last one unmaps the view (after a grace
// period) and releases the object if nothing else in any process holds it.
void put_object(Object *obj) {
  {
    std::lock_guard<std::mutex> g(registry_mu);
    if (obj->local_refs.fetch_sub(1) != 1) return;
    auto it = objects_by_ino().find(obj->ino);
    if (it != objects_by_ino().end() && it->second == obj) objects_by_ino().erase(it);
  }
  // The view is still mapped (it is freed after a grace period): judge the
  // object through it rather than opening and mapping its file again.
  collect_view_if_dead(obj->kind, obj->id, obj->internal_fd, obj->dev, obj->ino, obj->hdr);
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
  // handle's close must still empty it (store.cpp, clear_prog_array_without_users).
  const bool prog_array = obj->kind == ObjectKind::kMap && obj->map.type == BPF_MAP_TYPE_PROG_ARRAY;
  const uint32_t id = obj->id;
  rcu_defer([h] { delete h; });
  put_object(obj);
  if (prog_array) collect_if_dead(ObjectKind::kMap, id);
}

void handle_forget(int fd) {
  if (Handle *h = handle_detach(fd)) handle_release(h);
}

namespace {
// A new object's file: created unnamed, sized, backed and mapped.
struct NewRegion {
  int fd = -1;
  void *base = nullptr;
  ino_t ino = 0;
};

int new_region(uint64_t region, uint64_t commit_size, NewRegion *out) {
  // Back the header and the committed data now: a full tmpfs must fail here
  // with ENOMEM, not with SIGBUS on first touch. fallocate() sets the file's
  // size too; a region only partly committed is sized first.
  const uint64_t backed = kHeaderSize + round_up(commit_size, kPageSize);
  int fd = open((store_dir() + "/obj").c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) return errno == ENOSPC ? -ENOMEM : -errno;
  int err = 0;
  struct stat sb;
  void *p = MAP_FAILED;
  if (backed < region && ftruncate(fd, static_cast<off_t>(region)) != 0) err = -ENOMEM;
  else if (fallocate(fd, 0, 0, static_cast<off_t>(backed)) != 0) err = errno == ENOSPC || errno == EFBIG ? -ENOMEM : -errno;
  else if (fstat(fd, &sb) != 0) err = -errno;
  else if ((p = raw_mmap(nullptr, region, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0)) == MAP_FAILED)
    err = -ENOMEM;
  if (err) {
    raw_close(fd);
    return err;
  }
  *out = NewRegion{fd, p, sb.st_ino};
  return 0;
}

// The first handle on a new object whose store name is `path`: a new open
// file description with its lock. Returns its fd or -errno.
int first_handle(const std::string &path, ObjectHeader *hdr, uint32_t mode, uint64_t *hid) {
  int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return -errno;
  int err = make_handle(fd, hdr, mode, hid);
  if (err) {
    raw_close(fd);
    return err;
  }
  return fd;
}
} // namespace

int object_create(ObjectKind kind, uint64_t data_size, uint64_t commit_size, uint64_t charge_size,
                  uint32_t mode, const std::function<int(Object &)> &init) {
  uint64_t data_pages = round_up(data_size, kPageSize);
  if (data_pages < data_size || data_pages > max_region_bytes() ||
      kHeaderSize + data_pages > max_region_bytes())
    return -ENOMEM;
  uint64_t region = kHeaderSize + data_pages;
  if (commit_size > data_pages) commit_size = data_pages;
  int err = memlock_charge(charge_size);
  if (err) return err;
  NewRegion r;
  err = new_region(region, commit_size, &r);
  if (err) {
    memlock_uncharge(charge_size);
    return err;
  }
  auto *obj = new Object;
  // Undo everything so far (the object was never published).
  auto fail = [&](int e, bool attached) {
    if (attached && obj->map.ops && obj->map.ops->detach) obj->map.ops->detach(obj->map);
    delete obj;
    raw_munmap(r.base, region);
    raw_close(r.fd);
    memlock_uncharge(charge_size);
    return e;
  };
  auto *hdr = static_cast<ObjectHeader *>(r.base);
  hdr->version = kObjectVersion;
  hdr->kind = kind;
  hdr->owner_uid = getuid();
  hdr->region_size = region;
  hdr->data_offset = kHeaderSize;
  hdr->data_size = data_size;
  hdr->committed = round_up(commit_size, kPageSize);
  hdr->charged_bytes = charge_size;
  hdr->create_time_ns = now_boottime_ns();
  hdr->next_handle.store(1);

  obj->hdr = hdr;
  obj->mapped_len = region;
  obj->internal_fd = r.fd;
  obj->dev = store_dev();
  obj->ino = r.ino;
  obj->kind = kind;
  err = init(*obj);
  if (err) return fail(err, false);
  if (kind == ObjectKind::kMap && obj->map.ops && obj->map.ops->attach) {
    err = obj->map.ops->attach(obj->map);
    if (err) return fail(err, false);
  }
  hdr->magic = kObjectMagic;
  const bool attached = kind == ObjectKind::kMap;

  // Publish: an id, a name in the store, and the first handle — under the
  // store lock, so nobody sees the object without its handle.
  int user_fd;
  uint64_t hid = 0;
  {
    StoreLock lock;
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", r.fd);
    std::string path;
    for (;;) {
      uint32_t id = allocate_id(kind);
      path = object_path(kind, id);
      err = linkat(AT_FDCWD, proc, AT_FDCWD, path.c_str(), AT_SYMLINK_FOLLOW) == 0 ? 0 : -errno;
      if (err != -EEXIST) {
        hdr->id = id;
        obj->id = id;
        obj->map.id = id;
        break;
      }
    }
    if (err) return fail(err, attached);
    user_fd = first_handle(path, hdr, mode, &hid);
    if (user_fd < 0) {
      unlink(path.c_str());
      return fail(user_fd, attached);
    }
  }
  std::lock_guard<std::mutex> g(registry_mu);
  obj->local_refs.store(1);
  objects_by_ino()[r.ino] = obj;
  install_locked(user_fd, obj, hid, mode);
  return user_fd;
}

namespace {
// Open a handle on the file at path. Caller holds the StoreLock.
int open_handle_locked(const std::string &path, uint32_t mode, ObjectKind *kind_out, bool by_id) {
  int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return -ENOENT;
    return by_id ? -ENOENT : -errno;
  }
  struct stat sb;
  ObjectHeader probe;
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_dev != store_dev() ||
      pread(fd, &probe, sizeof(probe), 0) != static_cast<ssize_t>(sizeof(probe)) ||
      probe.magic != kObjectMagic) {
    raw_close(fd);
    return by_id ? -ENOENT : -EACCES;
  }
  std::lock_guard<std::mutex> g(registry_mu);
  Object *obj = nullptr;
  int err = get_object_locked(fd, sb, &obj);
  if (err) {
    raw_close(fd);
    return by_id ? -ENOENT : err;
  }
  if (obj->hdr->dead.load() || (by_id && !object_alive(obj->internal_fd, obj->hdr))) {
    raw_close(fd);
    registry_mu.unlock();
    put_object(obj);
    registry_mu.lock();
    return -ENOENT;
  }
  uint64_t hid = 0;
  err = make_handle(fd, obj->hdr, mode, &hid);
  if (err) {
    raw_close(fd);
    registry_mu.unlock();
    put_object(obj);
    registry_mu.lock();
    return err;
  }
  if (kind_out) *kind_out = obj->kind;
  install_locked(fd, obj, hid, mode);
  return fd;
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
  Object *obj = nullptr;
  if (fstat(fd, &sb) == 0 && sb.st_dev == store_dev()) {
    std::lock_guard<std::mutex> g(registry_mu);
    if (get_object_locked(fd, sb, &obj) != 0) obj = nullptr;
  }
  raw_close(fd);
  if (obj && (obj->kind != kind || obj->hdr->dead.load())) {
    put_object(obj);
    obj = nullptr;
  }
  return obj;
}

void object_view_put(Object *obj) { put_object(obj); }

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

void writer_lock(Object *obj, bool take) {
  struct flock fl = {};
  fl.l_type = take ? F_RDLCK : F_UNLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = kMmapWriterLockByte;
  fl.l_len = 1;
  fcntl(obj->internal_fd, F_OFD_SETLK, &fl);
}
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

bool handle_has_writable_mmaps(const Object &obj) {
  struct flock fl = {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = kMmapWriterLockByte;
  fl.l_len = 1;
  // Our internal description would not see its own lock: ask with a fresh one.
  int fd = open(object_path(obj.kind, obj.id).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool held = fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
  raw_close(fd);
  return held;
}

} // namespace userbpf
