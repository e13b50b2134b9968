// Handles: the fds user space holds on userbpf objects, and this process's
// view of the objects behind them.
//
// Every handle is a real fd on the object's file in the store, with its own
// open file description (the kernel's struct file). How its last close is seen,
// whoever closes it: the handle's open file description holds an OFD lock on
// its own byte (kHandleLockBase + handle id). The kernel drops that lock when
// the description's last fd goes — by close(), by exit, in a process that got
// it by fork or SCM_RIGHTS — so any process can test whether a handle, or any
// handle of an object, is still open (F_OFD_GETLK). We chose this over a peer
// that watches for hang-up because it needs no helper process or thread and
// is exact across processes; see docs/DESIGN-NOTES.md.
//
// Finding the object behind an fd must cost no system call (a map lookup
// through userbpf_bpf() takes a few ns), so each process keeps an fd table.
// To keep it true, libuserbpf interposes close(), dup2(), dup3() and
// close_range() (and mmap()/munmap(), to give map fds the kernel's mmap
// semantics). An fd the table does not know (received by SCM_RIGHTS,
// inherited through exec, made by dup()) is identified on first use: the
// file's header says which object it is, and the file offset of the open file
// description says which handle (id << 8 | mode).
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "maps/map.h"
#include "object/object.h"

namespace userbpf {

// This process's view of one object: its region mapped here (maps, BTF), or a
// private copy of it (programs: see kind_is_mapped()). In a
// copy, the header's shared counters (refs, dead, next_handle) are stale:
// they live in the file (store.h).
struct Object {
  std::atomic<int> local_refs{0}; // fd-table entries and internal holders in this process
  ObjectHeader *hdr = nullptr;
  size_t mapped_len = 0;          // 0: hdr is a private copy (malloc)
  int internal_fd = -1;           // our own open file description (no handle lock); -1 until
                                  // needed for a copied object this process created
  dev_t dev = 0;
  ino_t ino = 0;
  ObjectKind kind = ObjectKind::kMap;
  uint32_t id = 0;
  Map map;                        // kind == kMap

  std::mutex mmap_mu;             // writable mmaps of this object in this process
  int writable_mmaps = 0;

  // kind == kProg: this process's runnable form of the program, built on
  // first use by src/prog (prog_runtime()) and freed with the view.
  std::mutex runtime_mu;
  void *prog_runtime = nullptr;
  void (*prog_runtime_free)(void *) = nullptr;

  // Views this view keeps until it is freed (a program's maps, from its
  // load): their release by the program's finds them here, without opening
  // their files again. Set before the object is published, then grown only
  // by BPF_PROG_BIND_MAP (under the StoreLock, while a handle keeps the view).
  std::vector<Object *> held_views;

  // Recycling (handle.cpp): this view is the one its creator made with the
  // object (object_create; cleared for every view at fork), and, once the
  // release kept the file as a spare, the spare's path.
  bool made_here = false;
  std::string spare_path;
  bool spare_owner_locked = false; // internal_fd holds the spare owner lock
  uint32_t spare_generation = 0;   // the process generation that made the spare (a fork's child is a new one)
};

struct Handle {
  Object *obj;
  uint64_t handle_id;
  uint32_t mode; // kModeRead | kModeWrite
};

// The handle behind fd, or nullptr with *err = -EBADF (not an open fd) or
// -EINVAL (not a userbpf object). Call inside an RcuReadGuard: the returned
// handle stays valid until the guard ends, even if another thread closes fd.
const Handle *handle_get(int fd, int *err);

// Where a mapped object's data area starts: right after the header (cache-line
// aligned, in page 0), or on its own pages (page-aligned: a map whose data
// users mmap()). Objects only partly backed at creation always get their own
// pages; copied objects (programs, BTF) ignore it.
enum class DataPlacement { kAfterHeader, kOwnPages };

// Create an object of `kind` whose data area is data_size bytes (commit_size
// of them backed by memory now), charging charge_size to RLIMIT_MEMLOCK.
// `init` fills in the header's kind-specific part and formats the data area;
// it sees the new Object (mapped, id not yet assigned). Returns the first
// handle's fd (with `mode`), or -errno.
int object_create(ObjectKind kind, uint64_t data_size, uint64_t commit_size, uint64_t charge_size,
                  DataPlacement placement, uint32_t mode, const std::function<int(Object &)> &init);

// A new handle (new open file description) on an existing object, by id or by
// a path in the store/pin tree. Returns fd or -errno (-ENOENT if gone,
// -EACCES if the path is not a userbpf object).
int handle_open_id(ObjectKind kind, uint32_t id, uint32_t mode);
int handle_open_path(const std::string &real_path, uint32_t mode, ObjectKind *kind_out);

// This process's view of the live object (kind, id), with one more local
// reference (drop it with object_view_put), without making a handle: what a
// program's run-time side uses to reach the maps it names by id. nullptr if
// the object is gone.
Object *object_view_by_id(ObjectKind kind, uint32_t id);
void object_view_put(Object *obj);

// Called under the StoreLock: this process's own description (no handle
// lock) on the object (kind, id), if this process has a view of it, else -1;
// *view is that view with one more local reference (object_view_put it), or
// nullptr. *sb: that description's fstat.
int local_view_fd(ObjectKind kind, uint32_t id, Object **view, struct stat *sb);

// Called under the StoreLock by the release of an object this process has a
// view of: keep its file for this process's next map of the same size
// (kept under its name, marked dead, for "Recycling" in handle.cpp) if it is
// a map made here that no other process ever mapped. Returns true if the
// file was kept, false if the caller must unlink it.
bool keep_file_for_recycling(Object &view, const std::string &path);

// One more local reference on view, if it still has one (false: a close
// racing with the caller dropped its last; the caller then treats the fd as
// closed). Dropped with object_view_put(). Call inside an RcuReadGuard.
bool object_view_get(Object &view);

// A local reference on a view (object_view_get or object_view_by_id),
// dropped with its holder.
class ViewRef {
 public:
  ViewRef() = default;
  explicit ViewRef(Object *view) : view_(view) {}
  ViewRef(ViewRef &&other) noexcept : view_(other.view_) { other.view_ = nullptr; }
  ViewRef &operator=(ViewRef &&other) noexcept {
    if (this != &other) {
      reset();
      view_ = other.view_;
      other.view_ = nullptr;
    }
    return *this;
  }
  ViewRef(const ViewRef &) = delete;
  ViewRef &operator=(const ViewRef &) = delete;
  ~ViewRef() { reset(); }
  Object *get() const { return view_; }
  Object *operator->() const { return view_; }

