// The hash map family - HASH, PERCPU_HASH, LRU_HASH, LRU_PERCPU_HASH - through
// the bpf() ABI.
//
// Most tests run on both backends: userbpf_bpf() and the kernel's bpf()
// (skipped where that is unavailable). Their expectations are the kernel's
// observed behaviour, so the kernel run checks the tests themselves. The
// differential tests at the end replay the same operations on both and
// compare every answer; they pin the thread to CPU 0 so that per-CPU state
// (LRU local lists, per-CPU values) is the same on both sides.
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "alloc/rcu.h"
#include "bpf_test_util.h"
#include "private_root_env.h"
#include "maps/map.h"
#include "object/handle.h"
#include "util/jhash.h"

namespace userbpf {
int64_t htab_debug_element_count(Map &map);
} // namespace userbpf

namespace {

using ubt::BpfFn;

constexpr long kENOTSUPP = 524;


uint32_t ncpus() { return static_cast<uint32_t>(userbpf_num_possible_cpus()); }

bool kernel_available() {
  static const bool ok = ubt::kernel_bpf_available(nullptr);
  return ok;
}

bool is_percpu(uint32_t type) { return type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_LRU_PERCPU_HASH; }
bool is_lru(uint32_t type) { return type == BPF_MAP_TYPE_LRU_HASH || type == BPF_MAP_TYPE_LRU_PERCPU_HASH; }

// Bytes of one value in user buffers.
uint32_t user_value_size(uint32_t type, uint32_t value_size) {
  return is_percpu(type) ? ((value_size + 7) / 8 * 8) * ncpus() : value_size;
}

// A recognizable value for key (every byte, padding included, depends on both).
std::vector<uint8_t> pattern(uint32_t size, uint32_t key, uint32_t salt = 0) {
  std::vector<uint8_t> v(size);
  for (uint32_t i = 0; i < size; ++i) v[i] = static_cast<uint8_t>(key * 31 + salt * 7 + i * 13 + 1);
  return v;
}

// Run the test body on CPU 0 only: per-CPU state then matches between runs.
class PinToCpu0 {
 public:
  PinToCpu0() {
    pinned_ = sched_getaffinity(0, sizeof(old_), &old_) == 0;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    if (pinned_) pinned_ = sched_setaffinity(0, sizeof(one), &one) == 0;
  }
  ~PinToCpu0() {
    if (pinned_) sched_setaffinity(0, sizeof(old_), &old_);
  }

