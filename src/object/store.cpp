#include "object/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <linux/fs.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/xattr.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "maps/prog_array.h"
#include "object/handle.h"

namespace userbpf {
namespace {

// Shared counters of one store (one pin root = one "kernel").
struct StoreState {
  uint64_t magic;
  std::atomic<uint32_t> next_id[8];        // indexed by ObjectKind
  std::atomic<uint64_t> memlock_bytes;     // charged to RLIMIT_MEMLOCK
  // The highest id of each kind published so far (a state file from before
  // this field reads 0): see note_published().
  std::atomic<uint32_t> published_max[8];
  // StoreLock's mutex, set up by the first process that finds lock_magic
  // not set (a state file from before these fields).
  uint64_t lock_magic;
  pthread_mutex_t lock;
};
constexpr uint64_t kStateMagic = 0x5354415445425055ull;
constexpr uint64_t kLockMagic = 0x4b434f4c5846504bull;

int mkdir_p(const std::string &path, mode_t mode) {
  std::string cur;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    cur = path.substr(0, pos);
    if (cur.empty()) continue;
    if (mkdir(cur.c_str(), mode) != 0 && errno != EEXIST) return -errno;
  }
  return 0;
}

std::string compute_root() {
  if (const char *fs = getenv("USERBPF_FS"); fs && *fs) return fs;
  if (const char *xdg = getenv("XDG_RUNTIME_DIR"); xdg && *xdg) return std::string(xdg) + "/userbpf";
  return "/dev/shm/userbpf-" + std::to_string(getuid());
}

struct Store {
  std::string root, dir, objdir;
  StoreState *state = nullptr;
};

Store &store() {
  static Store *s = [] {
    auto *st = new Store;
    st->root = compute_root();
    while (st->root.size() > 1 && st->root.back() == '/') st->root.pop_back();
    st->dir = st->root + "/.userbpf";
    st->objdir = st->dir + "/obj";
    // The directories exist after the first process (one stat, not a
    // mkdir of every component of both paths).
    struct stat dir_sb;
    if (stat(st->objdir.c_str(), &dir_sb) != 0 || !S_ISDIR(dir_sb.st_mode)) {
      mkdir_p(st->root, 0700);
      mkdir_p(st->objdir, 0700);
    }
    std::string state_path = st->dir + "/state";
    int fd = open(state_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) {
      // The offset is syscall()'s 7th argument, passed on the stack: it must
      // be a full 64-bit off_t (an int 0 leaves the upper half undefined, and
      // clang builds then mapped at a garbage offset and died of SIGBUS).
      auto map_state = [&] {
        long r = syscall(SYS_mmap, nullptr, kPageSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off_t{0});
        return r == -1 ? nullptr : reinterpret_cast<StoreState *>(r);
      };
      // Set up already (both magics written, last, under the flock below):
      // nothing to do but map it.
      struct stat sb;
      if (fstat(fd, &sb) == 0 && sb.st_size >= static_cast<off_t>(kPageSize)) {
        StoreState *ready = map_state();
        if (ready && __atomic_load_n(&ready->lock_magic, __ATOMIC_ACQUIRE) == kLockMagic && ready->magic == kStateMagic) {
          st->state = ready;
          syscall(SYS_close, fd);
          return st;
        }
        if (ready) syscall(SYS_munmap, ready, kPageSize);
      }
      // Size and set it up under a flock() of its own, so two first users do
      // not race.
      flock(fd, LOCK_EX);
      if (fstat(fd, &sb) == 0 && sb.st_size < static_cast<off_t>(kPageSize)) {
        if (ftruncate(fd, kPageSize) != 0) { /* mapping below fails cleanly */ }
      }
      if (StoreState *p = map_state()) {
        st->state = p;
        if (st->state->magic != kStateMagic) {
          for (auto &n : st->state->next_id) n.store(1);
          st->state->memlock_bytes.store(0);
          st->state->magic = kStateMagic;
        }
        if (st->state->lock_magic != kLockMagic) {
          pthread_mutexattr_t attr;
          pthread_mutexattr_init(&attr);
          pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
          pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
          pthread_mutex_init(&st->state->lock, &attr);
          pthread_mutexattr_destroy(&attr);
          __atomic_store_n(&st->state->lock_magic, kLockMagic, __ATOMIC_RELEASE);
        }
      }
      flock(fd, LOCK_UN);
      syscall(SYS_close, fd);
    }
    return st;
  }();
  return *s;
}

const char *kind_name(ObjectKind kind) {
  switch (kind) {
    case ObjectKind::kMap: return "map";
    case ObjectKind::kProg: return "prog";
    case ObjectKind::kLink: return "link";
    case ObjectKind::kBtf: return "btf";
  }
  return "obj";
}

bool handles_held(int fd) {
  // To "infinity": every handle's byte. Cannot tell: keep it.
  return ofd_lock_held(fd, kHandleLockBase, 0) != 0;
}

} // namespace

