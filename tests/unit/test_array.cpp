// BPF_MAP_TYPE_ARRAY and BPF_MAP_TYPE_PERCPU_ARRAY through the bpf() ABI.
//
// Every test runs twice: against userbpf_bpf() and against the kernel's bpf()
// (skipped where the kernel's is unavailable). The expectations are the
// kernel's observed behaviour, so the kernel run checks the tests themselves.
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstring>
#include <thread>
#include <vector>

#include "bpf_test_util.h"
#include "cpu_test_util.h"
#include "private_root_env.h"
#include "maps/map.h"
#include "object/object.h"

namespace userbpf {
extern const MapOps array_map_ops;
extern const MapOps percpu_array_map_ops;
} // namespace userbpf

namespace {

using ubt::BpfFn;

constexpr long kENOTSUPP = 524; // the kernel-internal errno the kernel leaks for unsupported map commands
constexpr uint32_t kArray = BPF_MAP_TYPE_ARRAY;
constexpr uint32_t kPercpuArray = BPF_MAP_TYPE_PERCPU_ARRAY;


struct Backend {
  const char *name;
  BpfFn fn;
};
void PrintTo(const Backend &backend, std::ostream *os) { *os << backend.name; }

class ArrayTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    fn = GetParam().fn;
    std::string why;
    if (fn == ubt::kernel_call && !ubt::kernel_bpf_available(&why)) GTEST_SKIP() << why;
    ncpus = static_cast<uint32_t>(userbpf_num_possible_cpus());
  }
  void TearDown() override {
    for (int fd : fds) close(fd);
  }

  // Create a map that the test closes at the end; fails the test on error.
  int create(uint32_t type, uint32_t value_size, uint32_t max_entries, uint32_t flags = 0) {
    long fd = ubt::map_create(fn, type, sizeof(uint32_t), value_size, max_entries, flags);
    EXPECT_GE(fd, 0) << "create: " << strerror(static_cast<int>(-fd));
    if (fd >= 0) fds.push_back(static_cast<int>(fd));
    return static_cast<int>(fd);
  }
  // The result of a create that is expected to fail (closes it if it did not).
  long create_result(uint32_t type, uint32_t key_size, uint32_t value_size, uint32_t max_entries,
                     uint32_t flags = 0, uint32_t numa_node = 0) {
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.map_type = type;
    a.key_size = key_size;
    a.value_size = value_size;
    a.max_entries = max_entries;
    a.map_flags = flags;
    a.numa_node = numa_node;
    long r = ubt::call(fn, BPF_MAP_CREATE, a);
    if (r >= 0) close(static_cast<int>(r));
    return r;
  }
  uint32_t percpu_size(uint32_t value_size) const { return (value_size + 7) / 8 * 8 * ncpus; }

  BpfFn fn = nullptr;
  uint32_t ncpus = 1;
  std::vector<int> fds;
};

// ------------------------------------------------------------------ create

TEST_P(ArrayTest, CreateAcceptsValidShapes) {
  for (uint32_t type : {kArray, kPercpuArray}) {
    SCOPED_TRACE(type);
    EXPECT_GE(create_result(type, 4, 1, 1), 0);
    EXPECT_GE(create_result(type, 4, 13, 100), 0);
    EXPECT_GE(create_result(type, 4, 8, 4, BPF_F_RDONLY), 0);
    EXPECT_GE(create_result(type, 4, 8, 4, BPF_F_WRONLY), 0);
    EXPECT_GE(create_result(type, 4, 8, 4, BPF_F_RDONLY_PROG), 0);
    EXPECT_GE(create_result(type, 4, 8, 4, BPF_F_WRONLY_PROG), 0);
    // BPF_F_NUMA_NODE with NUMA_NO_NODE is fine for both.
    EXPECT_GE(create_result(type, 4, 8, 4, BPF_F_NUMA_NODE, UINT32_MAX), 0);
  }
  EXPECT_GE(create_result(kArray, 4, 8, 4, BPF_F_NUMA_NODE, 0), 0);
  EXPECT_GE(create_result(kArray, 4, 8, 4, BPF_F_MMAPABLE), 0);
  EXPECT_GE(create_result(kArray, 4, 8, 4, BPF_F_INNER_MAP), 0);
  EXPECT_GE(create_result(kArray, 4, 8, 4, BPF_F_MMAPABLE | BPF_F_RDONLY_PROG), 0);
  // Per-CPU values up to 32 KiB once rounded to 8.
  EXPECT_GE(create_result(kPercpuArray, 4, 32768, 1), 0);
  EXPECT_GE(create_result(kPercpuArray, 4, 32768 - 7, 1), 0);
}

TEST_P(ArrayTest, CreateRejectsBadSizes) {
  for (uint32_t type : {kArray, kPercpuArray}) {
    SCOPED_TRACE(type);
    EXPECT_EQ(create_result(type, 0, 8, 1), -EINVAL);
    EXPECT_EQ(create_result(type, 8, 8, 1), -EINVAL);
    EXPECT_EQ(create_result(type, 3, 8, 1), -EINVAL);
    EXPECT_EQ(create_result(type, 4, 0, 1), -EINVAL);
    EXPECT_EQ(create_result(type, 4, 8, 0), -EINVAL);
    EXPECT_EQ(create_result(type, 4, 0x80000000u, 1), -E2BIG);
    EXPECT_EQ(create_result(type, 4, UINT32_MAX, 1), -E2BIG);
    EXPECT_EQ(create_result(type, 4, UINT32_MAX, UINT32_MAX), -E2BIG);
  }
  EXPECT_EQ(create_result(kPercpuArray, 4, 32769, 1), -E2BIG);
  EXPECT_EQ(create_result(kPercpuArray, 4, 65536, 1), -E2BIG);
}

