// BPF_MAP_TYPE_BLOOM_FILTER through the bpf() ABI (update adds a value,
// lookup tests one) and from programs (bpf_map_push_elem, bpf_map_peek_elem).
//
// Every test runs twice: against userbpf_bpf() and against the kernel's bpf()
// (skipped where the kernel's is unavailable). With BPF_F_ZERO_SEED both hash
// alike, so the answers for values never added (false positives included)
// are compared between the two as well.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "bpf_test_util.h"
#include "private_root_env.h"

namespace {

using ubt::BpfFn;

constexpr long kENOTSUPP = 524;
constexpr uint32_t kBloom = BPF_MAP_TYPE_BLOOM_FILTER;

struct Backend {
  const char *name;
  BpfFn fn;
};
void PrintTo(const Backend &backend, std::ostream *os) { *os << backend.name; }

long create_bloom(BpfFn fn, uint32_t key_size, uint32_t value_size, uint32_t max_entries, uint32_t flags,
                  uint64_t map_extra) {
  return ubt::map_create(fn, kBloom, key_size, value_size, max_entries, flags, nullptr, map_extra);
}

// Add values 0, 2, 4, ... 2 * (n - 1) (as value_size-byte little-endian
// numbers; 3-byte values keep the low 3 bytes) to a new zero-seed filter,
// then ask about 0 .. 4n - 1: one answer (0 or the errno) per value.
std::vector<long> answers(BpfFn fn, uint32_t value_size, uint32_t max_entries, uint64_t nr_hash_funcs, uint32_t n) {
  std::vector<long> out;
  const long fd = create_bloom(fn, 0, value_size, max_entries, BPF_F_ZERO_SEED, nr_hash_funcs);
  EXPECT_GE(fd, 0) << strerror(static_cast<int>(-fd));
  if (fd < 0) return out;
  std::vector<uint8_t> v(value_size);
  auto set = [&](uint32_t x) {
    std::fill(v.begin(), v.end(), 0);
    memcpy(v.data(), &x, std::min<size_t>(4, v.size()));
  };
  for (uint32_t i = 0; i < n; i++) {
    set(2 * i);
    EXPECT_EQ(ubt::map_update(fn, static_cast<int>(fd), nullptr, v.data(), BPF_ANY), 0);
  }
  for (uint32_t x = 0; x < 4 * n; x++) {
    set(x);
    out.push_back(ubt::map_lookup(fn, static_cast<int>(fd), nullptr, v.data()));
  }
  close(static_cast<int>(fd));
  return out;
}

class BloomTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    fn = GetParam().fn;
    std::string why;
    if (fn == ubt::kernel_call && !ubt::kernel_bpf_available(&why)) GTEST_SKIP() << why;
  }
  BpfFn fn = nullptr;
};

TEST_P(BloomTest, CreateChecks) {
  auto result = [&](uint32_t ks, uint32_t vs, uint32_t max, uint32_t flags, uint64_t extra) {
    long r = create_bloom(fn, ks, vs, max, flags, extra);
    if (r >= 0) {
      close(static_cast<int>(r));
      r = 0;
    }
    return r;
  };
  EXPECT_EQ(result(4, 8, 16, 0, 0), -EINVAL) << "a key";
  EXPECT_EQ(result(0, 0, 16, 0, 0), -EINVAL) << "no value";
  EXPECT_EQ(result(0, 8, 0, 0, 0), -EINVAL) << "no entries";
  EXPECT_EQ(result(0, 8, 16, BPF_F_NO_PREALLOC, 0), -EINVAL);
  EXPECT_EQ(result(0, 8, 16, 0, 16), -EINVAL) << "map_extra past the low 4 bits";
  EXPECT_EQ(result(4, (4u << 20) + 1, 16, 0, 0), -E2BIG) << "value size first";
  EXPECT_EQ(result(0, 8, 16, 0, 15), 0);
  EXPECT_EQ(result(0, 3, 1000, BPF_F_ZERO_SEED | BPF_F_RDONLY_PROG, 1), 0);
}

TEST_P(BloomTest, CommandsAndErrors) {
  const long fd = create_bloom(fn, 0, 8, 100, 0, 0);
  ASSERT_GE(fd, 0);
  const int map = static_cast<int>(fd);
  uint64_t v = 42, key = 0;
  EXPECT_EQ(ubt::map_lookup(fn, map, nullptr, &v), -ENOENT) << "empty: certainly absent";
  EXPECT_EQ(ubt::map_update(fn, map, nullptr, &v, BPF_EXIST), -EINVAL) << "only BPF_ANY";
  EXPECT_EQ(ubt::map_update(fn, map, nullptr, &v, BPF_NOEXIST), -EINVAL);
  EXPECT_EQ(ubt::map_update(fn, map, &key, &v, BPF_ANY), -EINVAL) << "a key";
  EXPECT_EQ(ubt::map_update(fn, map, nullptr, &v, BPF_ANY), 0);
  EXPECT_EQ(ubt::map_lookup(fn, map, nullptr, &v), 0) << "added: maybe present";
  EXPECT_EQ(v, 42u) << "a lookup writes nothing back";
  EXPECT_EQ(ubt::map_lookup(fn, map, nullptr, reinterpret_cast<void *>(8)), -EFAULT) << "the value is read";
  EXPECT_EQ(ubt::map_lookup(fn, map, &key, &v), -EINVAL);
  EXPECT_EQ(ubt::map_delete(fn, map, nullptr), -EOPNOTSUPP);
  uint64_t next = 0;
  EXPECT_EQ(ubt::map_get_next_key(fn, map, nullptr, &next), -EOPNOTSUPP);
  EXPECT_EQ(ubt::map_lookup_and_delete(fn, map, nullptr, &v), -kENOTSUPP);
  EXPECT_EQ(ubt::map_freeze(fn, map), 0);
  EXPECT_EQ(ubt::map_update(fn, map, nullptr, &v, BPF_ANY), -EPERM);
  EXPECT_EQ(ubt::map_lookup(fn, map, nullptr, &v), 0);
  close(map);
}

