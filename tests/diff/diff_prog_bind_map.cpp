// Differential test of BPF_PROG_BIND_MAP: the same calls on the kernel's
// bpf() and on userbpf_bpf(), compared step by step. What is compared:
// the result or -errno of every call, the program's map_ids (as positions in
// the list of maps each side created, since ids differ between the sides),
// and whether a bound map outlives its last fd while the program lives (and
// goes with the program).
//
// The kernel's answers, as observed on Linux 6.18, are written next to each
// step (EXPECT on the kernel side), so a case that stopped exercising what
// it claims (a load that failed, leaving only EBADFs) shows.
#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "bpf_test_util.h"
#include "private_root_env.h"

namespace {

using ubt::BpfFn;

// One side of the comparison: the kernel or userbpf.
struct Side {
  BpfFn fn;
  const char *name;
  std::vector<int> fds; // closed at the end

  ~Side() {
    for (int fd : fds)
      if (fd >= 0) close(fd);
  }
  int keep(long fd) {
    if (fd >= 0) fds.push_back(static_cast<int>(fd));
    return static_cast<int>(fd);
  }
  void forget(int fd) {
    for (int &f : fds)
      if (f == fd) f = -1;
    close(fd);
  }

  int map() { return keep(ubt::map_create(fn, BPF_MAP_TYPE_ARRAY, 4, 8, 1)); }

  // A socket filter returning 0; with map_fd >= 0 its instructions name the
  // map (ld_imm64 r1 = map), so the map is used from load on.
  int prog(int map_fd = -1) {
    std::vector<struct bpf_insn> insns;
    if (map_fd >= 0) {
      insns.push_back({BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, map_fd});
      insns.push_back({0, 0, 0, 0, 0});
    }
    insns.push_back({BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0});
    insns.push_back({BPF_JMP | BPF_EXIT, 0, 0, 0, 0});
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
    a.insns = reinterpret_cast<uintptr_t>(insns.data());
    a.insn_cnt = static_cast<uint32_t>(insns.size());
    a.license = reinterpret_cast<uintptr_t>("GPL");
    return keep(ubt::call(fn, BPF_PROG_LOAD, a));
  }

  long bind(int prog_fd, int map_fd, uint32_t flags = 0) {
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.prog_bind_map.prog_fd = static_cast<uint32_t>(prog_fd);
    a.prog_bind_map.map_fd = static_cast<uint32_t>(map_fd);
    a.prog_bind_map.flags = flags;
    return ubt::call(fn, BPF_PROG_BIND_MAP, a);
  }

  // The same with a non-zero byte right after prog_bind_map.flags.
  long bind_dirty_tail(int prog_fd, int map_fd) {
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.prog_bind_map.prog_fd = static_cast<uint32_t>(prog_fd);
    a.prog_bind_map.map_fd = static_cast<uint32_t>(map_fd);
    reinterpret_cast<uint8_t *>(&a)[offsetof(union bpf_attr, prog_bind_map.flags) + 4] = 1;
    return ubt::call(fn, BPF_PROG_BIND_MAP, a);
  }

  uint32_t map_id(int map_fd) {
    struct bpf_map_info info;
    memset(&info, 0, sizeof(info));
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.info.bpf_fd = static_cast<uint32_t>(map_fd);
    a.info.info_len = sizeof(info);
    a.info.info = reinterpret_cast<uintptr_t>(&info);
    EXPECT_EQ(ubt::call(fn, BPF_OBJ_GET_INFO_BY_FD, a), 0) << name;
    return info.id;
  }

  std::vector<uint32_t> prog_map_ids(int prog_fd) {
    std::vector<uint32_t> ids(128);
    struct bpf_prog_info info;
    memset(&info, 0, sizeof(info));
    info.nr_map_ids = static_cast<uint32_t>(ids.size());
    info.map_ids = reinterpret_cast<uintptr_t>(ids.data());
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.info.bpf_fd = static_cast<uint32_t>(prog_fd);
    a.info.info_len = sizeof(info);
    a.info.info = reinterpret_cast<uintptr_t>(&info);
    EXPECT_EQ(ubt::call(fn, BPF_OBJ_GET_INFO_BY_FD, a), 0) << name;
    ids.resize(std::min<size_t>(info.nr_map_ids, ids.size()));
    return ids;
  }

  // The map_ids of a program as positions in `maps` (this side's map fds):
  // comparable across the sides. -1 for an id that is none of them.
  std::vector<int> used_positions(int prog_fd, const std::vector<int> &maps) {
    std::vector<uint32_t> known;
    for (int m : maps) known.push_back(map_id(m));
    std::vector<int> out;
    for (uint32_t id : prog_map_ids(prog_fd)) {
      int pos = -1;
      for (size_t i = 0; i < known.size(); i++)
        if (known[i] == id) pos = static_cast<int>(i);
      out.push_back(pos);
    }
    return out;
  }

