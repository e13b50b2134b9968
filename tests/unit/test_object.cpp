// The object model through the C ABI: attr sizes, real fds (dup, fork,
// SCM_RIGHTS, mmap), lifetimes across processes, ids, info, pinning,
// RLIMIT_MEMLOCK and memory limits.
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "bpf_test_util.h"
#include "child_process.h"
#include "object/handle.h"
#include "object/store.h"
#include "private_root_env.h"

using namespace ubt;

namespace {

const BpfFn U = userbpf_call;


int array_map(uint32_t entries = 4, uint32_t flags = 0, uint32_t value_size = 8) {
  long fd = map_create(U, BPF_MAP_TYPE_ARRAY, 4, value_size, entries, flags, "t");
  EXPECT_GE(fd, 0) << strerror(static_cast<int>(-fd));
  return static_cast<int>(fd);
}

uint32_t map_id(int fd) { return object_id<bpf_map_info>(U, fd); }

std::set<uint32_t> all_map_ids() {
  std::set<uint32_t> ids;
  union bpf_attr a = {};
  for (;;) {
    if (call(U, BPF_MAP_GET_NEXT_ID, a) != 0) break;
    ids.insert(a.next_id);
    a.start_id = a.next_id;
  }
  return ids;
}

long fd_by_id(uint32_t id, uint32_t open_flags = 0) {
  union bpf_attr a = {};
  a.map_id = id;
  a.open_flags = open_flags;
  return call(U, BPF_MAP_GET_FD_BY_ID, a);
}

long pin(int fd, const char *path) {
  union bpf_attr a = {};
  a.bpf_fd = static_cast<uint32_t>(fd);
  a.pathname = reinterpret_cast<uintptr_t>(path);
  return call(U, BPF_OBJ_PIN, a);
}

long obj_get(const char *path, uint32_t flags = 0) {
  union bpf_attr a = {};
  a.pathname = reinterpret_cast<uintptr_t>(path);
  a.file_flags = flags;
  return call(U, BPF_OBJ_GET, a);
}

uint64_t get_u64(int fd, uint32_t key) {
  uint64_t v = 0;
  EXPECT_EQ(map_lookup(U, fd, &key, &v), 0);
  return v;
}

void put_u64(int fd, uint32_t key, uint64_t v) { ASSERT_EQ(map_update(U, fd, &key, &v), 0); }

// A file of the object store, by name ("map-7").
std::string store_file(const std::string &name) { return std::string(userbpf_fs_root()) + "/.userbpf/obj/" + name; }

// Make a file a minute old: past the grace period walks give a file its
// creator has not published (kUnpublishedGraceSeconds).
void age_file(const std::string &path) {
  const struct timespec old_times[2] = {{time(nullptr) - 60, 0}, {time(nullptr) - 60, 0}};
  utimensat(AT_FDCWD, path.c_str(), old_times, 0);
}

// A 2-instruction socket filter (r0 = 0; exit).
long load_return_zero() {
  struct bpf_insn insns[2];
  memset(insns, 0, sizeof(insns));
  insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K;
  insns[1].code = BPF_JMP | BPF_EXIT;
  return load_socket_filter(U, insns, 2);
}

// The worker of "Files made ahead" (the thread named userbpf-files) starts
// once a process has loaded kWorkerStartLoads programs or pooled many
// spares; the tests of what it does start it by loading programs.
void start_the_worker() {
  for (size_t i = 0; i < userbpf::kWorkerStartLoads; i++) {
    long fd = load_return_zero();
    if (fd >= 0) close(static_cast<int>(fd));
  }
}

// Whether this process runs the worker (a task of that name).
bool worker_running() {
  DIR *d = opendir("/proc/self/task");
  if (!d) return false;
  bool found = false;
  while (struct dirent *e = readdir(d)) {
    std::ifstream comm(std::string("/proc/self/task/") + e->d_name + "/comm");
    std::string name;
    if (std::getline(comm, name) && name == "userbpf-files") found = true;
  }
  closedir(d);
  return found;
}

} // namespace

// The store lock excludes every other process, a fork() child of the holder
// included (a lock on a description the child shares would not), and a
// holder that dies leaves it to the next.
TEST(StoreLock, ExcludesAForkChildAndOutlivesADeadHolder) {
  std::atomic<bool> held{false}, release{false};
  std::thread holder([&] {
    userbpf::StoreLock lock;
    held = true;
    while (!release) usleep(1000);
  });
  while (!held) usleep(1000);
  std::thread releaser([&] {
    usleep(300000);
    release = true;
  });
  bool ok = false;
  const std::string waited_ms = in_child(
      [] {
        const auto start = std::chrono::steady_clock::now();
        { userbpf::StoreLock lock; }
        return std::to_string(
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count());
      },
      false, &ok);
  holder.join();
  releaser.join();
  ASSERT_TRUE(ok);
  EXPECT_GE(std::stol(waited_ms), 200) << "the child took the store lock while a thread of its parent held it";

  const std::string died = in_child(
      [] {
        new userbpf::StoreLock; // held when the child dies
        return std::string("held");
      },
      false, &ok);
  ASSERT_TRUE(ok);
  ASSERT_EQ(died, "held");
  { userbpf::StoreLock lock; } // returns: the dead child's hold is over
  int fd = array_map(4);
  EXPECT_GE(fd, 0) << "the store works after its lock's holder died";
  close(fd);
}

TEST(AttrSize, LargerWithNonZeroTailIsE2BIG) {
  std::vector<char> buf(sizeof(union bpf_attr) + 16, 0);
  auto *a = reinterpret_cast<union bpf_attr *>(buf.data());
  a->map_type = BPF_MAP_TYPE_ARRAY;
  a->key_size = 4;
  a->value_size = 4;
  a->max_entries = 1;
  buf.back() = 1;
  EXPECT_EQ(userbpf_bpf(BPF_MAP_CREATE, a, static_cast<unsigned>(buf.size())), -1);
  EXPECT_EQ(errno, E2BIG);
  buf.back() = 0;
  long fd = userbpf_bpf(BPF_MAP_CREATE, a, static_cast<unsigned>(buf.size()));
  ASSERT_GE(fd, 0);
  close(static_cast<int>(fd));
  EXPECT_EQ(userbpf_bpf(BPF_MAP_CREATE, a, 4097), -1);
  EXPECT_EQ(errno, E2BIG);
}

