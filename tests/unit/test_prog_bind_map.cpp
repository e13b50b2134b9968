// BPF_PROG_BIND_MAP on userbpf alone, where the kernel has nothing to compare
// with: the store's side of the command (the program's map list written to
// its file under the store lock). Threads binding at once lose no map; a
// pinned program keeps its bound maps after every fd is gone, and drops them
// with its last pin; a process that opened the program before the bind
// reads the new list. The kernel's answers: tests/diff/diff_prog_bind_map.cpp.
#include <errno.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "bpf_test_util.h"
#include "private_root_env.h"

namespace {

using ubt::call;
constexpr ubt::BpfFn U = ubt::userbpf_call;

int array_map() { return static_cast<int>(ubt::map_create(U, BPF_MAP_TYPE_ARRAY, 4, 8, 1)); }

int socket_filter() {
  const struct bpf_insn insns[] = {{BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0}, {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}};
  union bpf_attr a = {};
  a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  a.insns = reinterpret_cast<uintptr_t>(insns);
  a.insn_cnt = 2;
  a.license = reinterpret_cast<uintptr_t>("GPL");
  return static_cast<int>(call(U, BPF_PROG_LOAD, a));
}

long bind(int prog, int map) {
  union bpf_attr a = {};
  a.prog_bind_map.prog_fd = static_cast<uint32_t>(prog);
  a.prog_bind_map.map_fd = static_cast<uint32_t>(map);
  return call(U, BPF_PROG_BIND_MAP, a);
}

uint32_t map_id(int fd) { return ubt::object_id<struct bpf_map_info>(U, fd); }

std::vector<uint32_t> used_maps(int prog) {
  std::vector<uint32_t> ids(128);
  struct bpf_prog_info info = {};
  info.nr_map_ids = static_cast<uint32_t>(ids.size());
  info.map_ids = reinterpret_cast<uintptr_t>(ids.data());
  union bpf_attr a = {};
  a.info.bpf_fd = static_cast<uint32_t>(prog);
  a.info.info_len = sizeof(info);
  a.info.info = reinterpret_cast<uintptr_t>(&info);
  EXPECT_EQ(call(U, BPF_OBJ_GET_INFO_BY_FD, a), 0);
  ids.resize(std::min<size_t>(info.nr_map_ids, ids.size()));
  return ids;
}

bool map_alive(uint32_t id) {
  union bpf_attr a = {};
  a.map_id = id;
  long fd = call(U, BPF_MAP_GET_FD_BY_ID, a);
  if (fd >= 0) close(static_cast<int>(fd));
  return fd >= 0;
}

TEST(ProgBindMap, ConcurrentBindsLoseNothing) {
  const int prog = socket_filter();
  ASSERT_GE(prog, 0);
  constexpr int kThreads = 4, kPerThread = 16; // 64: every slot
  std::vector<std::vector<int>> maps(kThreads);
  std::set<uint32_t> ids;
  for (auto &v : maps)
    for (int i = 0; i < kPerThread; i++) {
      v.push_back(array_map());
      ASSERT_GE(v.back(), 0);
      ids.insert(map_id(v.back()));
    }
  std::vector<std::thread> threads;
  std::vector<int> failures(kThreads, 0);
  for (int t = 0; t < kThreads; t++)
    threads.emplace_back([&, t] {
      for (int fd : maps[static_cast<size_t>(t)]) {
        failures[static_cast<size_t>(t)] += bind(prog, fd) != 0;
        failures[static_cast<size_t>(t)] += bind(prog, fd) != 0; // again: a no-op
      }
    });
  for (auto &th : threads) th.join();
  for (int f : failures) EXPECT_EQ(f, 0);
  const std::vector<uint32_t> used = used_maps(prog);
  EXPECT_EQ(used.size(), ids.size());
  EXPECT_EQ(std::set<uint32_t>(used.begin(), used.end()), ids);
  // Full: a new map is refused and not kept.
  const int extra = array_map();
  EXPECT_EQ(bind(prog, extra), -E2BIG);
  const uint32_t extra_id = map_id(extra);
  close(extra);
  EXPECT_FALSE(map_alive(extra_id));
  // The program holds all 64 after their fds go, and frees them when it goes.
  for (auto &v : maps)
    for (int fd : v) close(fd);
  for (uint32_t id : ids) EXPECT_TRUE(map_alive(id)) << id;
  close(prog);
  for (uint32_t id : ids) EXPECT_FALSE(map_alive(id)) << id;
}

TEST(ProgBindMap, PinnedProgramKeepsItsBoundMaps) {
  const int prog = socket_filter(), map = array_map();
  ASSERT_GE(prog, 0);
  ASSERT_GE(map, 0);
  ASSERT_EQ(bind(prog, map), 0);
  const uint32_t id = map_id(map);
  union bpf_attr a = {};
  a.bpf_fd = static_cast<uint32_t>(prog);
  a.pathname = reinterpret_cast<uintptr_t>("/sys/fs/bpf/bound_prog");
  ASSERT_EQ(call(U, BPF_OBJ_PIN, a), 0);
  close(map);
  close(prog);
  EXPECT_TRUE(map_alive(id));
  // A new handle on the pinned program reads the list from the store.
  a = {};
  a.pathname = reinterpret_cast<uintptr_t>("/sys/fs/bpf/bound_prog");
  const long again = call(U, BPF_OBJ_GET, a);
  ASSERT_GE(again, 0);
  EXPECT_EQ(used_maps(static_cast<int>(again)), std::vector<uint32_t>{id});
  close(static_cast<int>(again));
  char real[4096];
  ASSERT_EQ(userbpf_pin_path("/sys/fs/bpf/bound_prog", real, sizeof(real)), 0);
  ASSERT_EQ(unlink(real), 0);
  EXPECT_FALSE(map_alive(id)); // the lookup finds the program gone, and so its map
}

TEST(ProgBindMap, ABindInAChildIsSeenByTheParent) {
  const int prog = socket_filter(), map = array_map();
  ASSERT_GE(prog, 0);
  ASSERT_GE(map, 0);
  EXPECT_TRUE(used_maps(prog).empty()); // this process has read the program
  const pid_t pid = fork();
  if (pid == 0) _exit(bind(prog, map) == 0 ? 0 : 1);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(used_maps(prog), std::vector<uint32_t>{map_id(map)});
  EXPECT_EQ(bind(prog, map), 0); // already there
  EXPECT_EQ(used_maps(prog).size(), 1u);
  close(map);
  close(prog);
}

} // namespace