  long map_fd_by_id(uint32_t id) {
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.map_id = id;
    long fd = ubt::call(fn, BPF_MAP_GET_FD_BY_ID, a);
    if (fd >= 0) close(static_cast<int>(fd));
    return fd < 0 ? fd : 0;
  }

  // The kernel frees a program's maps after an RCU grace period: wait (at
  // most 5 s) until the map id stops answering. 0 if still there, -ENOENT
  // once gone.
  long map_gone_eventually(uint32_t id) {
    for (int i = 0; i < 500; i++) {
      long r = map_fd_by_id(id);
      if (r == -ENOENT) return r;
      struct timespec ts = {0, 10 * 1000 * 1000};
      nanosleep(&ts, nullptr);
    }
    return map_fd_by_id(id);
  }
};

class DiffProgBindMap : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!ubt::kernel_bpf_available(&why)) GTEST_SKIP() << why;
  }
  Side k{ubt::kernel_call, "kernel", {}};
  Side u{ubt::userbpf_call, "userbpf", {}};
};

// Run the same step on both sides; the kernel's answer must be `expected`
// (as observed on 6.18) and userbpf's the kernel's.
#define BOTH(expected, expr_k, expr_u)                         \
  do {                                                          \
    long rk = (expr_k), ru = (expr_u);                          \
    EXPECT_EQ(rk, (expected)) << "kernel: " #expr_k;            \
    EXPECT_EQ(ru, rk) << "userbpf vs kernel: " #expr_u;         \
  } while (0)

TEST_F(DiffProgBindMap, Errors) {
  int kp = k.prog(), up = u.prog(), km = k.map(), um = u.map();
  ASSERT_GE(kp, 0);
  ASSERT_GE(up, 0);
  ASSERT_GE(km, 0);
  ASSERT_GE(um, 0);
  int dev_null = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(dev_null, 0);
  // flags are checked first, before the fds.
  BOTH(-EINVAL, k.bind(kp, km, 1), u.bind(up, um, 1));
  BOTH(-EINVAL, k.bind(-1, -1, 0x80000000u), u.bind(-1, -1, 0x80000000u));
  // Unused attr bytes after flags must be zero (CHECK_ATTR).
  BOTH(-EINVAL, k.bind_dirty_tail(kp, km), u.bind_dirty_tail(up, um));
  // Bad fds; the program's is looked at first.
  BOTH(-EBADF, k.bind(-1, km), u.bind(-1, um));
  BOTH(-EBADF, k.bind(999, km), u.bind(999, um));
  BOTH(-EBADF, k.bind(kp, 999), u.bind(up, 999));
  BOTH(-EBADF, k.bind(998, 999), u.bind(998, 999));
  BOTH(-EBADF, k.bind(998, dev_null), u.bind(998, dev_null));
  // Fds of the wrong kind.
  BOTH(-EINVAL, k.bind(km, km), u.bind(um, um));
  BOTH(-EINVAL, k.bind(kp, kp), u.bind(up, up));
  BOTH(-EINVAL, k.bind(dev_null, km), u.bind(dev_null, um));
  BOTH(-EINVAL, k.bind(kp, dev_null), u.bind(up, dev_null));
  BOTH(-EINVAL, k.bind(km, 999), u.bind(um, 999));
  close(dev_null);
  // None of it bound anything.
  EXPECT_TRUE(k.prog_map_ids(kp).empty());
  EXPECT_TRUE(u.prog_map_ids(up).empty());
}

TEST_F(DiffProgBindMap, BindListsTheMapOnceInOrder) {
  std::vector<int> kmaps = {k.map(), k.map(), k.map()}, umaps = {u.map(), u.map(), u.map()};
  for (int fd : kmaps) ASSERT_GE(fd, 0);
  for (int fd : umaps) ASSERT_GE(fd, 0);
  // A program whose instructions use map 0.
  int kp = k.prog(kmaps[0]), up = u.prog(umaps[0]);
  ASSERT_GE(kp, 0);
  ASSERT_GE(up, 0);
  EXPECT_EQ(k.used_positions(kp, kmaps), std::vector<int>{0});
  EXPECT_EQ(u.used_positions(up, umaps), k.used_positions(kp, kmaps));
  // Binding a map the program already uses succeeds and changes nothing.
  BOTH(0, k.bind(kp, kmaps[0]), u.bind(up, umaps[0]));
  EXPECT_EQ(u.used_positions(up, umaps), k.used_positions(kp, kmaps));
  // New maps are appended, in order; a second bind is a no-op.
  BOTH(0, k.bind(kp, kmaps[2]), u.bind(up, umaps[2]));
  BOTH(0, k.bind(kp, kmaps[1]), u.bind(up, umaps[1]));
  BOTH(0, k.bind(kp, kmaps[2]), u.bind(up, umaps[2]));
  EXPECT_EQ(k.used_positions(kp, kmaps), (std::vector<int>{0, 2, 1}));
  EXPECT_EQ(u.used_positions(up, umaps), k.used_positions(kp, kmaps));
  // A second program binding the same map has its own list.
  int kp2 = k.prog(), up2 = u.prog();
  BOTH(0, k.bind(kp2, kmaps[2]), u.bind(up2, umaps[2]));
  EXPECT_EQ(k.used_positions(kp2, kmaps), std::vector<int>{2});
  EXPECT_EQ(u.used_positions(up2, umaps), k.used_positions(kp2, kmaps));
}