TEST(AttrSize, SmallerIsZeroExtended) {
  union bpf_attr a = {};
  a.map_type = BPF_MAP_TYPE_ARRAY;
  a.key_size = 4;
  a.value_size = 4;
  a.max_entries = 2;
  a.map_flags = BPF_F_RDONLY; // beyond the size passed: must read as zero
  long fd = userbpf_bpf(BPF_MAP_CREATE, &a, offsetof(union bpf_attr, map_flags));
  ASSERT_GE(fd, 0);
  uint32_t k = 0, v = 7;
  EXPECT_EQ(map_update(U, static_cast<int>(fd), &k, &v), 0); // not read-only
  close(static_cast<int>(fd));
}

TEST(AttrSize, NullAttrIsEFAULT) {
  EXPECT_EQ(userbpf_bpf(BPF_MAP_CREATE, nullptr, sizeof(union bpf_attr)), -1);
  EXPECT_EQ(errno, EFAULT);
}

TEST(Commands, UnknownCommandIsEINVAL) {
  union bpf_attr a = {};
  EXPECT_EQ(call(U, 9999, a), -EINVAL);
  EXPECT_EQ(call(U, -1, a), -EINVAL);
}

TEST(Commands, NonZeroFieldPastLastIsEINVAL) {
  int fd = array_map();
  union bpf_attr a = {};
  a.map_fd = static_cast<uint32_t>(fd);
  a.flags = 0;
  a.batch.elem_flags = 0;
  reinterpret_cast<char *>(&a)[offsetof(union bpf_attr, flags) + 8] = 1;
  EXPECT_EQ(call(U, BPF_MAP_LOOKUP_ELEM, a), -EINVAL);
  close(fd);
}

TEST(Fds, BadFdsAsTheKernel) {
  uint32_t k = 0;
  uint64_t v;
  EXPECT_EQ(map_lookup(U, -1, &k, &v), -EBADF);
  EXPECT_EQ(map_lookup(U, 12345, &k, &v), -EBADF);
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  EXPECT_EQ(map_lookup(U, p[0], &k, &v), -EINVAL);
  int f = open("/dev/null", O_RDONLY);
  EXPECT_EQ(map_lookup(U, f, &k, &v), -EINVAL);
  close(f);
  close(p[0]);
  close(p[1]);
  int fd = array_map();
  close(fd);
  EXPECT_EQ(map_lookup(U, fd, &k, &v), -EBADF);
}

TEST(Fds, AreRealFdsAndDupWorks) {
  int fd = array_map();
  struct stat sb;
  ASSERT_EQ(fstat(fd, &sb), 0);
  EXPECT_NE(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0); // as the kernel's bpf fds
  int d = dup(fd);
  ASSERT_GE(d, 0);
  put_u64(d, 1, 42);
  uint32_t id = map_id(fd);
  close(fd);
  EXPECT_EQ(get_u64(d, 1), 42u); // the dup keeps the map
  EXPECT_TRUE(all_map_ids().count(id));
  int d2 = 100;
  ASSERT_EQ(dup2(d, d2), d2);
  close(d);
  EXPECT_EQ(get_u64(d2, 1), 42u);
  close(d2);
  EXPECT_FALSE(all_map_ids().count(id)); // last close released it
  EXPECT_EQ(fd_by_id(id), -ENOENT);
}

TEST(Fds, Dup2OverAHandleReleasesIt) {
  int fd = array_map();
  uint32_t id = map_id(fd);
  int other = open("/dev/null", O_RDONLY);
  ASSERT_EQ(dup2(other, fd), fd);
  close(other);
  close(fd);
  EXPECT_FALSE(all_map_ids().count(id));
}

TEST(Lifetime, ForkSharesTheMap) {
  int fd = array_map();
  pid_t pid = fork();
  if (pid == 0) {
    uint32_t k = 2;
    uint64_t v = 99;
    _exit(map_update(U, fd, &k, &v) == 0 ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(get_u64(fd, 2), 99u);
  close(fd);
}

TEST(Lifetime, ExitOfTheOnlyHolderReleases) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  pid_t pid = fork();
  if (pid == 0) {
    int fd = static_cast<int>(map_create(U, BPF_MAP_TYPE_ARRAY, 4, 8, 4));
    uint32_t id = 0;
    bpf_map_info info = {};
    union bpf_attr a = {};
    a.info.bpf_fd = static_cast<uint32_t>(fd);
    a.info.info_len = sizeof(info);
    a.info.info = reinterpret_cast<uintptr_t>(&info);
    userbpf_bpf(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a));
    id = info.id;
    if (write(p[1], &id, sizeof(id)) != sizeof(id)) _exit(1);
    _exit(0); // no close: exit releases the fd
  }
  close(p[1]);
  uint32_t id = 0;
  ASSERT_EQ(read(p[0], &id, sizeof(id)), static_cast<ssize_t>(sizeof(id)));
  close(p[0]);
  waitpid(pid, nullptr, 0);
  ASSERT_NE(id, 0u);
  EXPECT_EQ(fd_by_id(id), -ENOENT);
  EXPECT_FALSE(all_map_ids().count(id));
}

TEST(Lifetime, ScmRightsKeepsTheMapAfterTheSenderExits) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  pid_t pid = fork();
  if (pid == 0) {
    int fd = static_cast<int>(map_create(U, BPF_MAP_TYPE_ARRAY, 4, 8, 4));
    uint32_t k = 3;
    uint64_t v = 1234;
    map_update(U, fd, &k, &v);
    char byte = 'x';
    struct iovec iov = {&byte, 1};
    char ctrl[CMSG_SPACE(sizeof(int))] = {};
    struct msghdr msg = {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctrl;
    msg.msg_controllen = sizeof(ctrl);
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    _exit(sendmsg(sv[1], &msg, 0) == 1 ? 0 : 1);
  }
  close(sv[1]);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  char byte;
  struct iovec iov = {&byte, 1};
  char ctrl[CMSG_SPACE(sizeof(int))] = {};
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctrl;
  msg.msg_controllen = sizeof(ctrl);
  ASSERT_EQ(recvmsg(sv[0], &msg, 0), 1);
  int fd;
  memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof(int));
  close(sv[0]);
  EXPECT_EQ(get_u64(fd, 3), 1234u); // the sender exited; our fd holds the map
  uint32_t id = map_id(fd);
  EXPECT_TRUE(all_map_ids().count(id));
  close(fd);
  EXPECT_FALSE(all_map_ids().count(id));
}