TEST_P(ArrayTest, CreateRejectsBadFlags) {
  const uint32_t foreign_flags[] = {BPF_F_NO_PREALLOC, BPF_F_NO_COMMON_LRU, BPF_F_STACK_BUILD_ID, BPF_F_ZERO_SEED,
                                    BPF_F_CLONE,       BPF_F_PRESERVE_ELEMS, 1u << 13,            1u << 16,
                                    1u << 17,          1u << 18,            1u << 31};
  for (uint32_t type : {kArray, kPercpuArray}) {
    SCOPED_TRACE(type);
    for (uint32_t flag : foreign_flags) EXPECT_EQ(create_result(type, 4, 8, 1, flag), -EINVAL) << "flag " << flag;
    EXPECT_EQ(create_result(type, 4, 8, 1, BPF_F_RDONLY | BPF_F_WRONLY), -EINVAL);
    EXPECT_EQ(create_result(type, 4, 8, 1, BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG), -EINVAL);
  }
  EXPECT_EQ(create_result(kPercpuArray, 4, 8, 1, BPF_F_MMAPABLE), -EINVAL);
  EXPECT_EQ(create_result(kPercpuArray, 4, 8, 1, BPF_F_INNER_MAP), -EINVAL);
  EXPECT_EQ(create_result(kPercpuArray, 4, 8, 1, BPF_F_NUMA_NODE, 0), -EINVAL);
}

// ------------------------------------------------------------------ ARRAY elements

TEST_P(ArrayTest, UnwrittenElementsReadZero) {
  int fd = create(kArray, 24, 8);
  for (uint32_t k = 0; k < 8; ++k) {
    uint8_t v[24];
    memset(v, 0x5c, sizeof(v));
    ASSERT_EQ(ubt::map_lookup(fn, fd, &k, v), 0);
    for (uint8_t b : v) EXPECT_EQ(b, 0);
  }
}

// A map released by its last close is gone at once: its id answers ENOENT,
// and every new map of the same shape (userbpf makes them from the released
// one's file: DESIGN-NOTES "Recycling") starts zeroed under an id of its own.
TEST_P(ArrayTest, NewMapsAfterAReleaseStartZeroedUnderNewIds) {
  auto id_of = [&](int fd) { return ubt::object_id<struct bpf_map_info>(fn, fd); };
  auto fd_by_id = [&](uint32_t id) {
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.map_id = id;
    long r = ubt::call(fn, BPF_MAP_GET_FD_BY_ID, a);
    if (r >= 0) close(static_cast<int>(r));
    return r;
  };
  std::vector<uint32_t> released;
  for (int round = 0; round < 40; round++) {
    long fd = ubt::map_create(fn, kArray, sizeof(uint32_t), 8, 16);
    ASSERT_GE(fd, 0) << strerror(static_cast<int>(-fd));
    const int map = static_cast<int>(fd);
    const uint32_t id = id_of(map);
    for (uint32_t old : released) EXPECT_NE(id, old) << "round " << round;
    for (uint32_t k = 0; k < 16; k++) {
      uint64_t v = 1;
      ASSERT_EQ(ubt::map_lookup(fn, map, &k, &v), 0);
      ASSERT_EQ(v, 0u) << "round " << round << " key " << k;
      v = 0xf00d0000ull + k;
      ASSERT_EQ(ubt::map_update(fn, map, &k, &v), 0);
    }
    close(map);
    EXPECT_EQ(fd_by_id(id), -ENOENT) << "round " << round;
    released.push_back(id);
    usleep(5000); // room for a grace period: a released file becomes reusable
  }
}

TEST_P(ArrayTest, UpdateLookupRoundTripExactValueSize) {
  int fd = create(kArray, 13, 4);
  uint32_t k = 2;
  uint8_t in[13];
  for (int i = 0; i < 13; ++i) in[i] = static_cast<uint8_t>(0xa0 + i);
  ASSERT_EQ(ubt::map_update(fn, fd, &k, in), 0);
  uint8_t out[32];
  memset(out, 0x11, sizeof(out));
  ASSERT_EQ(ubt::map_lookup(fn, fd, &k, out), 0);
  EXPECT_EQ(memcmp(out, in, 13), 0);
  for (int i = 13; i < 32; ++i) EXPECT_EQ(out[i], 0x11) << "byte " << i << " written past value_size";
  // Neighbours untouched.
  for (uint32_t other : {1u, 3u}) {
    ASSERT_EQ(ubt::map_lookup(fn, fd, &other, out), 0);
    for (int i = 0; i < 13; ++i) EXPECT_EQ(out[i], 0);
  }
}

TEST_P(ArrayTest, UpdateFlags) {
  int fd = create(kArray, 8, 4);
  uint32_t k = 1;
  uint64_t v = 7;
  EXPECT_EQ(ubt::map_update(fn, fd, &k, &v, BPF_ANY), 0);
  EXPECT_EQ(ubt::map_update(fn, fd, &k, &v, BPF_EXIST), 0); // every index exists
  EXPECT_EQ(ubt::map_update(fn, fd, &k, &v, BPF_NOEXIST), -EEXIST);
  EXPECT_EQ(ubt::map_update(fn, fd, &k, &v, BPF_NOEXIST | BPF_EXIST), -EINVAL);
  EXPECT_EQ(ubt::map_update(fn, fd, &k, &v, BPF_F_LOCK), -EINVAL); // no bpf_spin_lock in the value
  EXPECT_EQ(ubt::map_update(fn, fd, &k, &v, BPF_F_LOCK | BPF_NOEXIST), -EINVAL);
  EXPECT_EQ(ubt::map_update(fn, fd, &k, &v, 8), -EINVAL);
  EXPECT_EQ(ubt::map_update(fn, fd, &k, &v, 16), -EINVAL);
  EXPECT_EQ(ubt::map_update(fn, fd, &k, &v, 1ull << 40), -EINVAL);
  k = 4;
  EXPECT_EQ(ubt::map_update(fn, fd, &k, &v, BPF_ANY), -E2BIG);
  EXPECT_EQ(ubt::map_update(fn, fd, &k, &v, BPF_NOEXIST), -E2BIG);
  EXPECT_EQ(ubt::map_update(fn, fd, &k, &v, BPF_EXIST), -E2BIG);
  EXPECT_EQ(ubt::map_update(fn, fd, &k, &v, 3), -EINVAL); // flags are checked before the index
  k = UINT32_MAX;
  EXPECT_EQ(ubt::map_update(fn, fd, &k, &v, BPF_ANY), -E2BIG);
}