int ofd_lock_byte(int fd, short type, off_t byte) {
  struct flock fl = {};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = byte;
  fl.l_len = 1;
  return fcntl(fd, F_OFD_SETLK, &fl);
}

int ofd_lock_held(int fd, off_t start, off_t len) {
  struct flock fl = {};
  fl.l_type = F_WRLCK; // conflicts with any lock
  fl.l_whence = SEEK_SET;
  fl.l_start = start;
  fl.l_len = len;
  if (fcntl(fd, F_OFD_GETLK, &fl) != 0) return -1;
  return fl.l_type != F_UNLCK ? 1 : 0;
}

const std::string &fs_root() { return store().root; }
const std::string &store_dir() { return store().dir; }

std::string object_path(ObjectKind kind, uint32_t id) {
  return store().objdir + "/" + kind_name(kind) + "-" + std::to_string(id);
}

// A mutex in shared memory rather than a flock() on a lock file: no system
// call when nobody else holds it (a flock() pair cost 1.2 us, several times
// in every command), and a fork() child is excluded too (it shared its
// parent's description of the lock file, and flock() excludes only other
// descriptions). Without the shared state (no store), only this process's
// threads are ordered.
static std::mutex store_mutex_fallback;
static thread_local int store_lock_depth = 0;

StoreLock::StoreLock() {
  if (store_lock_depth++ > 0) return;
  StoreState *st = store().state;
  if (!st) {
    store_mutex_fallback.lock();
    return;
  }
  // Its last holder died holding it: what it was doing is left as any dead
  // process's objects are (collected by the judgements), and it is ours.
  if (pthread_mutex_lock(&st->lock) == EOWNERDEAD) pthread_mutex_consistent(&st->lock);
}
StoreLock::~StoreLock() {
  if (--store_lock_depth > 0) return;
  StoreState *st = store().state;
  if (!st) {
    store_mutex_fallback.unlock();
    return;
  }
  pthread_mutex_unlock(&st->lock);
}

int resolve_pin_path(const char *user_path, std::string *real) {
  if (!user_path || !*user_path) return -ENOENT;
  std::string p = user_path;
  static const std::string bpffs = "/sys/fs/bpf";
  const std::string &root = fs_root();
  if (p[0] != '/') {
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof(cwd))) return -errno;
    p = std::string(cwd) + "/" + p;
  }
  // Normalise "." and ".." and repeated slashes lexically.
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string::npos) j = p.size();
    std::string part = p.substr(i, j - i);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    i = j + 1;
  }
  std::string norm;
  for (auto &part : parts) norm += "/" + part;
  if (norm.empty()) norm = "/";
  auto under = [&](const std::string &base) {
    return norm == base || (norm.size() > base.size() && norm.compare(0, base.size(), base) == 0 &&
                            norm[base.size()] == '/');
  };
  std::string rel;
  if (under(root)) {
    rel = norm.substr(root.size());
  } else if (under(bpffs)) {
    rel = norm.substr(bpffs.size());
  } else {
    return -EPERM; // not on a bpffs
  }
  if (rel == "/.userbpf" || rel.rfind("/.userbpf/", 0) == 0) return -EPERM;
  *real = root + rel;
  return 0;
}