 private:
  cpu_set_t old_;
  bool pinned_ = false;
};

struct Backend {
  const char *name;
  BpfFn fn;
};

struct Variant {
  const char *name;
  uint32_t type;
  uint32_t flags;
};

const Variant kVariants[] = {
    {"hash", BPF_MAP_TYPE_HASH, 0},
    {"hash_noprealloc", BPF_MAP_TYPE_HASH, BPF_F_NO_PREALLOC},
    {"percpu_hash", BPF_MAP_TYPE_PERCPU_HASH, 0},
    {"percpu_hash_noprealloc", BPF_MAP_TYPE_PERCPU_HASH, BPF_F_NO_PREALLOC},
    {"lru_hash", BPF_MAP_TYPE_LRU_HASH, 0},
    {"lru_hash_percpu_lru", BPF_MAP_TYPE_LRU_HASH, BPF_F_NO_COMMON_LRU},
    {"lru_percpu_hash", BPF_MAP_TYPE_LRU_PERCPU_HASH, 0},
    {"lru_percpu_hash_percpu_lru", BPF_MAP_TYPE_LRU_PERCPU_HASH, BPF_F_NO_COMMON_LRU},
};

const Backend kBackends[] = {{"userbpf", ubt::userbpf_call}, {"kernel", ubt::kernel_call}};

std::vector<uint32_t> walk_u32(BpfFn fn, int fd, long *end_err = nullptr) {
  std::vector<uint32_t> keys;
  uint32_t key = 0, next = 0;
  const uint32_t *prev = nullptr;
  long r;
  while ((r = ubt::map_get_next_key(fn, fd, prev, &next)) == 0) {
    keys.push_back(next);
    key = next;
    prev = &key;
    if (keys.size() > 100000) break;
  }
  if (end_err) *end_err = r;
  return keys;
}

// The kernel's walk order for u32 keys with BPF_F_ZERO_SEED: bucket order,
// then most recently linked first. `linked` is the order keys were (re)linked.
std::vector<uint32_t> expected_walk(const std::vector<uint32_t> &linked, uint32_t max_entries) {
  uint32_t n_buckets = 1;
  while (n_buckets < max_entries) n_buckets <<= 1;
  std::vector<std::vector<uint32_t>> buckets(n_buckets);
  for (uint32_t key : linked) {
    auto &b = buckets[userbpf::htab_hash(&key, 4, 0) & (n_buckets - 1)];
    b.erase(std::remove(b.begin(), b.end(), key), b.end());
    b.insert(b.begin(), key);
  }
  std::vector<uint32_t> order;
  for (auto &b : buckets) order.insert(order.end(), b.begin(), b.end());
  return order;
}

uint32_t bucket_of(uint32_t key, uint32_t n_buckets) { return userbpf::htab_hash(&key, 4, 0) & (n_buckets - 1); }

// ---------------------------------------------------------------------------
// jhash itself: fixed vectors of the kernel's functions (the walk-order tests
// below check them against the kernel's hash maps too).

TEST(Jhash, MatchesLookup3) {
  // lookup3's own self-test value: hashlittle("", 0, 0) = 0xdeadbeef.
  EXPECT_EQ(userbpf::jhash("", 0, 0), 0xdeadbeefu);
  EXPECT_EQ(userbpf::jhash("", 0, 0xdeadbeef), 0xbd5b7ddeu);
  // hashlittle("Four score and seven years ago", 30, 0) = 0x17770551, seed 1: 0xcd628161.
  const char *text = "Four score and seven years ago";
  EXPECT_EQ(userbpf::jhash(text, 30, 0), 0x17770551u);
  EXPECT_EQ(userbpf::jhash(text, 30, 1), 0xcd628161u);
  // jhash2 over whole words equals jhash over the same little-endian bytes.
  uint32_t words[5] = {1, 2, 3, 0xdeadbeef, 77};
  for (uint32_t n = 0; n <= 5; ++n)
    EXPECT_EQ(userbpf::jhash2(words, n, 42), userbpf::jhash(words, n * 4, 42)) << n;
}

// ---------------------------------------------------------------------------
// BPF_MAP_CREATE

struct CreateCase {
  uint32_t type, key_size, value_size, max_entries, flags;
  long expected; // the kernel's answer on 6.18 x86-64
};

const CreateCase kCreateCases[] = {
    {BPF_MAP_TYPE_HASH, 4, 4, 0, 0, -EINVAL},
    {BPF_MAP_TYPE_HASH, 0, 4, 1, 0, -EINVAL},
    {BPF_MAP_TYPE_HASH, 4, 0, 1, 0, -EINVAL},
    {BPF_MAP_TYPE_LRU_HASH, 4, 4, 0, BPF_F_NO_PREALLOC, -kENOTSUPP},
    {BPF_MAP_TYPE_LRU_HASH, 4, 4, 4, BPF_F_NO_PREALLOC, -kENOTSUPP},
    {BPF_MAP_TYPE_LRU_PERCPU_HASH, 4, 4, 4, BPF_F_NO_PREALLOC, -kENOTSUPP},
    {BPF_MAP_TYPE_HASH, 4, 4, 4, BPF_F_NO_COMMON_LRU, -EINVAL},
    {BPF_MAP_TYPE_PERCPU_HASH, 4, 4, 4, BPF_F_NO_COMMON_LRU, -EINVAL},
    {BPF_MAP_TYPE_LRU_HASH, 4, 4, 4, BPF_F_NO_COMMON_LRU, 0},
    {BPF_MAP_TYPE_HASH, 4, 4, 4, 1u << 10, -EINVAL},
    {BPF_MAP_TYPE_HASH, 4, 4, 4, BPF_F_MMAPABLE, -EINVAL},
    {BPF_MAP_TYPE_HASH, 4, 4, 4, BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG, -EINVAL},
    {BPF_MAP_TYPE_HASH, 4, 4, 4, BPF_F_RDONLY | BPF_F_WRONLY, -EINVAL},
    {BPF_MAP_TYPE_HASH, 4, 4, 4, BPF_F_RDONLY_PROG, 0},
    {BPF_MAP_TYPE_HASH, 4, 4, 4, BPF_F_NUMA_NODE, 0},
    {BPF_MAP_TYPE_PERCPU_HASH, 4, 4, 4, BPF_F_NUMA_NODE, -EINVAL},
    {BPF_MAP_TYPE_LRU_HASH, 4, 4, 4, BPF_F_NUMA_NODE | BPF_F_NO_COMMON_LRU, -EINVAL},
    {BPF_MAP_TYPE_LRU_HASH, 4, 4, 4, BPF_F_NUMA_NODE, 0},
    {BPF_MAP_TYPE_HASH, 4, 4, 4, BPF_F_ZERO_SEED, 0},
    // key + value must stay below KMALLOC_MAX_SIZE (4 MiB) - sizeof(struct htab_elem) (48).
    {BPF_MAP_TYPE_HASH, 4, 4194252, 1, 0, -E2BIG},
    {BPF_MAP_TYPE_HASH, 4, 4194251, 1, 0, 0},
    {BPF_MAP_TYPE_HASH, 4, 4194252, 1, BPF_F_NO_PREALLOC, -E2BIG},
    {BPF_MAP_TYPE_HASH, 4, 4194251, 1, BPF_F_NO_PREALLOC, 0},
    {BPF_MAP_TYPE_HASH, 1024, 4, 1, 0, 0},
    {BPF_MAP_TYPE_HASH, 100000, 4, 1, 0, 0},
    {BPF_MAP_TYPE_HASH, 4, 0xffffffffu, 1, 0, -E2BIG},
    {BPF_MAP_TYPE_HASH, 0xffffffffu, 4, 1, 0, -E2BIG},
    // Per-CPU values are limited to PCPU_MIN_UNIT_SIZE (32 KiB) after rounding.
    {BPF_MAP_TYPE_PERCPU_HASH, 4, 32768, 1, 0, 0},
    {BPF_MAP_TYPE_PERCPU_HASH, 4, 32769, 1, 0, -E2BIG},
    {BPF_MAP_TYPE_LRU_PERCPU_HASH, 4, 32769, 1, 0, -E2BIG},
    // More than 2^31 entries, or more than 2^27 buckets (n_buckets * 16 must fit a u32).
    {BPF_MAP_TYPE_HASH, 4, 4, 0xffffffffu, 0, -E2BIG},
    {BPF_MAP_TYPE_HASH, 4, 4, 0xffffffffu, BPF_F_NO_PREALLOC, -E2BIG},
    {BPF_MAP_TYPE_HASH, 4, 4, (1u << 31) + 1, BPF_F_NO_PREALLOC, -E2BIG},
    {BPF_MAP_TYPE_HASH, 4, 4, 1u << 31, BPF_F_NO_PREALLOC, -E2BIG},
    {BPF_MAP_TYPE_HASH, 4, 4, (1u << 27) + 1, BPF_F_NO_PREALLOC, -E2BIG},
    {BPF_MAP_TYPE_LRU_HASH, 4, 4, 0xfffffffeu, BPF_F_NO_COMMON_LRU, -E2BIG},
    {BPF_MAP_TYPE_HASH, 4, 4, 1u << 20, BPF_F_NO_PREALLOC, 0},
    // 2^20 elements of 1 MiB cannot be preallocated.
    {BPF_MAP_TYPE_HASH, 4, 1u << 20, 1u << 20, 0, -ENOMEM},
};

class HashCreate : public ::testing::TestWithParam<Backend> {};

// userbpf charges maps to RLIMIT_MEMLOCK as kernels before 5.11 did; the
// kernel compared with here (6.18) does not. Lift the limit like libbpf's
// users do, or leave out the cases that need more than it allows.
bool unlimited_memlock() {
  struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY};
  if (setrlimit(RLIMIT_MEMLOCK, &rl) == 0) return true;
  return getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur == RLIM_INFINITY;
}