TEST(Ids, GetFdByIdAndOpenFlags) {
  int fd = array_map();
  uint32_t id = map_id(fd);
  long ro = fd_by_id(id, BPF_F_RDONLY);
  long wo = fd_by_id(id, BPF_F_WRONLY);
  ASSERT_GE(ro, 0);
  ASSERT_GE(wo, 0);
  uint32_t k = 0;
  uint64_t v = 5;
  EXPECT_EQ(map_update(U, static_cast<int>(ro), &k, &v), -EPERM);
  EXPECT_EQ(map_lookup(U, static_cast<int>(ro), &k, &v), 0);
  EXPECT_EQ(map_update(U, static_cast<int>(wo), &k, &v), 0);
  EXPECT_EQ(map_lookup(U, static_cast<int>(wo), &k, &v), -EPERM);
  EXPECT_EQ(fd_by_id(id, BPF_F_RDONLY | BPF_F_WRONLY), -EINVAL);
  EXPECT_EQ(fd_by_id(id, 1u << 20), -EINVAL);
  EXPECT_EQ(fd_by_id(0x7ffffff0), -ENOENT);
  close(fd);
  close(static_cast<int>(ro));
  close(static_cast<int>(wo));
  EXPECT_EQ(fd_by_id(id), -ENOENT);
}

TEST(Ids, GetNextIdWalksInOrder) {
  int a = array_map(), b = array_map();
  uint32_t ia = map_id(a), ib = map_id(b);
  EXPECT_LT(ia, ib);
  auto ids = all_map_ids();
  EXPECT_TRUE(ids.count(ia) && ids.count(ib));
  union bpf_attr at = {};
  at.start_id = 0x7fffffff;
  EXPECT_EQ(call(U, BPF_MAP_GET_NEXT_ID, at), -EINVAL);
  at.start_id = 0x7ffffffe;
  EXPECT_EQ(call(U, BPF_MAP_GET_NEXT_ID, at), -ENOENT);
  close(a);
  close(b);
}

TEST(Info, AllFieldsTheKernelFills) {
  long fd = map_create(U, BPF_MAP_TYPE_ARRAY, 4, 13, 7, BPF_F_RDONLY_PROG | BPF_F_WRONLY, "info_map.1");
  ASSERT_GE(fd, 0);
  bpf_map_info info;
  memset(&info, 0xff, sizeof(info));
  union bpf_attr a = {};
  a.info.bpf_fd = static_cast<uint32_t>(fd);
  a.info.info_len = sizeof(info);
  a.info.info = reinterpret_cast<uintptr_t>(&info);
  ASSERT_EQ(call(U, BPF_OBJ_GET_INFO_BY_FD, a), 0);
  EXPECT_EQ(a.info.info_len, sizeof(info));
  EXPECT_EQ(info.type, BPF_MAP_TYPE_ARRAY);
  EXPECT_NE(info.id, 0u);
  EXPECT_EQ(info.key_size, 4u);
  EXPECT_EQ(info.value_size, 13u);
  EXPECT_EQ(info.max_entries, 7u);
  EXPECT_EQ(info.map_flags, static_cast<uint32_t>(BPF_F_RDONLY_PROG)); // fd flags are not the map's
  EXPECT_STREQ(info.name, "info_map.1");
  EXPECT_EQ(info.btf_id, 0u);
  EXPECT_EQ(info.map_extra, 0u);
  // A shorter info struct gets a shorter copy.
  uint32_t small[2] = {0, 0};
  a.info.info_len = sizeof(small);
  a.info.info = reinterpret_cast<uintptr_t>(small);
  ASSERT_EQ(call(U, BPF_OBJ_GET_INFO_BY_FD, a), 0);
  EXPECT_EQ(a.info.info_len, sizeof(small));
  EXPECT_EQ(small[0], BPF_MAP_TYPE_ARRAY);
  // A longer one must be zero past what we know.
  std::vector<char> big(sizeof(info) + 8, 0);
  big.back() = 1;
  a.info.info_len = static_cast<uint32_t>(big.size());
  a.info.info = reinterpret_cast<uintptr_t>(big.data());
  EXPECT_EQ(call(U, BPF_OBJ_GET_INFO_BY_FD, a), -E2BIG);
  close(static_cast<int>(fd));
}

TEST(Create, BadNamesAndFlags) {
  EXPECT_EQ(map_create(U, BPF_MAP_TYPE_ARRAY, 4, 4, 1, 0, "bad-name"), -EINVAL);
  union bpf_attr a = {};
  a.map_type = BPF_MAP_TYPE_ARRAY;
  a.key_size = 4;
  a.value_size = 4;
  a.max_entries = 1;
  memset(a.map_name, 'a', sizeof(a.map_name)); // no NUL within the field
  EXPECT_EQ(call(U, BPF_MAP_CREATE, a), -EINVAL);
  EXPECT_EQ(map_create(U, BPF_MAP_TYPE_ARRAY, 4, 4, 1, BPF_F_RDONLY | BPF_F_WRONLY), -EINVAL);
  EXPECT_EQ(map_create(U, 0xffff, 4, 4, 1), -EINVAL);
  EXPECT_EQ(map_create(U, BPF_MAP_TYPE_UNSPEC, 4, 4, 1), -EINVAL);
}