TEST_P(ArrayTest, LookupErrors) {
  int fd = create(kArray, 8, 4);
  uint64_t v = 0;
  uint32_t k = 4;
  EXPECT_EQ(ubt::map_lookup(fn, fd, &k, &v), -ENOENT);
  k = UINT32_MAX;
  EXPECT_EQ(ubt::map_lookup(fn, fd, &k, &v), -ENOENT);
  k = 0;
  EXPECT_EQ(ubt::map_lookup(fn, fd, &k, &v, 1), -EINVAL);
  EXPECT_EQ(ubt::map_lookup(fn, fd, &k, &v, BPF_F_LOCK), -EINVAL);
  EXPECT_EQ(ubt::map_lookup(fn, fd, nullptr, &v), -EFAULT);
}

TEST_P(ArrayTest, DeleteIsInvalidAndLookupAndDeleteUnsupported) {
  for (uint32_t type : {kArray, kPercpuArray}) {
    SCOPED_TRACE(type);
    int fd = create(type, 8, 4);
    std::vector<uint8_t> v(percpu_size(8));
    for (uint32_t k : {0u, 3u, 4u, UINT32_MAX}) {
      EXPECT_EQ(ubt::map_delete(fn, fd, &k), -EINVAL) << k;
      EXPECT_EQ(ubt::map_lookup_and_delete(fn, fd, &k, v.data()), -kENOTSUPP) << k;
    }
    uint32_t k = 0;
    EXPECT_EQ(ubt::map_delete(fn, fd, nullptr), -EFAULT);
    EXPECT_EQ(ubt::map_lookup_and_delete(fn, fd, &k, v.data(), 1), -EINVAL);
    EXPECT_EQ(ubt::map_lookup_and_delete(fn, fd, &k, v.data(), BPF_F_LOCK), -EINVAL);
  }
}

TEST_P(ArrayTest, GetNextKeyWalk) {
  for (uint32_t type : {kArray, kPercpuArray}) {
    SCOPED_TRACE(type);
    int fd = create(type, 8, 5);
    uint32_t next = 77;
    ASSERT_EQ(ubt::map_get_next_key(fn, fd, nullptr, &next), 0);
    EXPECT_EQ(next, 0u);
    std::vector<uint32_t> walk{next};
    uint32_t cur = next;
    long r;
    while ((r = ubt::map_get_next_key(fn, fd, &cur, &next)) == 0) {
      walk.push_back(next);
      cur = next;
      ASSERT_LE(walk.size(), 5u);
    }
    EXPECT_EQ(r, -ENOENT);
    EXPECT_EQ(walk, (std::vector<uint32_t>{0, 1, 2, 3, 4}));
    // A key past the end restarts the walk at 0.
    for (uint32_t k : {5u, 100u, UINT32_MAX}) {
      next = 77;
      EXPECT_EQ(ubt::map_get_next_key(fn, fd, &k, &next), 0);
      EXPECT_EQ(next, 0u);
    }
  }
}

// ------------------------------------------------------------------ PERCPU_ARRAY elements

TEST_P(ArrayTest, PercpuValuesAreRoundedSlotsPerCpu) {
  int fd = create(kPercpuArray, 13, 4);
  const uint32_t size = percpu_size(13); // 16 bytes per possible CPU
  std::vector<uint8_t> in(size), out(size + 16);
  for (uint32_t i = 0; i < size; ++i) in[i] = static_cast<uint8_t>(i + 1);
  uint32_t k = 2;
  ASSERT_EQ(ubt::map_update(fn, fd, &k, in.data()), 0);
  memset(out.data(), 0xee, out.size());
  ASSERT_EQ(ubt::map_lookup(fn, fd, &k, out.data()), 0);
  // The whole rounded slot of every CPU round-trips, padding bytes included.
  EXPECT_EQ(memcmp(out.data(), in.data(), size), 0);
  for (uint32_t i = size; i < out.size(); ++i) EXPECT_EQ(out[i], 0xee) << "byte " << i << " written past the value";
  // Other elements are still all zero on every CPU.
  k = 1;
  ASSERT_EQ(ubt::map_lookup(fn, fd, &k, out.data()), 0);
  for (uint32_t i = 0; i < size; ++i) EXPECT_EQ(out[i], 0);
}

TEST_P(ArrayTest, PercpuUpdateAndLookupFlags) {
  int fd = create(kPercpuArray, 8, 4);
  std::vector<uint8_t> v(percpu_size(8));
  uint32_t k = 1;
  EXPECT_EQ(ubt::map_update(fn, fd, &k, v.data(), BPF_ANY), 0);
  EXPECT_EQ(ubt::map_update(fn, fd, &k, v.data(), BPF_EXIST), 0);
  EXPECT_EQ(ubt::map_update(fn, fd, &k, v.data(), BPF_NOEXIST), -EEXIST);
  EXPECT_EQ(ubt::map_update(fn, fd, &k, v.data(), 3), -EINVAL);
  EXPECT_EQ(ubt::map_update(fn, fd, &k, v.data(), BPF_F_LOCK), -EINVAL);
  EXPECT_EQ(ubt::map_lookup(fn, fd, &k, v.data(), BPF_F_LOCK), -EINVAL);
  EXPECT_EQ(ubt::map_lookup(fn, fd, &k, v.data(), 1), -EINVAL);
  k = 4;
  EXPECT_EQ(ubt::map_update(fn, fd, &k, v.data(), BPF_ANY), -E2BIG);
  EXPECT_EQ(ubt::map_update(fn, fd, &k, v.data(), BPF_NOEXIST), -E2BIG);
  EXPECT_EQ(ubt::map_lookup(fn, fd, &k, v.data()), -ENOENT);
}