namespace {
// The next candidate id of a kind (cyclic in [1, INT_MAX)).
uint32_t allocate_id(ObjectKind kind) {
  auto &counter = store().state->next_id[static_cast<unsigned>(kind) & 7];
  uint32_t id = counter.fetch_add(1);
  if (id == 0 || id >= INT_MAX) {
    counter.store(2);
    store().state->published_max[static_cast<unsigned>(kind) & 7].store(0); // wrapped: ids start again
    id = 1;
  }
  return id;
}
} // namespace

bool note_published(ObjectKind kind, uint32_t id) {
  if (!store().state) return false;
  auto &max = store().state->published_max[static_cast<unsigned>(kind) & 7];
  uint32_t seen = max.load();
  while (seen < id)
    if (max.compare_exchange_weak(seen, id)) return true;
  return false;
}

namespace {
// Give a new object of `kind` its name: make_name(path) creates it (or renames
// a file to it) under each fresh id until one is free (a name left by a live
// object from before the counter wrapped makes it take the next). Returns
// make_name's result (>= 0), or -errno.
template <typename MakeName> int claim_fresh_name(ObjectKind kind, uint32_t *id_out, std::string *path_out,
                                                  MakeName make_name) {
  if (!store().state) return -ENOMEM;
  for (;;) {
    uint32_t id = allocate_id(kind);
    std::string path = object_path(kind, id);
    const int r = make_name(path.c_str());
    if (r >= 0) {
      *id_out = id;
      *path_out = std::move(path);
      return r;
    }
    if (errno != EEXIST) return -errno;
  }
}
} // namespace

int object_file_create(ObjectKind kind, uint32_t *id_out, std::string *path_out) {
  const int r = claim_fresh_name(kind, id_out, path_out, [](const char *path) {
    return open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  });
  return r == -ENOSPC ? -ENOMEM : r;
}

int object_file_make_ahead(ObjectKind kind, uint32_t *id_out, std::string *path_out) {
  return claim_fresh_name(kind, id_out, path_out, [](const char *path) { return mknod(path, S_IFREG | 0600, 0); });
}

int object_file_rename_in(ObjectKind kind, const std::string &spare_path, uint32_t *id_out, std::string *path_out) {
  return claim_fresh_name(kind, id_out, path_out, [&](const char *path) {
    return static_cast<int>(syscall(SYS_renameat2, AT_FDCWD, spare_path.c_str(), AT_FDCWD, path, RENAME_NOREPLACE));
  });
}

namespace {
// The whole region of an object kept in kRegionXattr (in a per-thread
// buffer, valid until the thread's next call), and its size; or nullptr.
constexpr size_t kXattrFirstTry = 4096;
const uint8_t *xattr_region(int fd, size_t *size) {
  thread_local std::unique_ptr<uint8_t[]> buf;
  if (!buf) buf.reset(new uint8_t[kXattrRegionMax]);
  // The kernel allocates and zeroes as many bytes as are asked for (32 KiB:
  // a fifth of a small program's close): a page first, all of it only for a
  // region that needs it.
  ssize_t n = fgetxattr(fd, kRegionXattr, buf.get(), kXattrFirstTry);
  if (n < 0 && errno == ERANGE) n = fgetxattr(fd, kRegionXattr, buf.get(), kXattrRegionMax);
  if (n < 0) return nullptr;
  *size = static_cast<size_t>(n);
  return buf.get();
}
} // namespace

int region_read(int fd, const ObjectHeader &hdr, void *out, size_t len, size_t off) {
  if (!hdr.region_in_xattr)
    return pread(fd, out, len, static_cast<off_t>(off)) == static_cast<ssize_t>(len) ? 0 : -EIO;
  size_t size = 0;
  const uint8_t *region = xattr_region(fd, &size);
  if (!region || off > size || len > size - off) return -EIO;
  memcpy(out, region + off, len);
  return 0;
}