TEST(Pinning, PinSurvivesCloseAndObjGetSharesData) {
  int fd = array_map();
  put_u64(fd, 1, 77);
  uint32_t id = map_id(fd);
  ASSERT_EQ(pin(fd, "/sys/fs/bpf/pinned_map"), 0);
  EXPECT_EQ(pin(fd, "/sys/fs/bpf/pinned_map"), -EEXIST);
  EXPECT_EQ(pin(fd, "/sys/fs/bpf/no_such_dir/x"), -ENOENT);
  EXPECT_EQ(pin(fd, "/tmp/not_bpffs_pin"), -EPERM);
  char real[4096];
  ASSERT_EQ(userbpf_pin_path("/sys/fs/bpf/pinned_map", real, sizeof(real)), 0);
  EXPECT_EQ(access(real, F_OK), 0);
  close(fd);
  EXPECT_TRUE(all_map_ids().count(id)); // the pin holds it

  // Another process opens the pin and writes.
  pid_t pid = fork();
  if (pid == 0) {
    int f = static_cast<int>(obj_get("/sys/fs/bpf/pinned_map"));
    uint32_t k = 1;
    uint64_t v = 0;
    if (f < 0 || map_lookup(U, f, &k, &v) != 0 || v != 77) _exit(1);
    v = 78;
    _exit(map_update(U, f, &k, &v) == 0 ? 0 : 2);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

  long g = obj_get("/sys/fs/bpf/pinned_map");
  ASSERT_GE(g, 0);
  EXPECT_EQ(map_id(static_cast<int>(g)), id);
  EXPECT_EQ(get_u64(static_cast<int>(g), 1), 78u);
  long ro = obj_get(real, BPF_F_RDONLY);
  ASSERT_GE(ro, 0);
  uint32_t k = 1;
  uint64_t v = 1;
  EXPECT_EQ(map_update(U, static_cast<int>(ro), &k, &v), -EPERM);
  close(static_cast<int>(ro));
  close(static_cast<int>(g));
  EXPECT_EQ(obj_get("/sys/fs/bpf/missing"), -ENOENT);

  // Removing the last pin releases the map.
  ASSERT_EQ(unlink(real), 0);
  EXPECT_FALSE(all_map_ids().count(id));
  EXPECT_EQ(fd_by_id(id), -ENOENT);
}

TEST(Pinning, DirectoriesAndRenameWorkAsOnBpffs) {
  char real[4096];
  ASSERT_EQ(userbpf_pin_path("/sys/fs/bpf/dir1", real, sizeof(real)), 0);
  ASSERT_EQ(mkdir(real, 0700), 0);
  int fd = array_map();
  uint32_t id = map_id(fd);
  ASSERT_EQ(pin(fd, "/sys/fs/bpf/dir1/m"), 0);
  close(fd);
  std::string from = std::string(real) + "/m", to = std::string(real) + "/renamed";
  ASSERT_EQ(rename(from.c_str(), to.c_str()), 0);
  long g = obj_get("/sys/fs/bpf/dir1/renamed");
  ASSERT_GE(g, 0);
  EXPECT_EQ(map_id(static_cast<int>(g)), id);
  EXPECT_EQ(obj_get("/sys/fs/bpf/dir1"), -EACCES); // a directory is not an object
  close(static_cast<int>(g));
  unlink(to.c_str());
  rmdir(real);
  EXPECT_FALSE(all_map_ids().count(id));
}

// A writable mapping in another process blocks a freeze too (the kernel's
// writecnt counts every mapping), and its end lets the freeze through.
TEST(Mmap, WritableMappingInAnotherProcessBlocksFreeze) {
  int fd = array_map(512, BPF_F_MMAPABLE);
  int go[2], mapped[2];
  ASSERT_EQ(pipe(go), 0);
  ASSERT_EQ(pipe(mapped), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    void *p = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    char c = p == MAP_FAILED ? 'n' : 'y';
    if (write(mapped[1], &c, 1) != 1 || read(go[0], &c, 1) != 1) _exit(1);
    if (p != MAP_FAILED) munmap(p, 4096);
    c = 'u';
    _exit(write(mapped[1], &c, 1) == 1 ? 0 : 1);
  }
  char c = 0;
  ASSERT_EQ(read(mapped[0], &c, 1), 1);
  ASSERT_EQ(c, 'y') << "the child could not map the array";
  EXPECT_EQ(map_freeze(U, fd), -EBUSY) << "the child's writable mapping";
  ASSERT_EQ(write(go[1], "g", 1), 1);
  ASSERT_EQ(read(mapped[0], &c, 1), 1);
  EXPECT_EQ(map_freeze(U, fd), 0) << "the child unmapped";
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  for (int p : {go[0], go[1], mapped[0], mapped[1]}) close(p);
  close(fd);
}

TEST(Mmap, MmapableArraySharesMemoryWithSyscalls) {
  int fd = array_map(512, BPF_F_MMAPABLE);
  void *p = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ASSERT_NE(p, MAP_FAILED) << strerror(errno);
  auto *vals = static_cast<uint64_t *>(p);
  vals[5] = 555;
  EXPECT_EQ(get_u64(fd, 5), 555u);
  put_u64(fd, 6, 666);
  EXPECT_EQ(vals[6], 666u);
  EXPECT_EQ(map_freeze(U, fd), -EBUSY); // a writable mapping exists
  ASSERT_EQ(munmap(p, 4096), 0);
  EXPECT_EQ(map_freeze(U, fd), 0);
  EXPECT_EQ(mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), MAP_FAILED);
  EXPECT_EQ(errno, EPERM);
  void *r = mmap(nullptr, 4096, PROT_READ, MAP_SHARED, fd, 0);
  ASSERT_NE(r, MAP_FAILED);
  EXPECT_EQ(static_cast<uint64_t *>(r)[5], 555u);
  munmap(r, 4096);
  EXPECT_EQ(mmap(nullptr, 8192, PROT_READ, MAP_SHARED, fd, 0), MAP_FAILED); // past the data
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE, fd, 0), MAP_FAILED);
  EXPECT_EQ(errno, EINVAL);
  close(fd);
  int plain = array_map();
  EXPECT_EQ(mmap(nullptr, 4096, PROT_READ, MAP_SHARED, plain, 0), MAP_FAILED);
  EXPECT_EQ(errno, EINVAL);
  close(plain);
}

TEST(Freeze, FrozenMapRejectsSyscallWrites) {
  int fd = array_map();
  EXPECT_EQ(map_freeze(U, fd), 0);
  uint32_t k = 0;
  uint64_t v = 1;
  EXPECT_EQ(map_update(U, fd, &k, &v), -EPERM);
  EXPECT_EQ(map_lookup(U, fd, &k, &v), 0);
  EXPECT_EQ(map_freeze(U, fd), -EPERM); // the kernel checks write permission first
  close(fd);
}

TEST(Memory, MemlockIsChargedLikeOldKernels) {
  struct rlimit old;
  getrlimit(RLIMIT_MEMLOCK, &old);
  struct rlimit small = {256 * 1024, old.rlim_max};
  ASSERT_EQ(setrlimit(RLIMIT_MEMLOCK, &small), 0);
  EXPECT_EQ(map_create(U, BPF_MAP_TYPE_ARRAY, 4, 1024, 1024), -EPERM); // 1 MiB > 256 KiB
  long fd = map_create(U, BPF_MAP_TYPE_ARRAY, 4, 8, 16);
  EXPECT_GE(fd, 0);
  struct rlimit inf = {RLIM_INFINITY, RLIM_INFINITY};
  if (setrlimit(RLIMIT_MEMLOCK, &inf) == 0) { // as libbpf's bump does
    long big = map_create(U, BPF_MAP_TYPE_ARRAY, 4, 1024, 1024);
    EXPECT_GE(big, 0);
    if (big >= 0) close(static_cast<int>(big));
  }
  setrlimit(RLIMIT_MEMLOCK, &old);
  if (fd >= 0) close(static_cast<int>(fd));
}