TEST_P(HashCreate, ErrnoOfEachCheck) {
  BpfFn fn = GetParam().fn;
  if (fn == ubt::kernel_call && !kernel_available()) GTEST_SKIP() << "kernel bpf() unavailable";
  const bool big_ok = fn == ubt::kernel_call || unlimited_memlock();
  for (const CreateCase &c : kCreateCases) {
    const uint64_t bytes = uint64_t{c.max_entries} * (uint64_t{c.value_size} + c.key_size);
    if (!big_ok && c.expected == 0 && bytes > (1u << 20)) continue;
    long fd = ubt::map_create(fn, c.type, c.key_size, c.value_size, c.max_entries, c.flags);
    long got = fd < 0 ? fd : 0;
    if (fd >= 0) close(static_cast<int>(fd));
    EXPECT_EQ(got, c.expected) << "type " << c.type << " key " << c.key_size << " value " << c.value_size
                               << " max " << c.max_entries << " flags 0x" << std::hex << c.flags;
  }
}

TEST_P(HashCreate, PercpuLruRoundsMaxEntriesToCpus) {
  BpfFn fn = GetParam().fn;
  if (fn == ubt::kernel_call && !kernel_available()) GTEST_SKIP() << "kernel bpf() unavailable";
  const uint32_t cpus = ncpus();
  long fd = ubt::map_create(fn, BPF_MAP_TYPE_LRU_HASH, 4, 4, cpus + 1, BPF_F_NO_COMMON_LRU);
  ASSERT_GE(fd, 0);
  struct bpf_map_info info;
  ASSERT_EQ(ubt::object_info(fn, static_cast<int>(fd), &info), 0);
  EXPECT_EQ(info.max_entries, 2 * cpus);
  close(static_cast<int>(fd));
}

INSTANTIATE_TEST_SUITE_P(Backends, HashCreate, ::testing::ValuesIn(kBackends),
                         [](const auto &info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------
// Element commands, per variant and backend

class HashTest : public ::testing::TestWithParam<std::tuple<Backend, Variant>> {
 protected:
  void SetUp() override {
    fn = std::get<0>(GetParam()).fn;
    variant = std::get<1>(GetParam());
    if (fn == ubt::kernel_call && !kernel_available()) GTEST_SKIP() << "kernel bpf() unavailable";
  }
  void TearDown() override {
    for (int fd : fds) close(fd);
  }

  // With BPF_F_NO_COMMON_LRU each CPU owns max_entries / ncpus elements and
  // the test runs on one CPU: give that CPU max_entries.
  int create(uint32_t key_size, uint32_t value_size, uint32_t max_entries, uint32_t extra_flags = 0) {
    if (variant.flags & BPF_F_NO_COMMON_LRU) max_entries *= ncpus();
    created_max_entries = max_entries;
    long fd = ubt::map_create(fn, variant.type, key_size, value_size, max_entries, variant.flags | extra_flags);
    EXPECT_GE(fd, 0) << "create: " << strerror(static_cast<int>(-fd));
    if (fd >= 0) fds.push_back(static_cast<int>(fd));
    return static_cast<int>(fd);
  }
  bool percpu() const { return is_percpu(variant.type); }
  bool lru() const { return is_lru(variant.type); }
  uint32_t vsize(uint32_t value_size) const { return user_value_size(variant.type, value_size); }

  long update(int fd, uint32_t key, const std::vector<uint8_t> &value, uint64_t flags = BPF_ANY) {
    return ubt::map_update(fn, fd, &key, value.data(), flags);
  }
  long lookup(int fd, uint32_t key, std::vector<uint8_t> *value, uint64_t flags = 0) {
    return ubt::map_lookup(fn, fd, &key, value->data(), flags);
  }

  BpfFn fn = nullptr;
  Variant variant{};
  std::vector<int> fds;
  uint32_t created_max_entries = 0;
  PinToCpu0 pin; // NO_COMMON_LRU tests rely on one CPU's list
};

TEST_P(HashTest, UpdateFlagsAndErrnos) {
  const uint32_t vs = vsize(8);
  int fd = create(4, 8, 16);
  ASSERT_GE(fd, 0);
  std::vector<uint8_t> out(vs);
  uint32_t key = 1;

  EXPECT_EQ(lookup(fd, 1, &out), -ENOENT);
  EXPECT_EQ(ubt::map_delete(fn, fd, &key), -ENOENT);
  EXPECT_EQ(update(fd, 1, pattern(vs, 1), BPF_EXIST), -ENOENT);
  EXPECT_EQ(update(fd, 1, pattern(vs, 1), BPF_NOEXIST), 0);
  EXPECT_EQ(update(fd, 1, pattern(vs, 1, 1), BPF_NOEXIST), -EEXIST);
  EXPECT_EQ(lookup(fd, 1, &out), 0);
  EXPECT_EQ(out, pattern(vs, 1));
  EXPECT_EQ(update(fd, 1, pattern(vs, 1, 2), BPF_EXIST), 0);
  EXPECT_EQ(lookup(fd, 1, &out), 0);
  EXPECT_EQ(out, pattern(vs, 1, 2));
  EXPECT_EQ(update(fd, 1, pattern(vs, 1, 3), BPF_ANY), 0);
  EXPECT_EQ(update(fd, 2, pattern(vs, 2), BPF_ANY), 0);
  EXPECT_EQ(lookup(fd, 1, &out), 0);
  EXPECT_EQ(out, pattern(vs, 1, 3));

  // Unknown flags; BPF_F_LOCK needs a bpf_spin_lock in the value (BTF).
  EXPECT_EQ(update(fd, 3, pattern(vs, 3), 3), -EINVAL);
  EXPECT_EQ(update(fd, 3, pattern(vs, 3), 8), -EINVAL);
  EXPECT_EQ(update(fd, 3, pattern(vs, 3), BPF_F_LOCK), -EINVAL);
  EXPECT_EQ(update(fd, 1, pattern(vs, 3), BPF_F_LOCK | BPF_EXIST), -EINVAL);
  EXPECT_EQ(lookup(fd, 1, &out, BPF_F_LOCK), -EINVAL);
  EXPECT_EQ(lookup(fd, 1, &out, 1), -EINVAL);
  EXPECT_EQ(lookup(fd, 3, &out), -ENOENT);

  key = 1;
  EXPECT_EQ(ubt::map_delete(fn, fd, &key), 0);
  EXPECT_EQ(ubt::map_delete(fn, fd, &key), -ENOENT);
  EXPECT_EQ(lookup(fd, 1, &out), -ENOENT);
  EXPECT_EQ(lookup(fd, 2, &out), 0);
  EXPECT_EQ(out, pattern(vs, 2));
}

TEST_P(HashTest, LookupAndDelete) {
  const uint32_t vs = vsize(12);
  int fd = create(4, 12, 8);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(update(fd, 7, pattern(vs, 7)), 0);
  ASSERT_EQ(update(fd, 8, pattern(vs, 8)), 0);
  std::vector<uint8_t> out(vs);
  uint32_t key = 7;
  EXPECT_EQ(ubt::map_lookup_and_delete(fn, fd, &key, out.data(), 1), -EINVAL);
  EXPECT_EQ(ubt::map_lookup_and_delete(fn, fd, &key, out.data(), BPF_F_LOCK), -EINVAL);
  EXPECT_EQ(ubt::map_lookup_and_delete(fn, fd, &key, out.data()), 0);
  EXPECT_EQ(out, pattern(vs, 7));
  EXPECT_EQ(ubt::map_lookup_and_delete(fn, fd, &key, out.data()), -ENOENT);
  EXPECT_EQ(lookup(fd, 7, &out), -ENOENT);
  EXPECT_EQ(lookup(fd, 8, &out), 0);
  // The freed element is usable again.
  EXPECT_EQ(update(fd, 9, pattern(vs, 9), BPF_NOEXIST), 0);
  EXPECT_EQ(lookup(fd, 9, &out), 0);
  EXPECT_EQ(out, pattern(vs, 9));
}

TEST_P(HashTest, GetNextKey) {
  int fd = create(4, 4, 8);
  ASSERT_GE(fd, 0);
  uint32_t next = 0, missing = 12345;
  EXPECT_EQ(ubt::map_get_next_key(fn, fd, nullptr, &next), -ENOENT);
  EXPECT_EQ(ubt::map_get_next_key(fn, fd, &missing, &next), -ENOENT);
  for (uint32_t k = 1; k <= 5; ++k) ASSERT_EQ(update(fd, k, pattern(vsize(4), k)), 0);
  uint32_t first = 0;
  ASSERT_EQ(ubt::map_get_next_key(fn, fd, nullptr, &first), 0);
  EXPECT_EQ(ubt::map_get_next_key(fn, fd, &missing, &next), 0);
  EXPECT_EQ(next, first); // a missing key restarts the walk
  long end = 0;
  std::vector<uint32_t> keys = walk_u32(fn, fd, &end);
  EXPECT_EQ(end, -ENOENT);
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<uint32_t>{1, 2, 3, 4, 5}));
}