// ------------------------------------------------------------------ sharing and mmap

TEST_P(ArrayTest, UpdatesAreVisibleAcrossProcesses) {
  for (uint32_t type : {kArray, kPercpuArray}) {
    SCOPED_TRACE(type);
    int fd = create(type, 8, 4);
    const uint32_t size = type == kArray ? 8 : percpu_size(8);
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      std::vector<uint64_t> v(size / 8, 0x1234567890abcdefull);
      uint32_t k = 3;
      _exit(ubt::map_update(fn, fd, &k, v.data()) == 0 ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    std::vector<uint64_t> out(size / 8);
    uint32_t k = 3;
    ASSERT_EQ(ubt::map_lookup(fn, fd, &k, out.data()), 0);
    for (uint64_t x : out) EXPECT_EQ(x, 0x1234567890abcdefull);
  }
}

TEST_P(ArrayTest, MmapableArraySharesValuesWithSyscalls) {
  const long page = sysconf(_SC_PAGESIZE);
  int fd = create(kArray, 8, 1000, BPF_F_MMAPABLE); // 8000 bytes -> 2 pages
  auto *values = static_cast<uint64_t *>(mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  ASSERT_NE(values, MAP_FAILED) << strerror(errno);

  // Value i is at offset i * 8 of the mapping.
  values[5] = 12345;
  uint32_t k = 5;
  uint64_t v = 0;
  ASSERT_EQ(ubt::map_lookup(fn, fd, &k, &v), 0);
  EXPECT_EQ(v, 12345u);
  k = 999;
  v = 0xfeedface;
  ASSERT_EQ(ubt::map_update(fn, fd, &k, &v), 0);
  EXPECT_EQ(values[999], 0xfeedfaceu);

  // A second mapping of the second page alone sees the same memory.
  auto *second = static_cast<uint64_t *>(mmap(nullptr, page, PROT_READ, MAP_SHARED, fd, page));
  ASSERT_NE(second, MAP_FAILED) << strerror(errno);
  EXPECT_EQ(second[999 - page / 8], 0xfeedfaceu);
  munmap(second, page);

  // Beyond the (page-rounded) values: refused.
  void *too_big = mmap(nullptr, 3 * page, PROT_READ, MAP_SHARED, fd, 0);
  EXPECT_EQ(too_big, MAP_FAILED);
  EXPECT_EQ(errno, EINVAL);
  if (too_big != MAP_FAILED) munmap(too_big, 3 * page);
  munmap(values, 2 * page);
}

TEST_P(ArrayTest, MmapRefusedWithoutMmapableFlag) {
  const long page = sysconf(_SC_PAGESIZE);
  for (uint32_t type : {kArray, kPercpuArray}) {
    int fd = create(type, 8, 1000);
    void *p = mmap(nullptr, page, PROT_READ, MAP_SHARED, fd, 0);
    EXPECT_EQ(p, MAP_FAILED) << type;
    if (p != MAP_FAILED) munmap(p, page);
  }
}

TEST_P(ArrayTest, FreezeAndMmap) {
  const long page = sysconf(_SC_PAGESIZE);
  int fd = create(kArray, 8, 16, BPF_F_MMAPABLE);
  void *rw = mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ASSERT_NE(rw, MAP_FAILED);
  // A writable mapping exists: freezing would be a lie.
  EXPECT_EQ(ubt::map_freeze(fn, fd), -EBUSY);
  munmap(rw, page);
  EXPECT_EQ(ubt::map_freeze(fn, fd), 0);
  void *rw_again = mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  EXPECT_EQ(rw_again, MAP_FAILED);
  EXPECT_EQ(errno, EPERM);
  if (rw_again != MAP_FAILED) munmap(rw_again, page);
  void *ro = mmap(nullptr, page, PROT_READ, MAP_SHARED, fd, 0);
  EXPECT_NE(ro, MAP_FAILED);
  if (ro != MAP_FAILED) munmap(ro, page);
}

// ------------------------------------------------------------------ freeze and access flags

TEST_P(ArrayTest, FrozenMapRefusesWrites) {
  for (uint32_t type : {kArray, kPercpuArray}) {
    SCOPED_TRACE(type);
    int fd = create(type, 8, 4);
    std::vector<uint8_t> v(percpu_size(8), 0x42);
    uint32_t k = 1;
    ASSERT_EQ(ubt::map_update(fn, fd, &k, v.data()), 0);
    ASSERT_EQ(ubt::map_freeze(fn, fd), 0);
    EXPECT_EQ(ubt::map_update(fn, fd, &k, v.data()), -EPERM);
    EXPECT_EQ(ubt::map_delete(fn, fd, &k), -EPERM);
    EXPECT_EQ(ubt::map_lookup_and_delete(fn, fd, &k, v.data()), -EPERM);
    uint32_t count = 1;
    EXPECT_EQ(ubt::map_batch(fn, BPF_MAP_UPDATE_BATCH, fd, nullptr, nullptr, &k, v.data(), &count), -EPERM);
    EXPECT_EQ(ubt::map_freeze(fn, fd), -EPERM); // already frozen: no write access left
    std::vector<uint8_t> out(v.size());
    ASSERT_EQ(ubt::map_lookup(fn, fd, &k, out.data()), 0);
    EXPECT_EQ(out[0], 0x42);
  }
}

TEST_P(ArrayTest, ReadOnlyAndWriteOnlyMaps) {
  uint32_t k = 0;
  uint64_t v = 1;
  int ro = create(kArray, 8, 4, BPF_F_RDONLY);
  EXPECT_EQ(ubt::map_update(fn, ro, &k, &v), -EPERM);
  EXPECT_EQ(ubt::map_lookup(fn, ro, &k, &v), 0);
  int wo = create(kArray, 8, 4, BPF_F_WRONLY);
  EXPECT_EQ(ubt::map_lookup(fn, wo, &k, &v), -EPERM);
  EXPECT_EQ(ubt::map_update(fn, wo, &k, &v), 0);
}

// ------------------------------------------------------------------ batch commands

TEST_P(ArrayTest, LookupBatchWalksInChunks) {
  int fd = create(kArray, 13, 5);
  for (uint32_t k = 0; k < 5; ++k) {
    uint8_t v[13];
    memset(v, static_cast<int>(k + 1), sizeof(v));
    ASSERT_EQ(ubt::map_update(fn, fd, &k, v), 0);
  }
  uint32_t keys[8], out_batch = 99, count = 2;
  uint8_t values[8 * 13];
  // First chunk from the start.
  ASSERT_EQ(ubt::map_batch(fn, BPF_MAP_LOOKUP_BATCH, fd, nullptr, &out_batch, keys, values, &count), 0);
  EXPECT_EQ(count, 2u);
  EXPECT_EQ(out_batch, 1u);
  EXPECT_EQ(keys[0], 0u);
  EXPECT_EQ(keys[1], 1u);
  EXPECT_EQ(values[13], 2); // values packed at value_size strides
  // Resume from out_batch.
  uint32_t in_batch = out_batch;
  count = 2;
  ASSERT_EQ(ubt::map_batch(fn, BPF_MAP_LOOKUP_BATCH, fd, &in_batch, &out_batch, keys, values, &count), 0);
  EXPECT_EQ(count, 2u);
  EXPECT_EQ(out_batch, 3u);
  EXPECT_EQ(keys[0], 2u);
  EXPECT_EQ(values[0], 3);
  // Last, partial chunk: ENOENT with the partial count and out_batch.
  in_batch = out_batch;
  count = 8;
  EXPECT_EQ(ubt::map_batch(fn, BPF_MAP_LOOKUP_BATCH, fd, &in_batch, &out_batch, keys, values, &count), -ENOENT);
  EXPECT_EQ(count, 1u);
  EXPECT_EQ(out_batch, 4u);
  EXPECT_EQ(keys[0], 4u);
  EXPECT_EQ(values[12], 5);
  // Past the end: ENOENT, count 0, out_batch untouched.
  in_batch = 4;
  out_batch = 99;
  count = 8;
  EXPECT_EQ(ubt::map_batch(fn, BPF_MAP_LOOKUP_BATCH, fd, &in_batch, &out_batch, keys, values, &count), -ENOENT);
  EXPECT_EQ(count, 0u);
  EXPECT_EQ(out_batch, 99u);
  // The whole map at once.
  count = 8;
  EXPECT_EQ(ubt::map_batch(fn, BPF_MAP_LOOKUP_BATCH, fd, nullptr, &out_batch, keys, values, &count), -ENOENT);
  EXPECT_EQ(count, 5u);
  EXPECT_EQ(out_batch, 4u);
  // An in_batch beyond the array restarts at 0, like get_next_key.
  in_batch = 100;
  count = 1;
  EXPECT_EQ(ubt::map_batch(fn, BPF_MAP_LOOKUP_BATCH, fd, &in_batch, &out_batch, keys, values, &count), 0);
  EXPECT_EQ(keys[0], 0u);
}

TEST_P(ArrayTest, LookupBatchErrors) {
  int fd = create(kArray, 8, 4);
  uint32_t keys[8], out_batch = 0, count;
  uint64_t values[8];
  // count 0: nothing to do, nothing written.
  count = 0;
  EXPECT_EQ(ubt::map_batch(fn, BPF_MAP_LOOKUP_BATCH, fd, nullptr, &out_batch, keys, values, &count), 0);
  EXPECT_EQ(count, 0u);
  // Bad elem_flags: EINVAL before count is touched.
  count = 2;
  EXPECT_EQ(ubt::map_batch(fn, BPF_MAP_LOOKUP_BATCH, fd, nullptr, &out_batch, keys, values, &count, 1), -EINVAL);
  EXPECT_EQ(count, 2u);
  EXPECT_EQ(ubt::map_batch(fn, BPF_MAP_LOOKUP_BATCH, fd, nullptr, &out_batch, keys, values, &count, BPF_F_LOCK),
            -EINVAL);
  EXPECT_EQ(count, 2u);
  // The generic lookup batch ignores attr.batch.flags.
  EXPECT_EQ(ubt::map_batch(fn, BPF_MAP_LOOKUP_BATCH, fd, nullptr, &out_batch, keys, values, &count, 0, 1), 0);
  EXPECT_EQ(count, 2u);
  // No keys or values buffer: EFAULT, count reset to 0.
  EXPECT_EQ(ubt::map_batch(fn, BPF_MAP_LOOKUP_BATCH, fd, nullptr, &out_batch, nullptr, values, &count), -EFAULT);
  EXPECT_EQ(count, 0u);
  count = 2;
  EXPECT_EQ(ubt::map_batch(fn, BPF_MAP_LOOKUP_BATCH, fd, nullptr, &out_batch, keys, nullptr, &count), -EFAULT);
  EXPECT_EQ(count, 0u);
  // No out_batch: the elements and count are written, then EFAULT.
  count = 2;
  EXPECT_EQ(ubt::map_batch(fn, BPF_MAP_LOOKUP_BATCH, fd, nullptr, nullptr, keys, values, &count), -EFAULT);
  EXPECT_EQ(count, 2u);
  count = 8;
  EXPECT_EQ(ubt::map_batch(fn, BPF_MAP_LOOKUP_BATCH, fd, nullptr, nullptr, keys, values, &count), -EFAULT);
  EXPECT_EQ(count, 4u);
  // ...but with nothing to report out_batch is not needed.
  uint32_t in_batch = 3;
  count = 8;
  EXPECT_EQ(ubt::map_batch(fn, BPF_MAP_LOOKUP_BATCH, fd, &in_batch, nullptr, keys, values, &count), -ENOENT);
  EXPECT_EQ(count, 0u);
}

TEST_P(ArrayTest, UpdateBatch) {
  int fd = create(kArray, 8, 4);
  uint32_t keys[3] = {0, 3, 7};
  uint64_t values[3] = {10, 13, 17};
  uint32_t count = 3;
  // Stops at the first failing element; count says how many went in.
  EXPECT_EQ(ubt::map_batch(fn, BPF_MAP_UPDATE_BATCH, fd, nullptr, nullptr, keys, values, &count), -E2BIG);
  EXPECT_EQ(count, 2u);
  uint64_t v = 0;
  ASSERT_EQ(ubt::map_lookup(fn, fd, &keys[1], &v), 0);
  EXPECT_EQ(v, 13u);
  // elem_flags other than BPF_F_LOCK are refused, even BPF_NOEXIST/BPF_EXIST.
  for (uint64_t elem_flags : {uint64_t{BPF_NOEXIST}, uint64_t{BPF_EXIST}, uint64_t{BPF_F_LOCK}, uint64_t{8}}) {
    count = 2;
    EXPECT_EQ(ubt::map_batch(fn, BPF_MAP_UPDATE_BATCH, fd, nullptr, nullptr, keys, values, &count, elem_flags),
              -EINVAL);
    EXPECT_EQ(count, 2u);
  }
  // flags is ignored, as are in_batch / out_batch.
  count = 2;
  uint32_t unused = 0;
  EXPECT_EQ(ubt::map_batch(fn, BPF_MAP_UPDATE_BATCH, fd, &unused, &unused, keys, values, &count, 0, 1), 0);
  EXPECT_EQ(count, 2u);
  // Missing buffers.
  count = 2;
  EXPECT_EQ(ubt::map_batch(fn, BPF_MAP_UPDATE_BATCH, fd, nullptr, nullptr, nullptr, values, &count), -EFAULT);
  EXPECT_EQ(count, 0u);
  count = 2;
  EXPECT_EQ(ubt::map_batch(fn, BPF_MAP_UPDATE_BATCH, fd, nullptr, nullptr, keys, nullptr, &count), -EFAULT);
  EXPECT_EQ(count, 0u);
  count = 0;
  EXPECT_EQ(ubt::map_batch(fn, BPF_MAP_UPDATE_BATCH, fd, nullptr, nullptr, nullptr, nullptr, &count), 0);
}

TEST_P(ArrayTest, DeleteBatchesUnsupported) {
  for (uint32_t type : {kArray, kPercpuArray}) {
    SCOPED_TRACE(type);
    int fd = create(type, 8, 4);
    uint32_t keys[2] = {0, 1}, out_batch = 0, count = 2;
    std::vector<uint8_t> values(2 * percpu_size(8));
    EXPECT_EQ(ubt::map_batch(fn, BPF_MAP_DELETE_BATCH, fd, nullptr, nullptr, keys, nullptr, &count), -kENOTSUPP);
    EXPECT_EQ(count, 2u);
    EXPECT_EQ(ubt::map_batch(fn, BPF_MAP_LOOKUP_AND_DELETE_BATCH, fd, nullptr, &out_batch, keys, values.data(),
                             &count),
              -kENOTSUPP);
    EXPECT_EQ(count, 2u);
  }
}

TEST_P(ArrayTest, PercpuBatchesCarryEveryCpu) {
  int fd = create(kPercpuArray, 13, 3);
  const uint32_t size = percpu_size(13);
  std::vector<uint8_t> in(3 * size), out(3 * size + 8, 0xee);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<uint8_t>(i * 7 + 1);
  uint32_t keys[3] = {0, 1, 2}, count = 3;
  ASSERT_EQ(ubt::map_batch(fn, BPF_MAP_UPDATE_BATCH, fd, nullptr, nullptr, keys, in.data(), &count), 0);
  EXPECT_EQ(count, 3u);
  uint32_t out_keys[3] = {}, out_batch = 0;
  count = 3;
  ASSERT_EQ(ubt::map_batch(fn, BPF_MAP_LOOKUP_BATCH, fd, nullptr, &out_batch, out_keys, out.data(), &count), 0);
  EXPECT_EQ(count, 3u);
  EXPECT_EQ(out_batch, 2u);
  EXPECT_EQ(memcmp(out.data(), in.data(), in.size()), 0);
  for (size_t i = in.size(); i < out.size(); ++i) EXPECT_EQ(out[i], 0xee);
  // And the single-element view agrees.
  std::vector<uint8_t> one(size);
  ASSERT_EQ(ubt::map_lookup(fn, fd, &keys[1], one.data()), 0);
  EXPECT_EQ(memcmp(one.data(), in.data() + size, size), 0);
}

// ------------------------------------------------------------------ the ops, program side
//
// Programs reach the maps through lookup_elem / update_elem, which bpf() does
// not expose: these tests call the ops table on a zero-filled data area, as
// the object layer does.

struct DirectArray {
  DirectArray(const userbpf::MapOps &ops, uint32_t type, uint32_t value_size, uint32_t max_entries, uint32_t ncpus) {
    userbpf::MapCreateAttr attr;
    attr.map_type = type;
    attr.key_size = 4;
    attr.value_size = value_size;
    attr.max_entries = max_entries;
    userbpf::MapLayout layout;
    EXPECT_EQ(ops.alloc_check(attr), 0);
    EXPECT_EQ(ops.layout(attr, ncpus, &layout), 0);
    data.assign(layout.data_size, 0);
    map.hdr = &header;
    map.data = data.data();
    map.ops = &ops;
    map.type = type;
    map.key_size = 4;
    map.value_size = value_size;
    map.max_entries = max_entries;
    map.ncpus = ncpus;
    map.percpu_value_size = (value_size + 7) / 8 * 8;
    EXPECT_EQ(ops.init(map), 0);
  }
  std::vector<uint8_t> data;
  userbpf::ObjectHeader header{};
  userbpf::Map map;
};

TEST(ArrayOps, LayoutAndChargeMatchKernelMemlock) {
  // The kernel's fdinfo "memlock" for these shapes on 6.18 x86-64, 2 CPUs.
  userbpf::MapCreateAttr attr;
  attr.key_size = 4;
  attr.value_size = 8;
  attr.max_entries = 100;
  userbpf::MapLayout layout;
  attr.map_type = BPF_MAP_TYPE_ARRAY;
  ASSERT_EQ(userbpf::array_map_ops.layout(attr, 2, &layout), 0);
  EXPECT_EQ(layout.data_size, 800u);
  EXPECT_EQ(layout.commit_size, layout.data_size);
  EXPECT_EQ(layout.charge_size, 1112u);
  attr.map_type = BPF_MAP_TYPE_PERCPU_ARRAY;
  ASSERT_EQ(userbpf::percpu_array_map_ops.layout(attr, 2, &layout), 0);
  EXPECT_GE(layout.data_size, 1600u);
  EXPECT_EQ(layout.charge_size, 2712u);
  attr.map_type = BPF_MAP_TYPE_ARRAY;
  attr.max_entries = 1000;
  attr.map_flags = BPF_F_MMAPABLE;
  ASSERT_EQ(userbpf::array_map_ops.layout(attr, 2, &layout), 0);
  EXPECT_EQ(layout.data_size, 8192u); // whole pages, values from offset 0
  EXPECT_EQ(layout.charge_size, 12288u);
}

TEST(ArrayOps, ProgramSideLookupAndUpdate) {
  DirectArray a(userbpf::array_map_ops, BPF_MAP_TYPE_ARRAY, 13, 4, 2);
  auto &ops = *a.map.ops;
  uint32_t k = 3;
  auto *value = static_cast<uint8_t *>(ops.lookup_elem(a.map, &k));
  ASSERT_NE(value, nullptr);
  EXPECT_EQ(value, a.data.data() + 3 * 16); // 8-byte-rounded slots
  uint8_t in[13];
  memset(in, 0x7e, sizeof(in));
  EXPECT_EQ(ops.update_elem(a.map, &k, in, BPF_ANY), 0);
  EXPECT_EQ(value[12], 0x7e);
  EXPECT_EQ(value[13], 0); // the padding is not written from a program
  EXPECT_EQ(ops.update_elem(a.map, &k, in, BPF_NOEXIST), -EEXIST);
  EXPECT_EQ(ops.update_elem(a.map, &k, in, BPF_F_LOCK), -EINVAL);
  EXPECT_EQ(ops.update_elem(a.map, &k, in, 3), -EINVAL);
  k = 4;
  EXPECT_EQ(ops.lookup_elem(a.map, &k), nullptr);
  EXPECT_EQ(ops.update_elem(a.map, &k, in, BPF_ANY), -E2BIG);
  EXPECT_EQ(ops.delete_elem(a.map, &k), -EINVAL);
  // An unaligned key (a program's stack slot may be anywhere).
  uint8_t unaligned[5] = {0, 2, 0, 0, 0};
  EXPECT_EQ(ops.lookup_elem(a.map, unaligned + 1), a.data.data() + 2 * 16);
}

// current_cpu() (the rseq area, else sched_getcpu()) follows the thread onto
// every CPU it may run on: per-CPU maps and get_smp_processor_id use it.
TEST(ArrayOps, CurrentCpuFollowsTheThread) {
  const uint32_t ncpus = userbpf::possible_cpus();
  int visited = ubt::on_each_allowed_cpu(ncpus, [&](uint32_t cpu) {
    EXPECT_EQ(userbpf::current_cpu(ncpus), cpu);
    EXPECT_EQ(sched_getcpu(), static_cast<int>(cpu));
  });
  EXPECT_GT(visited, 0);
}

TEST(ArrayOps, PercpuProgramSideTouchesOnlyThisCpu) {
  const uint32_t ncpus = userbpf::possible_cpus();
  DirectArray a(userbpf::percpu_array_map_ops, BPF_MAP_TYPE_PERCPU_ARRAY, 13, 4, ncpus);
  auto &ops = *a.map.ops;
  uint32_t k = 1;
  std::vector<uint8_t> all(ncpus * 16);
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<uint8_t>(i + 1);
  ASSERT_EQ(ops.sys_update(a.map, &k, all.data(), 0), 0);
  // Pin to one CPU so "this CPU" is stable.
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(0, &one);
  cpu_set_t saved;
  ASSERT_EQ(sched_getaffinity(0, sizeof(saved), &saved), 0);
  ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
  auto *mine = static_cast<uint8_t *>(ops.lookup_elem(a.map, &k));
  ASSERT_NE(mine, nullptr);
  EXPECT_EQ(mine[0], 1); // CPU 0's slot
  uint8_t in[13];
  memset(in, 0xcc, sizeof(in));
  EXPECT_EQ(ops.update_elem(a.map, &k, in, BPF_EXIST), 0);
  sched_setaffinity(0, sizeof(saved), &saved);
  std::vector<uint8_t> out(all.size());
  ASSERT_EQ(ops.sys_lookup(a.map, &k, out.data(), 0), 0);
  for (int i = 0; i < 13; ++i) EXPECT_EQ(out[i], 0xcc);
  for (int i = 13; i < 16; ++i) EXPECT_EQ(out[i], all[i]); // padding untouched by the program-side write
  for (size_t i = 16; i < out.size(); ++i) EXPECT_EQ(out[i], all[i]) << "another CPU's slot changed";
}

TEST(ArrayOps, RacingUpdatesAndLookupsAreClean) {
  // Program-side and syscall-side writers race with syscall readers on one
  // element: values may tear (as in the kernel) but no sanitizer may object.
  DirectArray a(userbpf::array_map_ops, BPF_MAP_TYPE_ARRAY, 24, 1, 2);
  auto &ops = *a.map.ops;
  std::thread writer([&] {
    uint8_t v[24];
    uint32_t k = 0;
    for (int i = 0; i < 20000; ++i) {
      memset(v, i & 0xff, sizeof(v));
      ops.update_elem(a.map, &k, v, BPF_ANY);
      ops.sys_update(a.map, &k, v, BPF_EXIST);
    }
  });
  uint8_t out[25];
  uint32_t k = 0;
  for (int i = 0; i < 20000; ++i) EXPECT_EQ(ops.sys_lookup(a.map, &k, out + (i & 1), 0), 0); // unaligned too
  writer.join();
}

// bpf_map_lookup_percpu_elem from a program: another CPU's value of a
// per-CPU array (and NULL for a CPU past the last one), in a test run.
TEST_P(ArrayTest, ProgramLooksUpAnotherCpusValue) {
  const int fd = create(kPercpuArray, 8, 2);
  ASSERT_GE(fd, 0);
  std::vector<uint64_t> values(ncpus);
  for (uint32_t cpu = 0; cpu < ncpus; cpu++) values[cpu] = 100 + cpu;
  const uint32_t k = 1;
  ASSERT_EQ(ubt::map_update(fn, fd, &k, values.data()), 0);
  for (uint32_t cpu : {0u, ncpus - 1, ncpus, 1000u}) {
    SCOPED_TRACE("cpu " + std::to_string(cpu));
    const struct bpf_insn insns[] = {
        {BPF_ST | BPF_W | BPF_MEM, 10, 0, -4, 1},
        {BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, fd},
        {0, 0, 0, 0, 0},
        {BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0},
        {BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -4},
        {BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, static_cast<int32_t>(cpu)},
        {BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_percpu_elem},
        {BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 2, 0},
        {BPF_LDX | BPF_DW | BPF_MEM, 0, 0, 0, 0},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
        {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, -1}, // NULL
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    };
    const long prog = ubt::load_socket_filter(fn, insns, sizeof(insns) / sizeof(insns[0]));
    ASSERT_GE(prog, 0) << strerror(static_cast<int>(-prog));
    bool ran = false;
    EXPECT_EQ(ubt::test_run_retval(fn, static_cast<int>(prog), &ran), cpu < ncpus ? 100LL + cpu : -1LL);
    EXPECT_TRUE(ran);
    close(static_cast<int>(prog));
  }
}

// bpf_strncmp against a string in a frozen, program-read-only array (what
// libbpf makes of .rodata): the kernel's -1/0/1 answers, and the verifier's
// refusals of a map that is not frozen and of a string without its NUL.
TEST_P(ArrayTest, StrncmpWithAFrozenString) {
  auto make_map = [&](const char *text, bool freeze) {
    const int fd = create(kArray, 16, 1, BPF_F_RDONLY_PROG);
    char value[16];
    memset(value, 'x', sizeof(value));
    memcpy(value, text, std::min(strlen(text) + 1, sizeof(value)));
    const uint32_t k = 0;
    EXPECT_EQ(ubt::map_update(fn, fd, &k, value), 0);
    if (freeze) {
      EXPECT_EQ(ubt::map_freeze(fn, fd), 0);
    }
    return fd;
  };
  // The program: s1 = 8 bytes on the stack, strncmp(s1, n, the map's value).
  auto run = [&](int map_fd, const char (&s1)[9], int32_t n, std::string *log) -> long long {
    int32_t lo, hi;
    memcpy(&lo, s1, 4);
    memcpy(&hi, s1 + 4, 4);
    const struct bpf_insn insns[] = {
        {BPF_ST | BPF_W | BPF_MEM, 10, 0, -8, lo},
        {BPF_ST | BPF_W | BPF_MEM, 10, 0, -4, hi},
        {BPF_ALU64 | BPF_MOV | BPF_X, 1, 10, 0, 0},
        {BPF_ALU64 | BPF_ADD | BPF_K, 1, 0, 0, -8},
        {BPF_ALU64 | BPF_MOV | BPF_K, 2, 0, 0, n},
        {BPF_LD | BPF_DW | BPF_IMM, 3, BPF_PSEUDO_MAP_VALUE, 0, map_fd},
        {0, 0, 0, 0, 0},
        {BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_strncmp},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    };
    const long prog = ubt::load_socket_filter(fn, insns, sizeof(insns) / sizeof(insns[0]), log);
    if (prog < 0) return prog;
    const long long ret = ubt::test_run_retval(fn, static_cast<int>(prog));
    close(static_cast<int>(prog));
    return ret;
  };
  std::string log;
  const int hello = make_map("hello", true);
  EXPECT_EQ(run(hello, "hello\0\0\0", 8, &log), 0) << log;
  EXPECT_EQ(run(hello, "help\0\0\0\0", 8, &log), 1);
  EXPECT_EQ(run(hello, "hella\0\0\0", 4, &log), 0) << "only the first 4 bytes";
  EXPECT_EQ(run(hello, "hella\0\0\0", 5, &log), -1);
  EXPECT_EQ(run(make_map("hello", false), "hello\0\0\0", 8, &log), -EACCES) << "not frozen";
  EXPECT_NE(log.find("does not point to a readonly map"), std::string::npos) << log;
  EXPECT_EQ(run(make_map("0123456789abcdefXYZ", true), "hello\0\0\0", 8, &log), -EINVAL) << "no NUL in the value";
  EXPECT_NE(log.find("string is not zero-terminated"), std::string::npos) << log;
}

INSTANTIATE_TEST_SUITE_P(Backends, ArrayTest,
                         ::testing::Values(Backend{"userbpf", ubt::userbpf_call}, Backend{"kernel", ubt::kernel_call}),
                         [](const ::testing::TestParamInfo<Backend> &info) { return std::string(info.param.name); });

} // namespace