TEST(Memory, TooLargeForMemoryIsENOMEMNotOOM) {
  struct rlimit old, inf = {RLIM_INFINITY, RLIM_INFINITY};
  getrlimit(RLIMIT_MEMLOCK, &old);
  setrlimit(RLIMIT_MEMLOCK, &inf);
  // 1 MiB values x 1M entries = 1 TiB.
  EXPECT_EQ(map_create(U, BPF_MAP_TYPE_ARRAY, 4, 1u << 20, 1u << 20), -ENOMEM);
  setrlimit(RLIMIT_MEMLOCK, &old);
}

// Views of freed maps are recycled for new ones (DESIGN-NOTES): a new map
// must never show a dead map's data, through syscalls or its own mmap.
TEST(Memory, NewMapsStartZeroedWhereOldOnesLived) {
  for (int i = 0; i < 300; i++) {
    const bool mmapable = i % 2;
    int fd = array_map(4, mmapable ? BPF_F_MMAPABLE : 0);
    ASSERT_GE(fd, 0);
    for (uint32_t k = 0; k < 4; k++) ASSERT_EQ(get_u64(fd, k), 0u) << "iteration " << i << " key " << k;
    if (mmapable) {
      void *p = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      ASSERT_NE(p, MAP_FAILED);
      const auto *values = static_cast<const uint64_t *>(p);
      for (int k = 0; k < 4; k++) ASSERT_EQ(values[k], 0u) << "iteration " << i << " key " << k;
      munmap(p, 4096);
    }
    for (uint32_t k = 0; k < 4; k++) put_u64(fd, k, 0xdead0000beefull + k);
    close(fd);
  }
}

// ---- Recycling released maps' files (DESIGN-NOTES "What an object still costs")

namespace {

ino_t inode_of(int fd) {
  struct stat sb;
  EXPECT_EQ(fstat(fd, &sb), 0);
  return sb.st_ino;
}

// Make maps like array_map(entries) until one lives in the file with inode
// `ino`, for up to `patience` (a released view becomes a spare only after its
// grace period). Returns that map's fd, or -1. The others stay open until
// the end: released, each would become the pool's newest spare, taken
// before the one awaited.
int map_in_file(ino_t ino, uint32_t entries, std::chrono::milliseconds patience) {
  const auto deadline = std::chrono::steady_clock::now() + patience;
  std::vector<int> others;
  int found = -1;
  do {
    int fd = array_map(entries);
    if (fd < 0) break;
    if (inode_of(fd) == ino) {
      found = fd;
      break;
    }
    others.push_back(fd);
    usleep(5000);
  } while (std::chrono::steady_clock::now() < deadline);
  for (int fd : others) close(fd);
  return found;
}

} // namespace

TEST(Recycling, AReleasedMapsFileServesTheNextMapZeroed) {
  int fd = array_map(16);
  const ino_t ino = inode_of(fd);
  const uint32_t old_id = map_id(fd);
  for (uint32_t k = 0; k < 16; k++) put_u64(fd, k, 0x5eed0000ull + k);
  close(fd);
  EXPECT_EQ(fd_by_id(old_id), -ENOENT); // released at once, file kept or not
  EXPECT_FALSE(all_map_ids().count(old_id));
  int again = map_in_file(ino, 16, std::chrono::seconds(5));
  ASSERT_GE(again, 0) << "the released map's file was not reused";
  EXPECT_NE(map_id(again), old_id);
  for (uint32_t k = 0; k < 16; k++) EXPECT_EQ(get_u64(again, k), 0u) << "key " << k;
  EXPECT_TRUE(all_map_ids().count(map_id(again)));
  EXPECT_EQ(fd_by_id(old_id), -ENOENT);
  close(again);
}

// A file another process mapped is never reused: its view there could still
// write (the kernel frees such a map only after every user is gone).
TEST(Recycling, AFileAnotherProcessMappedIsNotReused) {
  int go[2], done[2];
  ASSERT_EQ(pipe(go), 0);
  ASSERT_EQ(pipe(done), 0);
  pid_t pid = fork(); // before the map exists: the child has no view of it
  if (pid == 0) {
    char c;
    if (read(go[0], &c, 1) != 1) _exit(1);
    long fd = obj_get("/sys/fs/bpf/recycle_shared");
    uint64_t v = fd >= 0 ? get_u64(static_cast<int>(fd), 3) : 0;
    if (fd >= 0) close(static_cast<int>(fd));
    _exit(v == 7 && write(done[1], "x", 1) == 1 ? 0 : 1);
  }
  int fd = array_map(16);
  const ino_t ino = inode_of(fd);
  put_u64(fd, 3, 7);
  ASSERT_EQ(pin(fd, "/sys/fs/bpf/recycle_shared"), 0);
  ASSERT_EQ(write(go[1], "x", 1), 1);
  char c;
  ASSERT_EQ(read(done[0], &c, 1), 1);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  char real[4096];
  ASSERT_EQ(userbpf_pin_path("/sys/fs/bpf/recycle_shared", real, sizeof(real)), 0);
  ASSERT_EQ(unlink(real), 0);
  close(fd);
  EXPECT_EQ(map_in_file(ino, 16, std::chrono::milliseconds(300)), -1);
  for (int p : {go[0], go[1], done[0], done[1]}) close(p);
}

