// The object store: where userbpf objects live between processes.
//
// The pin root (DESIGN.md "Pinning") is a directory tree on tmpfs. Inside it,
// the hidden directory .userbpf/ holds:
//   obj/<kind>-<id>  one file per live object: its region (ObjectHeader + data)
//   state            shared counters (next ids, RLIMIT_MEMLOCK charge)
//   lock             flock()ed around every change of object lifetime
// A pin is a hard link to the object's file, so `ls`, `mv` and `rm` on the
// tree act on pins as on bpffs, a pinned object survives every process, and
// st_nlink - 1 is the number of pins.
//
// An object is alive while it has a pin, an open handle (see handle.h: every
// handle holds an OFD lock that the kernel drops with the last close of its
// open file description, whichever process that is in), or a reference from
// another object. Whoever notices first that none is left releases it.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "object/object.h"

namespace userbpf {

struct Object; // a process's view of an object (handle.h)

// Byte ranges of an object's file used as OFD locks (beyond any data).
constexpr off_t kMmapWriterLockByte = (off_t{1} << 40) - 2; // held by processes with writable mmaps
constexpr off_t kHandleLockBase = off_t{1} << 40;           // handle h holds base + h
constexpr off_t kSpareOwnerLockByte = (off_t{1} << 40) - 3; // held by the process a spare file belongs to

// Take (F_RDLCK) or drop (F_UNLCK) fd's open file description's lock on one
// byte of the file: 0 or -1 with errno.
int ofd_lock_byte(int fd, short type, off_t byte);
// Whether another open file description holds a lock on len bytes from
// start (len 0: to the end of every file): 1, 0, or -1 if it cannot tell.
int ofd_lock_held(int fd, off_t start, off_t len);

// Handle mode bits, the kernel's FMODE_CAN_READ / FMODE_CAN_WRITE of the fd.
constexpr uint32_t kModeRead = 1;
constexpr uint32_t kModeWrite = 2;

// A handle's open file description records its id and mode in its file
// offset, which every dup of the fd shares (identify() reads it back).
constexpr uint64_t handle_file_offset(uint64_t handle_id, uint32_t mode) { return (handle_id << 8) | mode; }

const std::string &fs_root();      // the pin root (created 0700 on first use)
const std::string &store_dir();    // <root>/.userbpf
std::string object_path(ObjectKind kind, uint32_t id);

// Map a user path (bpffs-style /sys/fs/bpf/..., a path inside the root, or a
// relative path) to a real path inside the root. -EPERM when outside (the
// kernel's "not a bpffs" answer).
int resolve_pin_path(const char *user_path, std::string *real);

// Exclusive lock over object lifetimes (creation, handles by id/path,
// release), across every process and thread using the store: a robust,
// process-shared mutex in the store's shared state (a holder that dies
// leaves it to the next, as the kernel drops a dead process's flock()).
// It nests within a thread (a release may run while it is held).
class StoreLock {
 public:
  StoreLock();
  ~StoreLock();
  StoreLock(const StoreLock &) = delete;
  StoreLock &operator=(const StoreLock &) = delete;
};

// Programs never change after creation: they are written once (pwrite) and
// each process reads a private copy, so making and dropping one costs no
// mmap, page fault or munmap. Maps are mapped: their data is the memory
// programs and processes share. BTF objects are mapped too: every map and
// program made with BTF takes a reference on it, and in a mapped header that
// is an atomic add under the store lock, where a copied object's count (its
// file's size) costs an fstat and an ftruncate each way; their files are
// recycled as maps' are (handle.cpp).
constexpr bool kind_is_mapped(ObjectKind kind) { return kind == ObjectKind::kMap || kind == ObjectKind::kBtf; }

// A small copied object keeps its whole region in one extended attribute of
// its file instead of the file's data: one fsetxattr publishes it
// atomically (no second write for the magic), and no page is allocated for
// it or freed with it. Larger ones, and stores whose file system refuses
// user xattrs, keep the region in the file's data.
// Such an object's file has no data, and its size is its reference count
// (ObjectHeader::refs): taking or dropping a reference is one ftruncate, not
// a rewrite of the attribute, and the fstat that every judgement makes
// reads the count for free.
constexpr const char *kRegionXattr = "user.userbpf.region";
constexpr size_t kXattrRegionMax = 32 * 1024;

// len bytes at offset off of the region behind fd, wherever hdr (its header
// as read by header_read) says it is kept. 0, or -EIO.
int region_read(int fd, const ObjectHeader &hdr, void *buf, size_t len, size_t off);

// The header's shared counters (refs, dead, next_handle) change only under
// the StoreLock, through the file (pread/pwrite, ftruncate) or a mapping of
// it (the same pages); so an increment in one process and a decrement in
// another never race. The header of the object file behind fd, or false if
// it is not (yet) a published userbpf object. sb: fd's fstat if the caller
// has it (else header_read may need one).
bool header_read(int fd, ObjectHeader *out, const struct stat *sb = nullptr);
// hdr: the header as just read (it says where the region is kept).
int header_store_refs(int fd, const ObjectHeader &hdr, uint32_t refs);
int header_store_next_handle(int fd, const ObjectHeader &hdr, uint64_t next_handle);
// A program's used map `slot` becomes map_id, then its count slot + 1 (in
// that order: a reader that takes no lock sees the old count or the new
// list, never a count past what is written). BPF_PROG_BIND_MAP.
int header_store_prog_map(int fd, const ObjectHeader &hdr, uint32_t slot, uint32_t map_id);

// Does fd still refer to the file (dev, ino)? A program may close our fds
// behind our back (close_range) and reuse the numbers for files of its own.
bool fd_refers_to(int fd, dev_t dev, ino_t ino);

// Called under the StoreLock: release the object behind this process's view
// if nothing holds it any more. own_fd is the view's own description (no
// handle lock) and own_sb its fstat, taken under the same lock
// (live_own_description); known_hdr: the header as the view knows it now
// (view_current_header), or nullptr to read it. The release goes through
// the view (its mapping takes the store of `dead`; a map made here may keep
// its file for recycling). If own_fd is -1 (the object's file has no name left, or the
// program closed our description behind our back and reused the number) the
// object is judged by its path instead.
// Returns true if released.
bool collect_view_if_dead_locked(Object &view, int own_fd, const struct stat &own_sb, const ObjectHeader *known_hdr);

// RLIMIT_MEMLOCK accounting, as kernels before memory-cgroup accounting:
// charge the region's pages to the user; -EPERM over the limit.
int memlock_charge(uint64_t bytes);
void memlock_uncharge(uint64_t bytes);

// Is the object behind this fd alive (pins, handles, references)? sb: the
// fd's fstat; hdr: its header as read under the store lock. fd must be a
// description on the object's file that holds no handle lock.
bool object_alive(int fd, const struct stat &sb, const ObjectHeader &hdr);

// Check one object and release it if nothing holds it. Returns true if released.
bool collect_if_dead(ObjectKind kind, uint32_t id);

// Create the file of a new object under a fresh id: the name is claimed with
// O_EXCL (a name that exists — a live object from before the id counter
// wrapped — makes it take the next id). Others ignore the file until its
// header carries kObjectMagic, written last. Returns the fd (O_RDWR) or -errno.
int object_file_create(ObjectKind kind, uint32_t *id_out, std::string *path_out);

// Claim a fresh id for a spare file (kind's objects, handle.cpp
// "Recycling"): rename it, at spare_path, to the name of a new object; the
// name must be free (an existing one makes it take the next id). Returns 0,
// or -errno (the spare is then where it was).
int object_file_rename_in(ObjectKind kind, const std::string &spare_path, uint32_t *id_out, std::string *path_out);

// Ids go up, as the kernel's (idr_alloc_cyclic): every object notes its id
// before it is published, and a file made ahead under an id reserved then
// (handle.cpp, "Program files made ahead") may take that id only if no
// higher one of its kind was published since. note_published() returns
// true if id was above every id of its kind noted before (and is now the
// highest), false if not (such a file is given up).
bool note_published(ObjectKind kind, uint32_t id);

// Make an empty file ahead, under a fresh id, without opening it (mknod: no
// fd appears in the process). Unpublished, it is left alone by walks for
// kUnpublishedGraceSeconds. 0 or -errno.
int object_file_make_ahead(ObjectKind kind, uint32_t *id_out, std::string *path_out);

// Have the worker of "Files made ahead" unlink the file at `path` (a
// released object's, its region already removed: every reader takes it for
// absent), off the caller's thread: an unlink waits for the store
// directory's lock, which the worker's own renames hold. false if no worker
// runs (the caller unlinks it).
bool unlink_on_worker(const std::string &path);

// Whether (kind, id) names one of this process's files made ahead (program
// files, or spares named ahead): walks over the ids skip them without
// opening them.
bool is_own_made_ahead(ObjectKind kind, uint32_t id);

// Drop one reference another object held on (kind, id) (ObjectHeader::refs:
// a program's maps) and release it if nothing else holds it. The caller got
// the reference with object_ref_get() (handle.h) while it held a handle.
void object_ref_put(ObjectKind kind, uint32_t id);

// Ids of live objects of a kind, ascending (releases the dead ones it meets).
std::vector<uint32_t> live_ids(ObjectKind kind);

// Total memory (bytes) a single region may not exceed: the kernel's vmalloc
// refuses an area larger than RAM up front, so do we (ENOMEM, never OOM).
uint64_t max_region_bytes();

} // namespace userbpf