TEST_F(DiffProgBindMap, BoundMapLivesWithTheProgram) {
  int kp = k.prog(), up = u.prog();
  int km = k.map(), um = u.map();
  ASSERT_GE(kp, 0);
  ASSERT_GE(up, 0);
  ASSERT_GE(km, 0);
  ASSERT_GE(um, 0);
  const uint32_t kid = k.map_id(km), uid = u.map_id(um);
  BOTH(0, k.bind(kp, km), u.bind(up, um));
  // The map's last fd goes: the program's reference keeps it.
  k.forget(km);
  u.forget(um);
  BOTH(0, k.map_fd_by_id(kid), u.map_fd_by_id(uid));
  EXPECT_EQ(k.prog_map_ids(kp), std::vector<uint32_t>{kid});
  EXPECT_EQ(u.prog_map_ids(up), std::vector<uint32_t>{uid});
  // The program goes: so does the map.
  k.forget(kp);
  u.forget(up);
  BOTH(-ENOENT, k.map_gone_eventually(kid), u.map_gone_eventually(uid));
}

TEST_F(DiffProgBindMap, UnboundMapGoesWithItsFd) {
  // The control case: without the bind, the map's last close frees it.
  int kp = k.prog(), up = u.prog();
  int km = k.map(), um = u.map();
  ASSERT_GE(kp, 0);
  ASSERT_GE(up, 0);
  const uint32_t kid = k.map_id(km), uid = u.map_id(um);
  k.forget(km);
  u.forget(um);
  BOTH(-ENOENT, k.map_gone_eventually(kid), u.map_gone_eventually(uid));
}

TEST_F(DiffProgBindMap, BindInAnotherProcessIsSeenHere) {
  // The child binds through fds it inherited; the parent, which read the
  // program before, sees the map in the program's info and the program's
  // hold on it.
  int kp = k.prog(), up = u.prog(), km = k.map(), um = u.map();
  ASSERT_GE(kp, 0);
  ASSERT_GE(up, 0);
  ASSERT_GE(km, 0);
  ASSERT_GE(um, 0);
  EXPECT_TRUE(k.prog_map_ids(kp).empty());
  EXPECT_TRUE(u.prog_map_ids(up).empty());
  const uint32_t kid = k.map_id(km), uid = u.map_id(um);
  auto bind_in_child = [](Side &s, int prog_fd, int map_fd) {
    pid_t pid = fork();
    if (pid == 0) _exit(s.bind(prog_fd, map_fd) == 0 ? 0 : 1);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  EXPECT_EQ(bind_in_child(k, kp, km), 0);
  EXPECT_EQ(bind_in_child(u, up, um), 0);
  EXPECT_EQ(k.prog_map_ids(kp), std::vector<uint32_t>{kid});
  EXPECT_EQ(u.prog_map_ids(up), std::vector<uint32_t>{uid});
  k.forget(km);
  u.forget(um);
  BOTH(0, k.map_fd_by_id(kid), u.map_fd_by_id(uid));
}

TEST_F(DiffProgBindMap, ManyMaps) {
  // The kernel's list grows without a limit (6.18 binds a 65th map and
  // more); userbpf keeps a program's maps in its header, 64 slots
  // (MAX_USED_MAPS), and answers E2BIG past them
  // (tests/diff/known-differences.md).
  int kp = k.prog(), up = u.prog();
  ASSERT_GE(kp, 0);
  ASSERT_GE(up, 0);
  for (int i = 0; i < 64; i++) {
    int km = k.map(), um = u.map();
    ASSERT_GE(km, 0);
    ASSERT_GE(um, 0);
    BOTH(0, k.bind(kp, km), u.bind(up, um));
    k.forget(km);
    u.forget(um);
  }
  EXPECT_EQ(k.prog_map_ids(kp).size(), 64u);
  EXPECT_EQ(u.prog_map_ids(up).size(), 64u);
  int km = k.map(), um = u.map();
  EXPECT_EQ(k.bind(kp, km), 0);
  EXPECT_EQ(u.bind(up, um), -E2BIG);
  EXPECT_EQ(k.prog_map_ids(kp).size(), 65u);
  EXPECT_EQ(u.prog_map_ids(up).size(), 64u);
  // The refused map was not kept: its last close frees it.
  const uint32_t uid = u.map_id(um);
  u.forget(um);
  EXPECT_EQ(u.map_fd_by_id(uid), -ENOENT);
}

} // namespace