// Views that existed at a fork() are mapped in both processes: neither
// reuses their files. The child recycles its own new maps.
TEST(Recycling, ViewsSharedByForkAreNotReused) {
  int fd = array_map(16);
  const ino_t ino = inode_of(fd);
  pid_t pid = fork();
  if (pid == 0) {
    close(fd);
    int own = array_map(16);
    const ino_t own_ino = inode_of(own);
    close(own);
    _exit(map_in_file(own_ino, 16, std::chrono::seconds(5)) >= 0 ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the child did not recycle its own map";
  close(fd);
  EXPECT_EQ(map_in_file(ino, 16, std::chrono::milliseconds(300)), -1);
}

// ---- Spares named ahead (DESIGN-NOTES "Files made ahead")

namespace {

// Map files of the store not published (yet): named ahead. Their header's
// magic, the first 8 bytes, is still zero.
std::set<uint32_t> unpublished_map_ids() {
  const std::string dir = store_file("");
  std::set<uint32_t> ids;
  if (DIR *d = opendir(dir.c_str())) {
    while (struct dirent *e = readdir(d)) {
      if (strncmp(e->d_name, "map-", 4) != 0) continue;
      int fd = open((dir + e->d_name).c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      uint64_t magic = 1;
      if (pread(fd, &magic, sizeof(magic), 0) == static_cast<ssize_t>(sizeof(magic)) && magic == 0)
        ids.insert(static_cast<uint32_t>(strtoul(e->d_name + 4, nullptr, 10)));
      close(fd);
    }
    closedir(d);
  }
  return ids;
}

// Wait (up to 2 s) until at least n map files are named ahead with ids
// above `above` (the last map id published: those below it were passed).
std::set<uint32_t> await_named_spares(size_t n, uint32_t above) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  std::set<uint32_t> ids;
  do {
    ids.clear();
    for (uint32_t id : unpublished_map_ids())
      if (id > above) ids.insert(id);
  } while (ids.size() < n && std::chrono::steady_clock::now() < deadline && usleep(5000) == 0);
  return ids;
}

} // namespace

// Released maps' files are renamed ahead to the ids of maps to come: never
// listed, never openable by id; the next map takes one, its id still above
// every one before it, its values zero.
TEST(NamedSpares, AreNeitherListedNorOpenableAndServeTheNextMaps) {
  start_the_worker();
  usleep(200000); // earlier tests' spares settle
  std::vector<int> fds;
  uint32_t last_id = 0;
  for (int i = 0; i < 4; i++) {
    fds.push_back(array_map(16));
    ASSERT_GE(fds.back(), 0);
    for (uint32_t k = 0; k < 16; k++) put_u64(fds.back(), k, 0xabcd0000ull + k);
    last_id = map_id(fds.back());
  }
  for (int fd : fds) close(fd);
  const std::set<uint32_t> named = await_named_spares(4, last_id);
  ASSERT_GE(named.size(), 4u) << "the released maps' files were not named ahead";
  const std::set<uint32_t> listed = all_map_ids();
  for (uint32_t id : named) {
    EXPECT_FALSE(listed.count(id)) << id;
    EXPECT_EQ(fd_by_id(id), -ENOENT) << id;
  }
  int next = array_map(16);
  ASSERT_GE(next, 0);
  EXPECT_TRUE(named.count(map_id(next))) << map_id(next) << ": not made from a spare named ahead";
  EXPECT_TRUE(all_map_ids().count(map_id(next)));
  for (uint32_t k = 0; k < 16; k++) EXPECT_EQ(get_u64(next, k), 0u) << "key " << k;
  close(next);
}

// A spare named ahead serves the next map whatever its size (up to the
// largest kept): resized, zeroed, all of it usable, through syscalls and
// mmap alike.
TEST(NamedSpares, AreResizedForTheNextMap) {
  start_the_worker();
  for (const uint32_t entries : {2000u, 16u, 8000u}) {
    int fd = array_map(entries == 16 ? 8000 : 16, BPF_F_MMAPABLE);
    ASSERT_GE(fd, 0);
    put_u64(fd, 3, 0x77);
    const uint32_t last_id = map_id(fd);
    close(fd);
    const std::set<uint32_t> named = await_named_spares(1, last_id);
    ASSERT_FALSE(named.empty());
    int next = array_map(entries, BPF_F_MMAPABLE);
    ASSERT_GE(next, 0);
    EXPECT_TRUE(named.count(map_id(next))) << "entries " << entries << ": not made from a spare named ahead";
    const size_t len = entries * 8;
    void *p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, next, 0);
    ASSERT_NE(p, MAP_FAILED);
    auto *values = static_cast<uint64_t *>(p);
    for (uint32_t k = 0; k < entries; k++) ASSERT_EQ(values[k], 0u) << "entries " << entries << " key " << k;
    for (uint32_t k = 0; k < entries; k++) values[k] = k * 3 + 1;
    for (uint32_t k = 0; k < entries; k += 97) ASSERT_EQ(get_u64(next, k), k * 3 + 1u);
    put_u64(next, entries - 1, 5);
    EXPECT_EQ(values[entries - 1], 5u);
    munmap(p, len);
    close(next);
  }
}

// A map released just before its process died keeps its file (and name)
// for recycling, marked released: a walk removes it at once, whether or not
// the grace period had zeroed it into a spare before the process died.
TEST(Recycling, ReleasedFilesOfADeadProcessGoAtOnce) {
  bool ok = false;
  const std::string path = in_child(
      [] {
        int fd = array_map(16);
        const std::string name = store_file("map-" + std::to_string(map_id(fd)));
        close(fd);
        return access(name.c_str(), F_OK) == 0 ? name : std::string(); // kept, before its grace period
      },
      false, &ok);
  ASSERT_TRUE(ok) << "the released map's file was not kept";
  EXPECT_EQ(access(path.c_str(), F_OK), 0);
  all_map_ids();
  EXPECT_NE(access(path.c_str(), F_OK), 0) << path << " outlived its dead owner";
}

// A process that dies with spares leaves files no one owns: the next walk
// over the ids removes them (marked dead, their owner gone). One that exits
// normally removes its own.
TEST(Recycling, SparesOfExitedProcessesAreRemoved) {
  usleep(200000); // this process's own spares settle: the child tells its own apart
  for (const bool clean_exit : {false, true}) {
    bool ok = false;
    const std::string text = in_child(
        [] {
          const std::set<uint32_t> before = unpublished_map_ids();
          int fd = array_map(16);
          const ino_t ino = inode_of(fd);
          close(fd);
          usleep(200000); // its grace period: the file becomes a spare
          int again = map_in_file(ino, 16, std::chrono::seconds(5));
          if (again < 0) return std::string();
          close(again); // a spare again
          usleep(200000);
          std::string names;
          for (uint32_t id : unpublished_map_ids())
            if (!before.count(id)) names += "map-" + std::to_string(id) + "\n";
          return names;
        },
        clean_exit, &ok);
    ASSERT_TRUE(ok) << "clean_exit " << clean_exit << ": the child kept no spare";
    std::vector<std::string> named; // the child's spares named ahead
    for (size_t at = 0, nl; (nl = text.find('\n', at)) != std::string::npos; at = nl + 1)
      named.push_back(store_file(text.substr(at, nl - at)));
    auto named_left = [&] {
      size_t n = 0;
      for (const std::string &path : named) n += access(path.c_str(), F_OK) == 0;
      return n;
    };
    ASSERT_FALSE(named.empty()) << "clean_exit " << clean_exit << ": the child kept no spare";
    if (!clean_exit) {
      EXPECT_EQ(named_left(), named.size()) << "a crash leaves them to a walk";
      all_map_ids(); // a walk over the ids collects what the dead left, at once (marked dead, no owner)
    }
    EXPECT_EQ(named_left(), 0u) << "clean_exit " << clean_exit;
  }
}

// ---- Program files made ahead (DESIGN-NOTES "Program files made ahead")

namespace {

// The store's program files not (yet) programs: no region. (Made ahead; a
// test runs alone in its private store, so nothing else is being made.)
std::set<std::string> premade_files() {
  const std::string dir = store_file("");
  std::set<std::string> names;
  if (DIR *d = opendir(dir.c_str())) {
    while (struct dirent *e = readdir(d)) {
      if (strncmp(e->d_name, "prog-", 5) != 0) continue;
      int fd = open((dir + e->d_name).c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      struct stat sb;
      if (fstat(fd, &sb) == 0 && sb.st_size == 0 && fgetxattr(fd, "user.userbpf.region", nullptr, 0) < 0)
        names.insert(e->d_name);
      close(fd);
    }
    closedir(d);
  }
  return names;
}

bool store_has(const std::string &name) {
  return access(store_file(name).c_str(), F_OK) == 0;
}

std::set<uint32_t> all_prog_ids() {
  std::set<uint32_t> ids;
  union bpf_attr a = {};
  while (call(U, BPF_PROG_GET_NEXT_ID, a) == 0) {
    ids.insert(a.next_id);
    a.start_id = a.next_id;
  }
  return ids;
}

uint32_t prog_id(int fd) { return object_id<bpf_prog_info>(U, fd); }

// Wait (up to 2 s) until the store has a file made ahead that `before` has not.
std::set<std::string> new_premade_files(const std::set<std::string> &before) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  std::set<std::string> fresh;
  do {
    fresh.clear();
    for (const std::string &n : premade_files())
      if (!before.count(n)) fresh.insert(n);
    if (!fresh.empty()) break;
    usleep(5000);
  } while (std::chrono::steady_clock::now() < deadline);
  return fresh;
}

} // namespace

TEST(PremadeProgramFiles, AreNeitherListedNorOpenable) {
  const std::set<std::string> before = premade_files();
  start_the_worker();
  long prog = load_return_zero();
  ASSERT_GE(prog, 0);
  usleep(50000);
  const std::set<std::string> files = premade_files();
  ASSERT_FALSE(files.empty()) << "no program file was made ahead";
  const std::set<uint32_t> listed = all_prog_ids();
  for (const std::string &name : files) {
    const uint32_t id = static_cast<uint32_t>(strtoul(name.c_str() + 5, nullptr, 10));
    EXPECT_FALSE(listed.count(id)) << name;
    union bpf_attr a = {};
    a.prog_id = id;
    EXPECT_EQ(call(U, BPF_PROG_GET_FD_BY_ID, a), -ENOENT) << name;
  }
  // The next load takes one: its id above the last, listed and openable.
  const uint32_t first = prog_id(static_cast<int>(prog));
  long next = load_return_zero();
  ASSERT_GE(next, 0);
  EXPECT_GT(prog_id(static_cast<int>(next)), first);
  EXPECT_TRUE(all_prog_ids().count(prog_id(static_cast<int>(next))));
  close(static_cast<int>(next));
  close(static_cast<int>(prog));
}

// A process's files made ahead go with it: unlinked at a normal exit; after
// a crash, removed by a walk over the ids as any file its creator left
// unpublished, once kUnpublishedGraceSeconds old (the test ages them).
TEST(PremadeProgramFiles, GoWithTheirProcess) {
  long own = load_return_zero(); // this process's pool, full before the fork
  ASSERT_GE(own, 0);
  usleep(100000);
  for (const bool clean_exit : {false, true}) {
    const std::set<std::string> before = premade_files();
    bool ok = false;
    const std::string text = in_child(
        [&] {
          std::string names;
          start_the_worker();
          const long last = load_return_zero();
          if (last < 0) return names;
          // Files made ahead have ids above the last program's; those below
          // are released programs' files whose names the worker has not
          // unlinked yet.
          const uint32_t last_id = prog_id(static_cast<int>(last));
          const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
          while (names.empty() && std::chrono::steady_clock::now() < deadline) {
            for (const std::string &n : new_premade_files(before))
              if (std::stoul(n.substr(5)) > last_id) names += n + "\n";
            if (names.empty()) usleep(5000);
          }
          return names;
        },
        clean_exit, &ok);
    ASSERT_TRUE(ok) << "clean_exit " << clean_exit;
    std::vector<std::string> names;
    for (size_t at = 0, nl; (nl = text.find('\n', at)) != std::string::npos; at = nl + 1) names.push_back(text.substr(at, nl - at));
    ASSERT_FALSE(names.empty());
    if (!clean_exit) {
      size_t left = 0;
      for (const std::string &n : names) left += store_has(n);
      EXPECT_GT(left, 0u) << "a crash leaves them to a walk";
      all_prog_ids();
      size_t young = 0;
      for (const std::string &n : names) young += store_has(n);
      EXPECT_EQ(young, left) << "removed before their grace period";
      for (const std::string &n : names) age_file(store_file(n));
      all_prog_ids();
    }
    for (const std::string &n : names) EXPECT_FALSE(store_has(n)) << n << " clean_exit " << clean_exit;
  }
  close(static_cast<int>(own));
}

// A fork() child never takes its parent's files; ids keep going up on both
// sides.
TEST(PremadeProgramFiles, AForkChildMakesItsOwn) {
  long parent_prog = load_return_zero();
  ASSERT_GE(parent_prog, 0);
  usleep(50000);
  const std::set<std::string> parents = premade_files();
  bool ok = false;
  const std::string text = in_child(
      [] {
        long prog = load_return_zero();
        return prog < 0 ? std::string() : std::to_string(prog_id(static_cast<int>(prog)));
      },
      false, &ok);
  ASSERT_TRUE(ok);
  const uint32_t child_id = static_cast<uint32_t>(std::stoul(text));
  EXPECT_FALSE(parents.count("prog-" + std::to_string(child_id))) << "the child took its parent's file";
  long next = load_return_zero();
  ASSERT_GE(next, 0);
  EXPECT_GT(prog_id(static_cast<int>(next)), child_id);
  close(static_cast<int>(next));
  close(static_cast<int>(parent_prog));
}

// A process that loads one libbpf object starts no thread of ours
// (starting one costs more than it saves for so few); one that loads more
// does.
TEST(PremadeProgramFiles, TheWorkerStartsOnlyForProcessesThatLoadMore) {
  bool ok = false;
  const std::string text = in_child(
      [] {
        // As many as libbpf loads for an object of a few programs, its
        // feature probes included.
        for (size_t i = 0; i + 1 < userbpf::kWorkerStartLoads; i++) {
          long fd = load_return_zero();
          if (fd < 0) return std::string();
          close(static_cast<int>(fd));
        }
        std::string seen = worker_running() ? "early " : "none ";
        start_the_worker();
        usleep(20000);
        return seen + (worker_running() ? "running" : "missing");
      },
      true, &ok);
  ASSERT_TRUE(ok);
  EXPECT_EQ(text, "none running");
}

// A released program is gone for everyone at once (its region removed, so
// GET_FD_BY_ID and the walks take its file for absent); its name goes on
// the worker's thread, with the next few released, and at a normal exit.
TEST(ReleasedPrograms, AreAbsentAtOnceAndTheirFilesGoOffTheCallersThread) {
  auto load_and_close = [] {
    long prog = load_return_zero();
    if (prog < 0) return std::string();
    const std::string name = "prog-" + std::to_string(prog_id(static_cast<int>(prog)));
    close(static_cast<int>(prog));
    return name;
  };
  const std::string first = load_and_close();
  ASSERT_FALSE(first.empty());
  const uint32_t id = static_cast<uint32_t>(strtoul(first.c_str() + 5, nullptr, 10));
  union bpf_attr a = {};
  a.prog_id = id;
  EXPECT_EQ(call(U, BPF_PROG_GET_FD_BY_ID, a), -ENOENT);
  EXPECT_FALSE(all_prog_ids().count(id));
  if (store_has(first)) {
    EXPECT_LT(getxattr(store_file(first).c_str(), "user.userbpf.region", nullptr, 0), 0) << "released, region kept";
  }
  // A few more releases wake the worker, which unlinks them all.
  std::vector<std::string> names = {first};
  for (int i = 0; i < 8; i++) names.push_back(load_and_close());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  auto left = [&] { return std::count_if(names.begin(), names.end(), [](const std::string &n) { return store_has(n); }); };
  while (left() > 0 && std::chrono::steady_clock::now() < deadline) usleep(2000);
  EXPECT_EQ(left(), 0);
  // One left to the exit handler.
  bool ok = false;
  const std::string child = in_child(load_and_close, true, &ok);
  ASSERT_TRUE(ok);
  EXPECT_FALSE(store_has(child)) << child << " outlived its process";
}

// The pool keeps at most 2 MiB of spares: released files beyond it go, and
// every spare kept holds one description, no more.
TEST(NamedSpares, ThePoolKeepsToItsBudget) {
  usleep(200000); // earlier tests' spares settle
  auto open_fds = [] {
    int n = 0;
    if (DIR *d = opendir("/proc/self/fd")) {
      while (readdir(d)) n++;
      closedir(d);
    }
    return n;
  };
  auto kept_bytes = [] {
    size_t bytes = 0;
    for (uint32_t id : unpublished_map_ids()) {
      struct stat sb;
      if (stat(store_file("map-" + std::to_string(id)).c_str(), &sb) == 0)
        bytes += static_cast<size_t>(sb.st_size);
    }
    return bytes;
  };
  constexpr uint32_t kEntries = 30000; // a 240 KiB region, under the largest kept (256 KiB)
  for (int round = 0; round < 3; round++) {
    std::vector<int> fds;
    for (int i = 0; i < 12; i++) {
      fds.push_back(array_map(kEntries));
      ASSERT_GE(fds.back(), 0);
    }
    for (int fd : fds) close(fd);
    usleep(300000); // grace periods, pooling, naming
    EXPECT_LE(kept_bytes(), size_t{2} * 1024 * 1024) << "round " << round << ": more spares kept than the pool's budget";
  }
  const int fds_now = open_fds();
  // Every spare holds one description: no more fds than files kept.
  EXPECT_LE(static_cast<size_t>(fds_now), 64 + unpublished_map_ids().size()) << "descriptions of dropped spares left open";
}

// Another process's walk over the ids leaves this process's spares named
// ahead, however old: their owner is alive (its owner lock is held).
TEST(NamedSpares, AnotherProcesssWalkLeavesThem) {
  start_the_worker();
  int fd = array_map(16);
  ASSERT_GE(fd, 0);
  const uint32_t last_id = map_id(fd);
  close(fd);
  const std::set<uint32_t> named = await_named_spares(1, last_id);
  ASSERT_FALSE(named.empty());
  for (uint32_t id : named) age_file(store_file("map-" + std::to_string(id)));
  bool ok = false;
  const std::string listed = in_child([] { return std::to_string(all_map_ids().size()); }, false, &ok);
  ASSERT_TRUE(ok);
  EXPECT_EQ(listed, "0");
  const std::set<uint32_t> after = unpublished_map_ids();
  for (uint32_t id : named) EXPECT_TRUE(after.count(id)) << "map-" << id << " removed by another process's walk";
  int next = array_map(16);
  ASSERT_GE(next, 0);
  EXPECT_TRUE(named.count(map_id(next))) << map_id(next) << ": not made from a spare named ahead";
  close(next);
}

// Every fd userbpf keeps or hands out is opened inside the caller's own
// bpf() call, never by its threads (liburcu's, the one making program files
// ahead): an fd appearing at a moment the program did not choose could take
// a number the program just closed (DESIGN-NOTES "Files made ahead"). While
// the program makes no call, fds may only go away.
TEST(Fds, NoneAppearsBetweenCalls) {
  auto fds_now = [] {
    std::map<int, std::string> fds;
    if (DIR *d = opendir("/proc/self/fd")) {
      const int own = dirfd(d);
      while (struct dirent *e = readdir(d)) {
        if (e->d_name[0] == '.') continue;
        const int fd = atoi(e->d_name);
        if (fd == own) continue;
        // What it is open on (a file of ours may be renamed meanwhile: the
        // worker names spares ahead).
        struct stat sb;
        fds[fd] = fstat(fd, &sb) == 0 ? std::to_string(sb.st_dev) + ":" + std::to_string(sb.st_ino) : std::string();
      }
      closedir(d);
    }
    return fds;
  };
  // Work for the background: views to free and pool, program files to make
  // ahead and to give up.
  for (int round = 0; round < 3; round++) {
    std::vector<int> open_now;
    for (int i = 0; i < 8; i++) open_now.push_back(array_map(16));
    for (int i = 0; i < 20; i++) {
      long prog = load_return_zero();
      ASSERT_GE(prog, 0);
      if (i % 4 == 0) open_now.push_back(static_cast<int>(prog));
      else close(static_cast<int>(prog));
    }
    for (int fd : open_now) close(fd);
    const std::map<int, std::string> before = fds_now();
    usleep(300000); // grace periods pass, the pools fill
    for (const auto &[fd, target] : fds_now()) {
      auto it = before.find(fd);
      EXPECT_TRUE(it != before.end() && it->second == target)
          << "fd " << fd << " (" << target << ") appeared while no call was made, round " << round;
    }
  }
}