TEST_P(HashTest, WalkOrderWithZeroSeed) {
  const uint32_t max_entries = 64;
  int fd = create(4, 8, max_entries, BPF_F_ZERO_SEED);
  ASSERT_GE(fd, 0);
  std::vector<uint32_t> linked;
  std::mt19937 rng(7);
  for (int i = 0; i < 40; ++i) {
    uint32_t key = rng() % 1000;
    ASSERT_EQ(update(fd, key, pattern(vsize(8), key, i)), 0);
    // A replace links a new element at the head, except per-CPU maps, which
    // update in place.
    if (!percpu() || std::find(linked.begin(), linked.end(), key) == linked.end()) linked.push_back(key);
  }
  uint32_t key = linked[3];
  ASSERT_EQ(ubt::map_delete(fn, fd, &key), 0);
  linked.erase(std::remove(linked.begin(), linked.end(), key), linked.end());
  EXPECT_EQ(walk_u32(fn, fd), expected_walk(linked, created_max_entries));
}

TEST_P(HashTest, WalkOrderOfOtherKeySizes) {
  // Key sizes that take jhash() (not a multiple of 4) or longer jhash2()
  // runs: the walk order shows that every key lands in the kernel's bucket.
  for (uint32_t key_size : {1u, 3u, 6u, 12u, 13u, 16u, 24u, 37u, 100u}) {
    int fd = create(key_size, 8, 32, BPF_F_ZERO_SEED);
    ASSERT_GE(fd, 0);
    uint32_t n_buckets = 1;
    while (n_buckets < created_max_entries) n_buckets <<= 1;
    std::vector<std::vector<std::vector<uint8_t>>> buckets(n_buckets);
    std::mt19937 rng(key_size);
    std::set<std::vector<uint8_t>> used;
    for (int i = 0; i < 20; ++i) {
      std::vector<uint8_t> key(key_size);
      for (auto &byte : key) byte = static_cast<uint8_t>(rng());
      if (!used.insert(key).second) continue;
      ASSERT_EQ(ubt::map_update(fn, fd, key.data(), pattern(vsize(8), i).data()), 0);
      auto &b = buckets[userbpf::htab_hash(key.data(), key_size, 0) & (n_buckets - 1)];
      b.insert(b.begin(), key);
    }
    std::vector<std::vector<uint8_t>> expected, walked;
    for (auto &b : buckets) expected.insert(expected.end(), b.begin(), b.end());
    std::vector<uint8_t> cursor(key_size), next(key_size);
    const void *prev = nullptr;
    while (ubt::map_get_next_key(fn, fd, prev, next.data()) == 0 && walked.size() < 100) {
      walked.push_back(next);
      cursor = next;
      prev = cursor.data();
    }
    EXPECT_EQ(walked, expected) << "key_size " << key_size;
  }
}

TEST_P(HashTest, OddValueSizeRoundTrip) {
  // value_size 13: per-CPU user buffers hold round_up(13, 8) bytes per CPU and
  // the padding bytes round-trip; nothing is written past the value.
  const uint32_t vs = vsize(13);
  int fd = create(4, 13, 4);
  ASSERT_GE(fd, 0);
  std::vector<uint8_t> in = pattern(vs, 5);
  ASSERT_EQ(update(fd, 5, in), 0);
  std::vector<uint8_t> out(vs + 16, 0xee);
  uint32_t key = 5;
  ASSERT_EQ(ubt::map_lookup(fn, fd, &key, out.data()), 0);
  EXPECT_TRUE(std::equal(in.begin(), in.end(), out.begin()));
  for (uint32_t i = vs; i < vs + 16; ++i) EXPECT_EQ(out[i], 0xee) << i;
}