 private:
  void reset() {
    if (view_) object_view_put(view_);
    view_ = nullptr;
  }
  Object *view_ = nullptr;
};

// holder keeps view (one more local reference) until holder's view is freed,
// unless a close racing with the caller already dropped the view's last one.
// Call while view is kept alive (inside an RcuReadGuard, or holding a local
// reference: object_view_get), before holder is published (or under the
// StoreLock while holding a handle on holder: BPF_PROG_BIND_MAP).
void object_view_hold(Object &holder, Object &view);

// The object's header as the store has it now, known without reading the
// file where the view can tell: a map's mapping is the shared header itself;
// a BTF object's copy whose region is kept in an attribute differs from the
// store only in refs, which is the file's size (sb: our description's fstat,
// taken under the StoreLock). nullptr where the file must be read (a region
// kept in the file's data; a program, whose map list BPF_PROG_BIND_MAP
// grows). scratch: storage for the answer.
const ObjectHeader *view_current_header(const Object &obj, const struct stat &sb, ObjectHeader *scratch);

// Take a reference on the object for another object (ObjectHeader::refs: a
// program on its maps, a map or program on its BTF, a program array on its
// programs); the caller holds a handle on it. -EBADF if a close racing with
// us released it. Dropped with object_ref_put() (store.h).
int object_ref_get(Object &obj);

// BPF_PROG_BIND_MAP: the program takes a reference on the map (dropped when
// the program is released) and lists it among its used maps. A program's
// header is written once and read as private copies, so the new list goes
// to the file, under the StoreLock: every process sees it from then on.
// 0 also when the program already uses the map; -E2BIG when its kMaxUsedMaps
// slots are full; -EBADF if a close racing with us released either object.
// prog_fd: the caller's handle on the program (its header is read and
// written through it: a handle keeps the program alive, and no lock is
// probed through it).
int prog_bind_map(Object &prog, int prog_fd, Object &map);

// The maps the program uses now (ids, in the order they were added): this
// process's copy of its header may predate a BPF_PROG_BIND_MAP. Returns the
// count.
uint32_t prog_used_maps(Object &prog, uint32_t ids[kMaxUsedMaps]);

// The worker of files made ahead (handle.cpp, "Program files made ahead")
// starts once a process has shown it makes objects again and again:
// kWorkerStartLoads programs loaded, or kWorkerStartSpares spares pooled,
// more than libbpf makes for one object, its probes included. Starting a
// thread costs 25-80 us here (the first of a process the most), more than
// a few loads save with it; until then each program makes its own file and
// unlinks it at release, and a map takes a pooled spare by renaming it in.
constexpr size_t kWorkerStartLoads = 12;
constexpr size_t kWorkerStartSpares = 64;

// Pin: hard-link the object's file at real_path. -EEXIST, -ENOENT as the kernel.
int object_pin(const Handle &h, const std::string &real_path);

// Fill obj.map (the per-process map view) from the shared header.
void map_view_setup(Object &obj);
// Is some process holding a writable mmap of this map (the kernel's writecnt)?
// handle_fd: the fd the caller was given for it (asked first: no open()).
// The caller holds obj.mmap_mu.
bool handle_has_writable_mmaps(const Object &obj, int handle_fd);

// Back more of an object's data area with memory (fallocate). 0 or -ENOMEM.
int object_commit(Object &obj, uint64_t data_offset, uint64_t len);

// mmap() of a handle fd (the interposer calls it). Returns the address or
// MAP_FAILED with errno set, as mmap(2).
void *handle_mmap(const Handle &h, void *addr, size_t len, int prot, int flags, int fd, off_t off);

} // namespace userbpf