TEST_P(BloomTest, NoFalseNegatives) {
  for (uint32_t value_size : {4u, 8u, 5u, 64u}) {
    const std::vector<long> a = answers(fn, value_size, 64, 0, 64);
    ASSERT_EQ(a.size(), 256u);
    size_t false_positives = 0;
    for (size_t x = 0; x < a.size(); x++) {
      if (x % 2 == 0 && x < 128) EXPECT_EQ(a[x], 0) << "value " << x << " was added";
      else false_positives += a[x] == 0;
    }
    EXPECT_LT(false_positives, 60u) << "value_size " << value_size;
  }
}

// A socket filter that adds `added` with bpf_map_push_elem, then returns
// what bpf_map_peek_elem says of `asked` (0: maybe present, -ENOENT).
long long push_then_peek(BpfFn fn, int map_fd, uint32_t added, uint32_t asked) {
  const struct bpf_insn insns[] = {
      {BPF_ST | BPF_W | BPF_MEM, 10, 0, -4, static_cast<int32_t>(added)},
      {BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, map_fd},
      {0, 0, 0, 0, 0},
      {BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0},
      {BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -4},
      {BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, 0},
      {BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_push_elem},
      {BPF_ST | BPF_W | BPF_MEM, 10, 0, -4, static_cast<int32_t>(asked)},
      {BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, map_fd},
      {0, 0, 0, 0, 0},
      {BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0},
      {BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -4},
      {BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_peek_elem},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  const long prog = ubt::load_socket_filter(fn, insns, sizeof(insns) / sizeof(insns[0]));
  EXPECT_GE(prog, 0) << strerror(static_cast<int>(-prog));
  if (prog < 0) return prog;
  bool ran = false;
  const long long ret = ubt::test_run_retval(fn, static_cast<int>(prog), &ran);
  EXPECT_TRUE(ran);
  close(static_cast<int>(prog));
  return ret;
}

TEST_P(BloomTest, ProgramsPushAndPeek) {
  const long fd = create_bloom(fn, 0, 4, 1, BPF_F_ZERO_SEED, 1);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(push_then_peek(fn, static_cast<int>(fd), 5, 5), 0);
  EXPECT_EQ(push_then_peek(fn, static_cast<int>(fd), 6, 7), -ENOENT) << "7 hashes to a bit 5 and 6 left clear";
  uint32_t v = 6;
  EXPECT_EQ(ubt::map_lookup(fn, static_cast<int>(fd), nullptr, &v), 0) << "user space sees what the program added";
  close(static_cast<int>(fd));
}

// The same filters on both sides give the same answers for every value,
// false positives included (zero seed, the kernel's hashes and bit counts).
TEST(BloomDiff, SameAnswersAsTheKernel) {
  std::string why;
  if (!ubt::kernel_bpf_available(&why)) GTEST_SKIP() << why;
  struct Shape {
    uint32_t value_size, max_entries;
    uint64_t nr_hash_funcs;
    uint32_t n;
  };
  for (const Shape &s : {Shape{4, 8, 0, 40}, Shape{8, 64, 3, 64}, Shape{5, 16, 1, 50}, Shape{12, 20, 15, 200},
                         Shape{3, 2, 2, 30}}) {
    SCOPED_TRACE("value_size " + std::to_string(s.value_size) + " max_entries " + std::to_string(s.max_entries) +
                 " hash functions " + std::to_string(s.nr_hash_funcs));
    const std::vector<long> k = answers(ubt::kernel_call, s.value_size, s.max_entries, s.nr_hash_funcs, s.n);
    const std::vector<long> u = answers(ubt::userbpf_call, s.value_size, s.max_entries, s.nr_hash_funcs, s.n);
    EXPECT_EQ(k, u);
    size_t false_positives = 0;
    for (size_t x = 1; x < k.size(); x += 2) false_positives += k[x] == 0;
    EXPECT_GT(false_positives, 0u) << "a shape with false positives makes the comparison sharper";
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, BloomTest,
                         ::testing::Values(Backend{"userbpf", ubt::userbpf_call}, Backend{"kernel", ubt::kernel_call}),
                         [](const ::testing::TestParamInfo<Backend> &info) { return std::string(info.param.name); });

} // namespace