TEST_P(HashTest, FullMap) {
  const uint32_t vs = vsize(8);
  const uint32_t max_entries = 4;
  int fd = create(4, 8, max_entries);
  ASSERT_GE(fd, 0);
  if (lru()) {
    // LRU maps never fill up: the least recently used elements go. A common
    // LRU evicts one at a time; a CPU's own list (BPF_F_NO_COMMON_LRU) frees
    // up to 4 (PERCPU_FREE_TARGET) at once, here all of them: 1-4, 5-8, 9-10.
    for (uint32_t k = 1; k <= 10; ++k) EXPECT_EQ(update(fd, k, pattern(vs, k)), 0) << k;
    std::vector<uint32_t> keys = walk_u32(fn, fd);
    EXPECT_EQ(keys.size(), (variant.flags & BPF_F_NO_COMMON_LRU) ? 2u : max_entries);
    std::vector<uint8_t> out(vs);
    for (uint32_t k : keys) {
      EXPECT_EQ(lookup(fd, k, &out), 0);
      EXPECT_EQ(out, pattern(vs, k));
    }
    EXPECT_EQ(lookup(fd, 10, &out), 0); // the newest is there
    return;
  }
  for (uint32_t k = 1; k <= max_entries; ++k) ASSERT_EQ(update(fd, k, pattern(vs, k), BPF_NOEXIST), 0);
  EXPECT_EQ(update(fd, 100, pattern(vs, 100), BPF_NOEXIST), -E2BIG);
  EXPECT_EQ(update(fd, 100, pattern(vs, 100), BPF_ANY), -E2BIG);
  // Replacing a key of a full map works, many times over.
  for (uint32_t round = 0; round < 20; ++round) {
    uint32_t k = 1 + round % max_entries;
    EXPECT_EQ(update(fd, k, pattern(vs, k, round), round % 2 ? BPF_EXIST : BPF_ANY), 0);
    std::vector<uint8_t> out(vs);
    EXPECT_EQ(lookup(fd, k, &out), 0);
    EXPECT_EQ(out, pattern(vs, k, round));
  }
  EXPECT_EQ(update(fd, 100, pattern(vs, 100), BPF_ANY), -E2BIG);
  uint32_t key = 2;
  ASSERT_EQ(ubt::map_delete(fn, fd, &key), 0);
  EXPECT_EQ(update(fd, 100, pattern(vs, 100), BPF_NOEXIST), 0);
  EXPECT_EQ(update(fd, 101, pattern(vs, 101), BPF_NOEXIST), -E2BIG);
  EXPECT_EQ(walk_u32(fn, fd).size(), max_entries);
}

TEST_P(HashTest, FullLargeMap) {
  // Large enough that the kernel counts NO_PREALLOC elements with a per-CPU
  // counter (max_entries / 2 > 32 * CPUs): still exact at the limit.
  if (lru()) GTEST_SKIP() << "LRU maps never fill up";
  const uint32_t vs = vsize(8);
  const uint32_t max_entries = 1000;
  int fd = create(4, 8, max_entries);
  ASSERT_GE(fd, 0);
  for (uint32_t k = 0; k < max_entries; ++k) ASSERT_EQ(update(fd, k, pattern(vs, k), BPF_NOEXIST), 0) << k;
  EXPECT_EQ(update(fd, max_entries, pattern(vs, 0), BPF_NOEXIST), -E2BIG);
  for (uint32_t k = 0; k < max_entries; k += 7) EXPECT_EQ(update(fd, k, pattern(vs, k, 1), BPF_EXIST), 0) << k;
  for (uint32_t k = 0; k < 10; ++k) ASSERT_EQ(ubt::map_delete(fn, fd, &k), 0);
  for (uint32_t k = 0; k < 10; ++k) EXPECT_EQ(update(fd, max_entries + k, pattern(vs, k), BPF_NOEXIST), 0) << k;
  EXPECT_EQ(update(fd, 5000, pattern(vs, 0), BPF_ANY), -E2BIG);
  EXPECT_EQ(walk_u32(fn, fd).size(), max_entries);
}

TEST_P(HashTest, BatchErrnos) {
  int fd = create(4, 8, 8, BPF_F_ZERO_SEED);
  ASSERT_GE(fd, 0);
  const uint32_t vs = vsize(8);
  std::vector<uint32_t> keys(16);
  std::vector<uint8_t> values(16 * vs);
  uint32_t out_batch = 0, count = 4;
  for (int cmd : {BPF_MAP_LOOKUP_BATCH, BPF_MAP_LOOKUP_AND_DELETE_BATCH}) {
    count = 4;
    EXPECT_EQ(ubt::map_batch(fn, cmd, fd, nullptr, &out_batch, keys.data(), values.data(), &count, 1), -EINVAL);
    EXPECT_EQ(count, 4u);
    EXPECT_EQ(ubt::map_batch(fn, cmd, fd, nullptr, &out_batch, keys.data(), values.data(), &count, BPF_F_LOCK),
              -EINVAL);
    EXPECT_EQ(ubt::map_batch(fn, cmd, fd, nullptr, &out_batch, keys.data(), values.data(), &count, 0, 1), -EINVAL);
    EXPECT_EQ(count, 4u);
    count = 0;
    EXPECT_EQ(ubt::map_batch(fn, cmd, fd, nullptr, &out_batch, keys.data(), values.data(), &count), 0);
    EXPECT_EQ(count, 0u);
    // An empty map: every bucket visited, nothing copied.
    count = 4;
    out_batch = 12345;
    EXPECT_EQ(ubt::map_batch(fn, cmd, fd, nullptr, &out_batch, keys.data(), values.data(), &count), -ENOENT);
    EXPECT_EQ(count, 0u);
    EXPECT_EQ(out_batch, created_max_entries); // n_buckets
    // A cursor past the last bucket: ENOENT, count written as 0.
    uint32_t in_batch = created_max_entries;
    count = 4;
    EXPECT_EQ(ubt::map_batch(fn, cmd, fd, &in_batch, &out_batch, keys.data(), values.data(), &count), -ENOENT);
    EXPECT_EQ(count, 0u);
  }
}