bool header_read(int fd, ObjectHeader *out, const struct stat *sb) {
  // A region in the file's data is at least a header long; a file shorter
  // than that keeps its region in the attribute (or is not published yet).
  if (!sb || sb->st_size >= static_cast<off_t>(sizeof(*out))) {
    ssize_t r = pread(fd, out, sizeof(*out), 0);
    if (r == static_cast<ssize_t>(sizeof(*out)) && out->magic == kObjectMagic && !out->region_in_xattr)
      return out->version == kObjectVersion;
  }
  size_t size = 0;
  const uint8_t *region = xattr_region(fd, &size);
  if (!region || size < sizeof(*out)) return false;
  memcpy(static_cast<void *>(out), region, sizeof(*out));
  if (out->magic != kObjectMagic || out->version != kObjectVersion || !out->region_in_xattr) return false;
  struct stat own;
  if (!sb) {
    if (fstat(fd, &own) != 0) return false;
    sb = &own;
  }
  out->refs.store(static_cast<uint32_t>(sb->st_size)); // see kRegionXattr
  return true;
}

namespace {
// One field of the header to write: offset and bytes.
struct HeaderPatch {
  size_t offset;
  const void *bytes;
  size_t len;
};

// Write fields of the header, in order: to the file's data, or, for a region
// kept in the attribute, in one read-modify-write of the attribute (the
// caller holds the store lock).
int header_write(int fd, const ObjectHeader &hdr, const HeaderPatch *patches, size_t n) {
  if (!hdr.region_in_xattr) {
    for (size_t i = 0; i < n; i++)
      if (pwrite(fd, patches[i].bytes, patches[i].len, static_cast<off_t>(patches[i].offset)) !=
          static_cast<ssize_t>(patches[i].len))
        return -EIO;
    return 0;
  }
  size_t size = 0;
  uint8_t *region = const_cast<uint8_t *>(xattr_region(fd, &size));
  if (!region) return -EIO;
  for (size_t i = 0; i < n; i++) {
    if (size < patches[i].offset + patches[i].len) return -EIO;
    memcpy(region + patches[i].offset, patches[i].bytes, patches[i].len);
  }
  return fsetxattr(fd, kRegionXattr, region, size, XATTR_REPLACE) == 0 ? 0 : -EIO;
}

template <typename T> int header_store(int fd, const ObjectHeader &hdr, size_t offset, T value) {
  const HeaderPatch patch{offset, &value, sizeof(value)};
  return header_write(fd, hdr, &patch, 1);
}
} // namespace

int header_store_refs(int fd, const ObjectHeader &hdr, uint32_t refs) {
  if (hdr.region_in_xattr) return ftruncate(fd, static_cast<off_t>(refs)) == 0 ? 0 : -EIO; // see kRegionXattr
  return header_store(fd, hdr, offsetof(ObjectHeader, refs), refs);
}
int header_store_next_handle(int fd, const ObjectHeader &hdr, uint64_t next_handle) {
  return header_store(fd, hdr, offsetof(ObjectHeader, next_handle), next_handle);
}
int header_store_prog_map(int fd, const ObjectHeader &hdr, uint32_t slot, uint32_t map_id) {
  if (slot >= kMaxUsedMaps) return -E2BIG;
  const size_t prog = offsetof(ObjectHeader, prog);
  const uint32_t count = slot + 1;
  // The id before the count (see store.h), in one write of the attribute.
  const HeaderPatch patches[2] = {
      {prog + offsetof(ProgHeader, map_ids) + slot * sizeof(uint32_t), &map_id, sizeof(map_id)},
      {prog + offsetof(ProgHeader, nr_map_ids), &count, sizeof(count)}};
  return header_write(fd, hdr, patches, 2);
}

uint64_t max_region_bytes() {
  // The machine's RAM does not change while we run: ask once.
  static const uint64_t ram = [] {
    struct sysinfo si;
    if (sysinfo(&si) != 0) return UINT64_MAX;
    return static_cast<uint64_t>(si.totalram) * si.mem_unit;
  }();
  return ram;
}