TEST_P(HashTest, BatchWalksBuckets) {
  // Two keys in the first non-empty bucket and one elsewhere (ZERO_SEED, so
  // the buckets are known): count 1 cannot take that bucket (ENOSPC).
  int fd = create(4, 8, 8, BPF_F_ZERO_SEED);
  ASSERT_GE(fd, 0);
  const uint32_t n_buckets = created_max_entries;
  const uint32_t vs = vsize(8);
  std::vector<uint32_t> same;
  uint32_t other = 0;
  for (uint32_t k = 1; same.size() < 2 || other == 0; ++k) {
    uint32_t b = bucket_of(k, n_buckets);
    if (b == 0 && same.size() < 2) same.push_back(k);
    else if (b == 5 && other == 0) other = k;
  }
  for (uint32_t k : {same[0], same[1], other}) ASSERT_EQ(update(fd, k, pattern(vs, k)), 0);

  std::vector<uint32_t> keys(8);
  std::vector<uint8_t> values(8 * vs);
  uint32_t out_batch = 999, count = 1;
  EXPECT_EQ(ubt::map_batch(fn, BPF_MAP_LOOKUP_BATCH, fd, nullptr, &out_batch, keys.data(), values.data(), &count),
            -ENOSPC);
  EXPECT_EQ(count, 0u);
  EXPECT_EQ(out_batch, 0u);

  // Count 2: bucket 0 fits, bucket 5 does not fit what is left (0): stop at 5.
  count = 2;
  EXPECT_EQ(ubt::map_batch(fn, BPF_MAP_LOOKUP_BATCH, fd, nullptr, &out_batch, keys.data(), values.data(), &count),
            0);
  EXPECT_EQ(count, 2u);
  EXPECT_EQ(out_batch, 5u);
  std::vector<uint32_t> got(keys.begin(), keys.begin() + 2);
  EXPECT_EQ(got, (std::vector<uint32_t>{same[1], same[0]})); // list order: newest first
  for (uint32_t i = 0; i < 2; ++i)
    EXPECT_TRUE(std::equal(values.begin() + i * vs, values.begin() + (i + 1) * vs, pattern(vs, keys[i]).begin()));

  // Resume: the rest, then the end of the map.
  uint32_t in_batch = out_batch;
  count = 8;
  EXPECT_EQ(ubt::map_batch(fn, BPF_MAP_LOOKUP_BATCH, fd, &in_batch, &out_batch, keys.data(), values.data(), &count),
            -ENOENT);
  EXPECT_EQ(count, 1u);
  EXPECT_EQ(keys[0], other);
  EXPECT_EQ(out_batch, n_buckets);

  // Lookup-and-delete empties the map in one go.
  count = 8;
  EXPECT_EQ(ubt::map_batch(fn, BPF_MAP_LOOKUP_AND_DELETE_BATCH, fd, nullptr, &out_batch, keys.data(), values.data(),
                           &count),
            -ENOENT);
  EXPECT_EQ(count, 3u);
  EXPECT_TRUE(walk_u32(fn, fd).empty());
}

TEST_P(HashTest, UpdateAndDeleteBatch) {
  int fd = create(4, 8, 16);
  ASSERT_GE(fd, 0);
  const uint32_t vs = vsize(8);
  std::vector<uint32_t> keys = {10, 11, 12, 13};
  std::vector<uint8_t> values;
  for (uint32_t k : keys) {
    auto v = pattern(vs, k);
    values.insert(values.end(), v.begin(), v.end());
  }
  uint32_t count = 4;
  EXPECT_EQ(ubt::map_batch(fn, BPF_MAP_UPDATE_BATCH, fd, nullptr, nullptr, keys.data(), values.data(), &count,
                           BPF_NOEXIST),
            -EINVAL);
  count = 4;
  EXPECT_EQ(ubt::map_batch(fn, BPF_MAP_UPDATE_BATCH, fd, nullptr, nullptr, keys.data(), values.data(), &count), 0);
  EXPECT_EQ(count, 4u);
  std::vector<uint8_t> out(vs);
  for (uint32_t k : keys) {
    EXPECT_EQ(lookup(fd, k, &out), 0);
    EXPECT_EQ(out, pattern(vs, k));
  }
  std::vector<uint32_t> del = {11, 99, 12};
  count = 3;
  EXPECT_EQ(ubt::map_batch(fn, BPF_MAP_DELETE_BATCH, fd, nullptr, nullptr, del.data(), nullptr, &count), -ENOENT);
  EXPECT_EQ(count, 1u);
  EXPECT_EQ(lookup(fd, 11, &out), -ENOENT);
  EXPECT_EQ(lookup(fd, 12, &out), 0);
}

INSTANTIATE_TEST_SUITE_P(All, HashTest, ::testing::Combine(::testing::ValuesIn(kBackends), ::testing::ValuesIn(kVariants)),
                         [](const auto &info) {
                           return std::string(std::get<0>(info.param).name) + "_" + std::get<1>(info.param).name;
                         });

// ---------------------------------------------------------------------------
// The program side (userbpf only): MapOps called as helpers call them.

class ProgramSide : public ::testing::Test {
 protected:
  int create(uint32_t type, uint32_t key_size, uint32_t value_size, uint32_t max_entries, uint32_t flags = 0) {
    long fd = ubt::map_create(ubt::userbpf_call, type, key_size, value_size, max_entries, flags);
    EXPECT_GE(fd, 0);
    if (fd >= 0) fds_.push_back(static_cast<int>(fd));
    return static_cast<int>(fd);
  }
  void TearDown() override {
    for (int fd : fds_) close(fd);
  }
  // Run fn(map) with the map behind fd, inside an RCU read section as programs run.
  template <typename F>
  void with_map(int fd, F fn) {
    userbpf::RcuReadGuard guard;
    int err = 0;
    const userbpf::Handle *h = userbpf::handle_get(fd, &err);
    ASSERT_NE(h, nullptr) << err;
    fn(h->obj->map);
  }
  std::vector<int> fds_;
};

TEST_F(ProgramSide, LookupReturnsTheValueInPlace) {
  for (uint32_t flags : {0u, uint32_t{BPF_F_NO_PREALLOC}}) {
    int fd = create(BPF_MAP_TYPE_HASH, 8, 16, 4, flags);
    uint64_t key = 0x1122334455667788ull;
    std::vector<uint8_t> value = pattern(16, 1);
    with_map(fd, [&](userbpf::Map &m) {
      EXPECT_EQ(m.ops->lookup_elem(m, &key), nullptr);
      ASSERT_EQ(m.ops->update_elem(m, &key, value.data(), BPF_NOEXIST), 0);
      auto *p = static_cast<uint8_t *>(m.ops->lookup_elem(m, &key));
      ASSERT_NE(p, nullptr);
      EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 8, 0u);
      EXPECT_EQ(memcmp(p, value.data(), 16), 0);
      p[0] = 0xab; // a program writing through the pointer
    });
    std::vector<uint8_t> out(16);
    ASSERT_EQ(ubt::map_lookup(ubt::userbpf_call, fd, &key, out.data()), 0);
    EXPECT_EQ(out[0], 0xab);
  }
}

TEST_F(ProgramSide, PercpuInsertZeroesOtherCpus) {
  for (uint32_t type : {uint32_t{BPF_MAP_TYPE_PERCPU_HASH}, uint32_t{BPF_MAP_TYPE_LRU_PERCPU_HASH}}) {
    for (uint32_t flags : {0u, uint32_t{BPF_F_NO_PREALLOC}}) {
      if (is_lru(type) && flags) continue;
      int fd = create(type, 4, 13, 4, flags);
      const uint32_t vs = user_value_size(type, 13);
      uint32_t key = 3;
      // Fill every CPU's slot from user space, delete, then insert from a
      // "program": the reused element's other slots must read as zero.
      ASSERT_EQ(ubt::map_update(ubt::userbpf_call, fd, &key, pattern(vs, 9).data()), 0);
      ASSERT_EQ(ubt::map_delete(ubt::userbpf_call, fd, &key), 0);
      PinToCpu0 pin;
      std::vector<uint8_t> value = pattern(13, 4);
      with_map(fd, [&](userbpf::Map &m) {
        ASSERT_EQ(m.ops->update_elem(m, &key, value.data(), BPF_ANY), 0);
        auto *p = static_cast<uint8_t *>(m.ops->lookup_elem(m, &key));
        ASSERT_NE(p, nullptr);
        EXPECT_EQ(memcmp(p, value.data(), 13), 0);
        // An update of the existing key touches only this CPU's value.
        std::vector<uint8_t> second = pattern(13, 5);
        ASSERT_EQ(m.ops->update_elem(m, &key, second.data(), BPF_EXIST), 0);
      });
      std::vector<uint8_t> out(vs, 0xee);
      ASSERT_EQ(ubt::map_lookup(ubt::userbpf_call, fd, &key, out.data()), 0);
      std::vector<uint8_t> expected(vs, 0);
      std::vector<uint8_t> second = pattern(13, 5);
      std::copy(second.begin(), second.end(), expected.begin()); // CPU 0's slot
      EXPECT_EQ(out, expected) << "type " << type << " flags " << flags;
    }
  }
}

TEST_F(ProgramSide, LruKeepsWhatProgramsUse) {
  // Keys a program keeps looking up survive a stream of new keys that pushes
  // everything else out.
  for (uint32_t flags : {0u, uint32_t{BPF_F_NO_COMMON_LRU}}) {
    PinToCpu0 pin;
    const uint32_t max_entries = 256;
    int fd = create(BPF_MAP_TYPE_LRU_HASH, 4, 8, max_entries, flags);
    std::vector<uint8_t> value = pattern(8, 0);
    with_map(fd, [&](userbpf::Map &m) {
      for (uint32_t k = 0; k < 2000; ++k) {
        for (uint32_t hot = 1; hot <= 8; ++hot) {
          if (k >= 8) {
            EXPECT_NE(m.ops->lookup_elem(m, &hot), nullptr) << "hot key " << hot << " evicted at " << k;
          }
        }
        uint32_t key = k < 8 ? k + 1 : 1000 + k;
        ASSERT_EQ(m.ops->update_elem(m, &key, value.data(), BPF_ANY), 0);
      }
    });
  }
}

TEST_F(ProgramSide, NoPreallocCountsElements) {
  for (uint32_t max_entries : {100u, 100000u}) { // an atomic count, a per-CPU one
    int fd = create(BPF_MAP_TYPE_HASH, 4, 4, max_entries, BPF_F_NO_PREALLOC);
    const uint32_t n = std::min(max_entries, 3000u);
    uint32_t value = 0;
    for (uint32_t k = 0; k < n; ++k) ASSERT_EQ(ubt::map_update(ubt::userbpf_call, fd, &k, &value), 0);
    for (uint32_t k = 0; k < n; k += 2) ASSERT_EQ(ubt::map_delete(ubt::userbpf_call, fd, &k), 0);
    for (uint32_t k = 1; k < n; k += 2) ASSERT_EQ(ubt::map_update(ubt::userbpf_call, fd, &k, &value), 0); // replaces
    EXPECT_EQ(walk_u32(ubt::userbpf_call, fd).size(), n / 2);
    with_map(fd, [&](userbpf::Map &m) { EXPECT_EQ(userbpf::htab_debug_element_count(m), n / 2); });
  }
}

TEST_F(ProgramSide, ForkDoesNotFreeTwice) {
  // Deleted NO_PREALLOC elements wait in call_rcu batches; a child made by
  // fork() inherits the queued callbacks but must not give the shared slots
  // back too. A reader thread holds a grace period open while the deletes
  // queue their batches, so that some are still queued when fork() runs
  // (fork() itself waits for liburcu's worker to pause; it must not be called
  // inside a read-side section).
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "ThreadSanitizer does not support threads in a child of a multi-threaded fork()";
#endif
  int fd = create(BPF_MAP_TYPE_HASH, 4, 8, 4096, BPF_F_NO_PREALLOC);
  for (uint32_t k = 0; k < 4096; ++k) {
    uint64_t v = k;
    ASSERT_EQ(ubt::map_update(ubt::userbpf_call, fd, &k, &v), 0);
  }
  std::atomic<bool> reading{false};
  std::thread reader([&] {
    userbpf::rcu_read_lock();
    reading = true;
    usleep(100 * 1000);
    userbpf::rcu_read_unlock();
  });
  while (!reading) sched_yield();
  // The worker takes the first batches and waits for the grace period; the
  // later ones stay queued behind them.
  for (uint32_t k = 0; k < 2048; ++k) ASSERT_EQ(ubt::map_delete(ubt::userbpf_call, fd, &k), 0);
  usleep(20 * 1000);
  for (uint32_t k = 2048; k < 4096; ++k) ASSERT_EQ(ubt::map_delete(ubt::userbpf_call, fd, &k), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    usleep(200 * 1000); // the inherited callbacks run meanwhile
    _exit(0);
  }
  reader.join();
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  userbpf::rcu_barrier();
  // Every slot in use once: each key keeps its own value.
  for (uint32_t k = 10000; k < 10000 + 4096; ++k) {
    uint64_t v = k;
    ASSERT_EQ(ubt::map_update(ubt::userbpf_call, fd, &k, &v, BPF_NOEXIST), 0) << k;
  }
  for (uint32_t k = 10000; k < 10000 + 4096; ++k) {
    uint64_t v = 0;
    ASSERT_EQ(ubt::map_lookup(ubt::userbpf_call, fd, &k, &v), 0);
    ASSERT_EQ(v, k);
  }
}