namespace {
// The limit maps are charged against: RLIMIT_MEMLOCK, as the kernel, unless
// USERBPF_MEMLOCK_LIMIT (bytes, or "unlimited") replaces it — for hosts where
// the hard limit cannot be raised (no CAP_SYS_RESOURCE) and so libbpf's own
// bump to infinity fails.
uint64_t memlock_limit() {
  if (const char *env = getenv("USERBPF_MEMLOCK_LIMIT"); env && *env) {
    if (strcmp(env, "unlimited") == 0 || strcmp(env, "infinity") == 0) return UINT64_MAX;
    char *end = nullptr;
    unsigned long long v = strtoull(env, &end, 0);
    if (end && *end == '\0') return v;
  }
  struct rlimit rl;
  if (getrlimit(RLIMIT_MEMLOCK, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return UINT64_MAX;
  return rl.rlim_cur;
}

bool memlock_try(uint64_t bytes) {
  uint64_t limit = memlock_limit();
  StoreState *st = store().state;
  uint64_t pages = (bytes + kPageSize - 1) / kPageSize;
  uint64_t total = st->memlock_bytes.fetch_add(pages * kPageSize) + pages * kPageSize;
  if (limit == UINT64_MAX) return true;
  if (total / kPageSize > limit / kPageSize) {
    st->memlock_bytes.fetch_sub(pages * kPageSize);
    return false;
  }
  return true;
}
} // namespace

int memlock_charge(uint64_t bytes) {
  if (!store().state) return -ENOMEM;
  if (memlock_try(bytes)) return 0;
  // Objects of processes that exited without closing are only released when
  // someone looks: look now, then try again.
  live_ids(ObjectKind::kMap);
  live_ids(ObjectKind::kProg);
  return memlock_try(bytes) ? 0 : -EPERM;
}

void memlock_uncharge(uint64_t bytes) {
  if (!store().state) return;
  uint64_t pages = (bytes + kPageSize - 1) / kPageSize;
  store().state->memlock_bytes.fetch_sub(pages * kPageSize);
}

bool object_alive(int fd, const struct stat &sb, const ObjectHeader &hdr) {
  if (sb.st_nlink == 0) return false;      // already released
  if (sb.st_nlink > 1) return true;        // pinned
  if (hdr.refs.load() > 0) return true;    // held by another object
  return handles_held(fd);
}

namespace {
thread_local bool t_scanning_referrers = false;
thread_local bool t_clearing_prog_array = false;

// Whether a judgement first looks for dead referrers: every lookup does (by
// id, next id, a failing memlock charge), so that nobody ever sees an object
// that only a dead program still held. A close does not: such an object
// stays until the next lookup or until its referrer is collected, which
// nothing in the ABI can tell apart, and the walk over every program would
// cost each close of a map a program uses.
enum class Referrers { kCollect, kTrust };

// Release the object at `path`, which nothing holds any more. fd: an open
// file description on it; hdr: its header. Caller holds the store lock.
// mapping: the caller's mapping of the shared header, if it has one (a store
// through it is a store to the file, without a system call).
// view: this process's view of the object, if the caller has one (its
// mapping of the shared header takes the store of `dead` without a system
// call; a map made here may keep its file for recycling instead of
// unlinking it).
bool release_locked(const std::string &path, int fd, const ObjectHeader &hdr, Object *view) {
  ObjectHeader *mapping = view && view->mapped_len ? view->hdr : nullptr;
  // Mapped views read `dead`. A region in an attribute is removed instead:
  // every reader then takes the file for absent (header_read fails; a
  // description's holder checks the attribute, object_ref_get), and its
  // name goes on the worker's thread, not in the caller's close (an unlink
  // there waited ~10 us for the directory lock the worker's renames hold).
  if (hdr.region_in_xattr) {
    if (fremovexattr(fd, kRegionXattr) != 0) return false;
    if (!unlink_on_worker(path)) unlink(path.c_str());
  } else {
    if (mapping)
      mapping->dead.store(1);
    else if (header_store(fd, hdr, offsetof(ObjectHeader, dead), uint32_t{1}) != 0)
      return false;
    // Its name goes now: kept for recycling, or unlinked.
    if (!(view && keep_file_for_recycling(*view, path)) && unlink(path.c_str()) != 0) return false;
  }
  memlock_uncharge(hdr.charged_bytes);
  // A released program drops its references on its maps (the kernel's
  // bpf_prog_put -> free_used_maps), which may release them in turn.
  if (hdr.kind == ObjectKind::kProg) {
    uint32_t n = std::min(hdr.prog.nr_map_ids, kMaxUsedMaps);
    for (uint32_t i = 0; i < n; i++) object_ref_put(ObjectKind::kMap, hdr.prog.map_ids[i]);
    if (hdr.prog.btf_id) object_ref_put(ObjectKind::kBtf, hdr.prog.btf_id);
  }
  // A released map drops its BTF (the kernel's btf_put(map->btf)).
  if (hdr.kind == ObjectKind::kMap && hdr.map.btf_id) object_ref_put(ObjectKind::kBtf, hdr.map.btf_id);
  return true;
}

// For an object with no pin and no handle (fd, hdr: as above), drop what
// other objects hold on it only because nobody looked yet. Returns true if
// its references may have changed. Caller holds the store lock.
//  - Its referrers may be programs whose last handle went away unseen (exit,
//    a close in another process): collect dead programs (and, for BTF, maps).
//  - A program array whose last user is gone is emptied, its programs'
//    references dropped (the kernel's prog_array_map_clear on usercnt 0), even
//    while programs still hold the array: that breaks the cycle of a program
//    tail-calling through an array that holds it.
bool drop_unused_references_locked(ObjectKind kind, uint32_t id, int fd, const ObjectHeader &hdr,
                                   Referrers referrers) {
  bool changed = false;
  if (referrers == Referrers::kCollect && hdr.refs.load() > 0 &&
      (kind == ObjectKind::kMap || kind == ObjectKind::kBtf) && !t_scanning_referrers) {
    t_scanning_referrers = true;
    live_ids(ObjectKind::kProg);
    if (kind == ObjectKind::kBtf) live_ids(ObjectKind::kMap); // maps hold BTF too
    t_scanning_referrers = false;
    changed = true;
  }
  if (kind == ObjectKind::kMap && hdr.map.map_type == BPF_MAP_TYPE_PROG_ARRAY && !t_clearing_prog_array) {
    // Any program in it? (Slots follow the family's 16-byte header.)
    std::vector<uint32_t> ids(hdr.map.max_entries);
    ssize_t want = static_cast<ssize_t>(ids.size() * sizeof(uint32_t));
    if (pread(fd, ids.data(), static_cast<size_t>(want), static_cast<off_t>(hdr.data_offset + 16)) == want &&
        std::any_of(ids.begin(), ids.end(), [](uint32_t v) { return v != 0; })) {
      t_clearing_prog_array = true;
      if (Object *view = object_view_by_id(kind, id)) {
        prog_array_clear(view->map);
        object_view_put(view);
      }
      t_clearing_prog_array = false;
      changed = true;
    }
  }
  return changed;
}

// A file whose creator died before publishing it (no magic, no handle, not
// written to for a while) is removed; younger ones may still be being made.
// A spare (released, pooled or named ahead: zeroed but for `dead`) is its
// owner's while the owner lock is held, and garbage at once after: no file
// being made is marked dead.
constexpr time_t kUnpublishedGraceSeconds = 10;
void remove_if_abandoned_locked(const std::string &path, int fd, const struct stat &sb) {
  if (sb.st_nlink != 1 || handles_held(fd)) return;
  uint32_t dead = 0;
  constexpr off_t dead_at = offsetof(ObjectHeader, dead);
  const bool spare = sb.st_size >= dead_at + static_cast<off_t>(sizeof(dead)) &&
                     pread(fd, &dead, sizeof(dead), dead_at) == static_cast<ssize_t>(sizeof(dead)) && dead != 0;
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  if ((spare || now.tv_sec - sb.st_mtim.tv_sec >= kUnpublishedGraceSeconds) &&
      ofd_lock_held(fd, kSpareOwnerLockByte, 1) == 0)
    unlink(path.c_str());
}

enum class Verdict { kAlive, kReleased, kAbsent };

// Judge the object (kind, id) through fd, a description on its file that
// holds no handle lock: released now, alive, or absent (not yet published).
// known_sb, known_hdr: fd's fstat and header if the caller read them under
// the store lock it still holds (else they are read here); view: this
// process's view of the object, if the caller has one (release_locked).
// Caller holds the store lock.
Verdict judge_fd_locked(ObjectKind kind, uint32_t id, const std::string &path, int fd,
                        Referrers referrers = Referrers::kCollect, const struct stat *known_sb = nullptr,
                        const ObjectHeader *known_hdr = nullptr, Object *view = nullptr) {
  struct stat sb;
  if (known_sb)
    sb = *known_sb;
  else if (fstat(fd, &sb) != 0)
    return Verdict::kAlive; // cannot tell: keep it
  if (sb.st_nlink == 0) return Verdict::kAbsent; // released already
  ObjectHeader hdr;
  if (known_hdr) {
    memcpy(static_cast<void *>(&hdr), known_hdr, sizeof(hdr));
  } else if (!header_read(fd, &hdr, &sb)) {
    remove_if_abandoned_locked(path, fd, sb);
    return Verdict::kAbsent;
  }
  if (hdr.dead) {
    // Released, its file kept under its name by its owner for recycling
    // (keep_file_for_recycling); if the owner died, nobody's.
    if (sb.st_nlink == 1 && ofd_lock_held(fd, kSpareOwnerLockByte, 1) == 0) unlink(path.c_str());
    return Verdict::kAbsent;
  }
  if (sb.st_nlink > 1) return Verdict::kAlive; // pinned
  // Held by another object, which we trust to be alive: no need to ask
  // about handles (a program array is still emptied below once its last
  // handle is gone).
  if (referrers == Referrers::kTrust && hdr.refs.load() > 0 &&
      !(kind == ObjectKind::kMap && hdr.map.map_type == BPF_MAP_TYPE_PROG_ARRAY))
    return Verdict::kAlive;
  if (handles_held(fd)) return Verdict::kAlive; // a handle is open
  if (drop_unused_references_locked(kind, id, fd, hdr, referrers) &&
      (fstat(fd, &sb) != 0 || !header_read(fd, &hdr, &sb)))
    return Verdict::kAlive;
  if (hdr.refs.load() > 0) return Verdict::kAlive; // held by another object
  return release_locked(path, fd, hdr, view) ? Verdict::kReleased : Verdict::kAlive;
}

// The same, by name. Caller holds the store lock.
Verdict judge_locked(ObjectKind kind, uint32_t id, Referrers referrers = Referrers::kCollect) {
  std::string path = object_path(kind, id);
  int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return Verdict::kAbsent;
  Verdict v = judge_fd_locked(kind, id, path, fd, referrers);
  syscall(SYS_close, fd);
  return v;
}
} // namespace

bool collect_if_dead(ObjectKind kind, uint32_t id) {
  StoreLock lock;
  return judge_locked(kind, id) == Verdict::kReleased;
}

bool fd_refers_to(int fd, dev_t dev, ino_t ino) {
  struct stat sb;
  return fstat(fd, &sb) == 0 && sb.st_ino == ino && sb.st_dev == dev;
}

bool collect_view_if_dead_locked(Object &view, int own_fd, const struct stat &own_sb, const ObjectHeader *known_hdr) {
  if (own_fd < 0) return judge_locked(view.kind, view.id, Referrers::kTrust) == Verdict::kReleased;
  return judge_fd_locked(view.kind, view.id, object_path(view.kind, view.id), own_fd, Referrers::kTrust, &own_sb,
                         known_hdr, &view) == Verdict::kReleased;
}

// Dropping a reference trusts the other referrers, as a close does; lookups
// collect the dead ones (drop_unused_references_locked).
void object_ref_put(ObjectKind kind, uint32_t id) {
  StoreLock lock;
  std::string path = object_path(kind, id);
  // Through this process's own description if it has a view (no open).
  Object *view = nullptr;
  struct stat sb;
  int fd = local_view_fd(kind, id, &view, &sb);
  const bool own = fd >= 0;
  if (!own) {
    fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd >= 0 && fstat(fd, &sb) != 0) {
      syscall(SYS_close, fd);
      fd = -1;
    }
  }
  // The header as the view knows it (no read: a dropped BTF reference is
  // one ftruncate; a map's is a store to its mapping), else as the file has it.
  ObjectHeader hdr, scratch;
  const ObjectHeader *known = own ? view_current_header(*view, sb, &scratch) : nullptr;
  ObjectHeader *mapping = own && view->mapped_len ? view->hdr : nullptr;
  bool have_hdr = false;
  if (known) {
    memcpy(static_cast<void *>(&hdr), known, sizeof(hdr));
    have_hdr = true;
  } else if (fd >= 0) {
    have_hdr = header_read(fd, &hdr, &sb);
  }
  if (have_hdr) {
    const uint32_t refs = hdr.refs.load();
    if (refs > 0 && mapping) {
      mapping->refs.store(refs - 1); // every change of refs is made under the store lock
      hdr.refs.store(refs - 1);
    } else if (refs > 0 && header_store_refs(fd, hdr, refs - 1) == 0) {
      hdr.refs.store(refs - 1);
      if (hdr.region_in_xattr) sb.st_size = refs - 1;
    }
    judge_fd_locked(kind, id, path, fd, Referrers::kTrust, &sb, &hdr, own ? view : nullptr);
  }
  if (fd >= 0 && !own) syscall(SYS_close, fd);
  if (view) object_view_put(view);
}

std::vector<uint32_t> live_ids(ObjectKind kind) {
  // Maps: collect dead programs once up front (their references may be all
  // that keeps a map), rather than once per map held only by references.
  if (kind == ObjectKind::kMap && !t_scanning_referrers) {
    t_scanning_referrers = true;
    live_ids(ObjectKind::kProg);
    std::vector<uint32_t> maps = live_ids(ObjectKind::kMap);
    t_scanning_referrers = false;
    return maps;
  }
  std::vector<uint32_t> ids;
  // Spare files (handle.cpp "Recycling") are under objects' names: a dead
  // process's are collected by the judgement below as any released or
  // unpublished file.
  std::string prefix = std::string(kind_name(kind)) + "-";
  DIR *d = opendir(store().objdir.c_str());
  if (!d) return ids;
  while (struct dirent *e = readdir(d)) {
    if (strncmp(e->d_name, prefix.c_str(), prefix.size()) != 0) continue;
    char *end = nullptr;
    unsigned long id = strtoul(e->d_name + prefix.size(), &end, 10);
    if (!end || *end || id == 0 || id >= INT_MAX) continue;
    if (is_own_made_ahead(kind, static_cast<uint32_t>(id))) continue; // not an object (yet)
    ids.push_back(static_cast<uint32_t>(id));
  }
  closedir(d);
  std::sort(ids.begin(), ids.end());
  std::vector<uint32_t> alive;
  StoreLock lock;
  for (uint32_t id : ids)
    if (judge_locked(kind, id) == Verdict::kAlive) alive.push_back(id);
  return alive;
}

} // namespace userbpf

extern "C" __attribute__((visibility("default"))) const char *userbpf_fs_root(void) {
  return userbpf::fs_root().c_str();
}

extern "C" __attribute__((visibility("default"))) int userbpf_pin_path(const char *bpffs_path, char *buf,
                                                                     size_t len) {
  std::string real;
  int err = userbpf::resolve_pin_path(bpffs_path, &real);
  if (err) {
    errno = -err;
    return -1;
  }
  if (!buf || len <= real.size()) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(buf, real.c_str(), real.size() + 1);
  return 0;
}