// ---------------------------------------------------------------------------
// Differential: the same operations on the kernel and on userbpf.

struct Side {
  BpfFn fn;
  int fd = -1;
};

class Differential : public ::testing::TestWithParam<Variant> {
 protected:
  void SetUp() override {
    if (!kernel_available()) GTEST_SKIP() << "kernel bpf() unavailable";
  }
};

TEST_P(Differential, RandomOperations) {
  const Variant v = GetParam();
  PinToCpu0 pin;
  const uint32_t max_entries = 32, value_size = 12;
  const uint32_t vs = user_value_size(v.type, value_size);
  Side sides[2] = {{ubt::kernel_call}, {ubt::userbpf_call}};
  for (Side &s : sides) {
    long fd = ubt::map_create(s.fn, v.type, 4, value_size, max_entries, v.flags | BPF_F_ZERO_SEED);
    ASSERT_GE(fd, 0);
    s.fd = static_cast<int>(fd);
  }
  std::mt19937 rng(1234 + v.type * 10 + v.flags);
  for (int step = 0; step < 3000; ++step) {
    uint32_t key = rng() % 64;
    int op = rng() % 10;
    uint64_t flags = rng() % 4; // BPF_ANY, NOEXIST, EXIST, and an invalid one
    std::vector<uint8_t> value = pattern(vs, key, step);
    long r[2];
    std::vector<uint8_t> out[2] = {std::vector<uint8_t>(vs), std::vector<uint8_t>(vs)};
    for (int i = 0; i < 2; ++i) {
      Side &s = sides[i];
      switch (op) {
        case 0: case 1: case 2: case 3:
          r[i] = ubt::map_update(s.fn, s.fd, &key, value.data(), flags);
          break;
        case 4: case 5:
          r[i] = ubt::map_lookup(s.fn, s.fd, &key, out[i].data());
          break;
        case 6: case 7:
          r[i] = ubt::map_delete(s.fn, s.fd, &key);
          break;
        case 8:
          r[i] = ubt::map_lookup_and_delete(s.fn, s.fd, &key, out[i].data());
          break;
        default: {
          uint32_t next = 0;
          r[i] = ubt::map_get_next_key(s.fn, s.fd, &key, &next);
          memcpy(out[i].data(), &next, std::min<size_t>(4, vs));
        }
      }
    }
    ASSERT_EQ(r[1], r[0]) << "step " << step << " op " << op << " key " << key << " flags " << flags;
    ASSERT_EQ(out[1], out[0]) << "step " << step << " op " << op << " key " << key;
    if (step % 100 == 0) {
      ASSERT_EQ(walk_u32(sides[1].fn, sides[1].fd), walk_u32(sides[0].fn, sides[0].fd)) << step;
    }
  }
  EXPECT_EQ(walk_u32(sides[1].fn, sides[1].fd), walk_u32(sides[0].fn, sides[0].fd));
  for (Side &s : sides) close(s.fd);
}

TEST_P(Differential, BatchTraces) {
  const Variant v = GetParam();
  PinToCpu0 pin;
  const uint32_t max_entries = 64, value_size = 8;
  const uint32_t vs = user_value_size(v.type, value_size);
  for (int cmd : {BPF_MAP_LOOKUP_BATCH, BPF_MAP_LOOKUP_AND_DELETE_BATCH}) {
    std::vector<std::string> traces[2];
    Side sides[2] = {{ubt::kernel_call}, {ubt::userbpf_call}};
    for (int i = 0; i < 2; ++i) {
      Side &s = sides[i];
      long fd = ubt::map_create(s.fn, v.type, 4, value_size, max_entries, v.flags | BPF_F_ZERO_SEED);
      ASSERT_GE(fd, 0);
      s.fd = static_cast<int>(fd);
      for (uint32_t k = 0; k < 50; ++k) ASSERT_EQ(ubt::map_update(s.fn, s.fd, &k, pattern(vs, k).data()), 0);
      uint32_t in_batch = 0, out_batch = 0;
      bool first = true;
      for (uint32_t round = 0; round < 200; ++round) {
        uint32_t count = 1 + round % 6;
        std::vector<uint32_t> keys(count);
        std::vector<uint8_t> values(count * vs);
        long r = ubt::map_batch(s.fn, cmd, s.fd, first ? nullptr : &in_batch, &out_batch, keys.data(), values.data(),
                                &count);
        std::string t = std::to_string(r) + " n=" + std::to_string(count) + " next=" + std::to_string(out_batch) + ":";
        for (uint32_t j = 0; j < count && r != -ENOSPC; ++j) {
          t += " " + std::to_string(keys[j]);
          if (!std::equal(values.begin() + j * vs, values.begin() + (j + 1) * vs, pattern(vs, keys[j]).begin()))
            t += "(bad value)";
        }
        traces[i].push_back(t);
        if (r == -ENOENT) break;
        if (r == 0) {
          in_batch = out_batch;
          first = false;
        }
      }
      close(s.fd);
    }
    EXPECT_EQ(traces[1], traces[0]) << "cmd " << cmd;
  }
}

INSTANTIATE_TEST_SUITE_P(Variants, Differential, ::testing::ValuesIn(kVariants),
                         [](const auto &info) { return std::string(info.param.name); });

} // namespace
