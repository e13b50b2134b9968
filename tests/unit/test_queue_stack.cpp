// BPF_MAP_TYPE_QUEUE and BPF_MAP_TYPE_STACK through the bpf() ABI, from user
// space (update pushes, lookup peeks, lookup-and-delete pops) and from a
// program (bpf_map_push_elem, bpf_map_pop_elem, bpf_map_peek_elem in a test
// run).
//
// Every test runs twice: against userbpf_bpf() and against the kernel's bpf()
// (skipped where the kernel's is unavailable). The expectations are the
// kernel's observed behaviour, so the kernel run checks the tests themselves.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <vector>

#include "bpf_test_util.h"
#include "private_root_env.h"

namespace {

using ubt::BpfFn;

constexpr long kENOTSUPP = 524;
constexpr int32_t kPush = BPF_FUNC_map_push_elem, kPop = BPF_FUNC_map_pop_elem, kPeek = BPF_FUNC_map_peek_elem;

struct Backend {
  const char *name;
  BpfFn fn;
};
void PrintTo(const Backend &backend, std::ostream *os) { *os << backend.name; }

class QueueStackTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    fn = GetParam().fn;
    std::string why;
    if (fn == ubt::kernel_call && !ubt::kernel_bpf_available(&why)) GTEST_SKIP() << why;
  }
  void TearDown() override {
    for (int fd : fds) close(fd);
  }

  long create_result(uint32_t type, uint32_t key_size, uint32_t value_size, uint32_t max_entries,
                     uint32_t flags = 0) {
    long r = ubt::map_create(fn, type, key_size, value_size, max_entries, flags);
    if (r >= 0) close(static_cast<int>(r));
    return r;
  }
  int create(uint32_t type, uint32_t max_entries, uint32_t flags = 0) {
    long fd = ubt::map_create(fn, type, 0, sizeof(uint64_t), max_entries, flags);
    EXPECT_GE(fd, 0) << "create: " << strerror(static_cast<int>(-fd));
    if (fd >= 0) fds.push_back(static_cast<int>(fd));
    return static_cast<int>(fd);
  }
  long push(int fd, uint64_t v, uint64_t flags = 0) { return ubt::map_update(fn, fd, nullptr, &v, flags); }
  // Pop (or peek): the value, or the negative errno.
  long long take(int fd, bool remove) {
    uint64_t v = 0xdeadbeef;
    long r = remove ? ubt::map_lookup_and_delete(fn, fd, nullptr, &v) : ubt::map_lookup(fn, fd, nullptr, &v);
    return r < 0 ? r : static_cast<long long>(v);
  }
  std::vector<long long> drain(int fd) {
    std::vector<long long> out;
    for (long long v; (v = take(fd, true)) >= 0;) out.push_back(v);
    return out;
  }

  // A socket filter that calls helper `id` on map fd with an 8-byte value on
  // its stack (set to `value` first; flags in r3 for a push) and returns
  // what the helper returned, or, when that was 0 and the helper fills the
  // value (pop, peek), the value. Its fd, or the negative errno.
  long load(int map_fd, int32_t id, uint64_t value = 0, int32_t flags = 0) {
    std::vector<struct bpf_insn> p;
    auto I = [&](uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
      p.push_back(bpf_insn{code, dst, src, off, imm});
    };
    I(BPF_LD | BPF_DW | BPF_IMM, 1, 0, 0, static_cast<int32_t>(value)); // r1 = value
    I(0, 0, 0, 0, static_cast<int32_t>(value >> 32));
    I(BPF_STX | BPF_DW | BPF_MEM, 10, 1, -8, 0); // *(u64 *)(r10 - 8) = r1
    I(BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, map_fd);
    I(0, 0, 0, 0, 0);
    I(BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0); // r2 = r10 - 8
    I(BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -8);
    I(BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, flags);
    I(BPF_JMP | BPF_CALL, 0, 0, 0, id);
    if (id != kPush) {
      I(BPF_JMP | BPF_JNE | BPF_K, 0, 0, 1, 0); // an error: return it
      I(BPF_LDX | BPF_DW | BPF_MEM, 0, 10, -8, 0);
    }
    I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
    const long fd = ubt::load_socket_filter(fn, p.data(), p.size(), &last_log);
    if (fd >= 0) fds.push_back(static_cast<int>(fd));
    return fd;
  }
  // One test run of prog_fd: its return value.
  long long run(int prog_fd) {
    bool ran = false;
    const long long ret = ubt::test_run_retval(fn, prog_fd, &ran);
    EXPECT_TRUE(ran) << strerror(static_cast<int>(-ret));
    return ret;
  }

  BpfFn fn = nullptr;
  std::vector<int> fds;
  std::string last_log;
};

TEST_P(QueueStackTest, CreateChecks) {
  for (uint32_t type : {BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_STACK}) {
    SCOPED_TRACE(type);
    EXPECT_EQ(create_result(type, 4, 8, 4), -EINVAL) << "a key";
    EXPECT_EQ(create_result(type, 0, 0, 4), -EINVAL) << "no value";
    EXPECT_EQ(create_result(type, 0, 8, 0), -EINVAL) << "no entries";
    EXPECT_EQ(create_result(type, 0, 8, 4, BPF_F_NO_PREALLOC), -EINVAL);
    EXPECT_EQ(create_result(type, 0, 8, 4, BPF_F_MMAPABLE), -EINVAL);
    EXPECT_EQ(create_result(type, 0, 8, 4, BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG), -EINVAL);
    EXPECT_EQ(create_result(type, 0, (4u << 20) + 1, 1), -E2BIG) << "a value past KMALLOC_MAX_SIZE";
    EXPECT_GE(create_result(type, 0, 8, 4, BPF_F_RDONLY_PROG), 0);
    EXPECT_GE(create_result(type, 0, 3, 1000), 0) << "an odd value size";
  }
}

TEST_P(QueueStackTest, QueueIsFirstInFirstOut) {
  const int fd = create(BPF_MAP_TYPE_QUEUE, 4);
  EXPECT_EQ(take(fd, false), -ENOENT) << "peek on empty";
  EXPECT_EQ(take(fd, true), -ENOENT) << "pop on empty";
  uint64_t untouched = 0x1122334455667788;
  EXPECT_EQ(ubt::map_lookup_and_delete(fn, fd, nullptr, &untouched), -ENOENT);
  EXPECT_EQ(ubt::map_lookup(fn, fd, nullptr, &untouched), -ENOENT);
  EXPECT_EQ(untouched, 0x1122334455667788u) << "a failed pop or peek leaves the user's buffer alone";
  for (uint64_t v = 1; v <= 4; v++) EXPECT_EQ(push(fd, v), 0);
  EXPECT_EQ(push(fd, 5), -E2BIG) << "full";
  EXPECT_EQ(push(fd, 5, BPF_EXIST), 0) << "BPF_EXIST drops the oldest";
  EXPECT_EQ(take(fd, false), 2);
  EXPECT_EQ(take(fd, false), 2) << "a peek leaves it";
  EXPECT_EQ(drain(fd), (std::vector<long long>{2, 3, 4, 5}));
  // Round and round the ring, against a model.
  std::deque<long long> model;
  for (uint64_t v = 10; v < 60; v++) {
    const uint64_t flags = v % 5 == 0 ? BPF_EXIST : BPF_ANY;
    const long r = push(fd, v, flags);
    if (model.size() < 4) {
      EXPECT_EQ(r, 0);
      model.push_back(static_cast<long long>(v));
    } else if (flags == BPF_EXIST) {
      EXPECT_EQ(r, 0);
      model.pop_front();
      model.push_back(static_cast<long long>(v));
    } else {
      EXPECT_EQ(r, -E2BIG);
    }
    if (v % 3 == 0) {
      ASSERT_FALSE(model.empty());
      EXPECT_EQ(take(fd, true), model.front()) << "pop after pushing " << v;
      model.pop_front();
    }
  }
  EXPECT_EQ(drain(fd), std::vector<long long>(model.begin(), model.end()));
}

TEST_P(QueueStackTest, StackIsLastInFirstOut) {
  const int fd = create(BPF_MAP_TYPE_STACK, 4);
  EXPECT_EQ(take(fd, false), -ENOENT);
  for (uint64_t v = 1; v <= 4; v++) EXPECT_EQ(push(fd, v), 0);
  EXPECT_EQ(push(fd, 5), -E2BIG);
  EXPECT_EQ(take(fd, false), 4);
  EXPECT_EQ(take(fd, true), 4);
  EXPECT_EQ(push(fd, 5), 0);
  EXPECT_EQ(push(fd, 6, BPF_EXIST), 0) << "a full stack drops its oldest element too";
  EXPECT_EQ(drain(fd), (std::vector<long long>{6, 5, 3, 2}));
  // Round and round the ring, against a model.
  std::deque<long long> model; // back: the top
  for (uint64_t v = 10; v < 60; v++) {
    const uint64_t flags = v % 4 == 0 ? BPF_EXIST : BPF_ANY;
    const long r = push(fd, v, flags);
    if (model.size() < 4 || flags == BPF_EXIST) {
      EXPECT_EQ(r, 0);
      if (model.size() == 4) model.pop_front();
      model.push_back(static_cast<long long>(v));
    } else {
      EXPECT_EQ(r, -E2BIG);
    }
    if (v % 3 == 0) {
      EXPECT_EQ(take(fd, true), model.back()) << "pop after pushing " << v;
      model.pop_back();
    }
  }
  EXPECT_EQ(drain(fd), std::vector<long long>(model.rbegin(), model.rend()));
}

TEST_P(QueueStackTest, CommandErrors) {
  for (uint32_t type : {BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_STACK}) {
    SCOPED_TRACE(type);
    const int fd = create(type, 2);
    uint64_t v = 7, key = 0;
    EXPECT_EQ(push(fd, v, BPF_NOEXIST), -EINVAL);
    EXPECT_EQ(push(fd, v, BPF_EXIST + 1), -EINVAL);
    EXPECT_EQ(push(fd, v, BPF_F_LOCK), -EINVAL);
    EXPECT_EQ(ubt::map_update(fn, fd, &key, &v, 0), -EINVAL) << "a key given to a keyless map";
    EXPECT_EQ(ubt::map_update(fn, fd, nullptr, nullptr, 0), -EFAULT) << "no value";
    EXPECT_EQ(push(fd, v), 0);
    EXPECT_EQ(ubt::map_lookup(fn, fd, &key, &v), -EINVAL);
    EXPECT_EQ(ubt::map_lookup(fn, fd, nullptr, &v, BPF_F_LOCK), -EINVAL);
    EXPECT_EQ(ubt::map_lookup_and_delete(fn, fd, nullptr, &v, BPF_F_LOCK), -EINVAL);
    EXPECT_EQ(ubt::map_delete(fn, fd, nullptr), -EINVAL) << "no delete by key";
    EXPECT_EQ(ubt::map_delete(fn, fd, &key), -EINVAL);
    uint64_t next = 0;
    EXPECT_EQ(ubt::map_get_next_key(fn, fd, nullptr, &next), -EINVAL);
    EXPECT_EQ(ubt::map_get_next_key(fn, fd, &key, &next), -EINVAL);
    uint32_t count = 2;
    uint64_t values[2];
    EXPECT_EQ(ubt::map_batch(fn, BPF_MAP_LOOKUP_BATCH, fd, nullptr, &key, nullptr, values, &count), -kENOTSUPP);
    // A value the kernel cannot write back: the element is gone all the same.
    EXPECT_EQ(push(fd, 8), 0);
    EXPECT_EQ(ubt::map_lookup(fn, fd, nullptr, reinterpret_cast<void *>(8)), -EFAULT) << "peek";
    EXPECT_EQ(ubt::map_lookup_and_delete(fn, fd, nullptr, reinterpret_cast<void *>(8)), -EFAULT) << "pop";
    EXPECT_EQ(take(fd, true), type == BPF_MAP_TYPE_QUEUE ? 8 : 7);
    EXPECT_EQ(take(fd, true), -ENOENT);
    // Frozen: peeks only.
    EXPECT_EQ(push(fd, 9), 0);
    EXPECT_EQ(ubt::map_freeze(fn, fd), 0);
    EXPECT_EQ(push(fd, 10), -EPERM);
    EXPECT_EQ(take(fd, true), -EPERM);
    EXPECT_EQ(take(fd, false), 9);
  }
}

TEST_P(QueueStackTest, ProgramsPushPopAndPeek) {
  for (uint32_t type : {BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_STACK}) {
    SCOPED_TRACE(type);
    const int fd = create(type, 3);
    const long push1 = load(fd, kPush, 1), push2 = load(fd, kPush, 2), push3x = load(fd, kPush, 3, BPF_EXIST);
    const long push_bad = load(fd, kPush, 4, BPF_NOEXIST);
    const long pop = load(fd, kPop, 0x1111), peek = load(fd, kPeek, 0x2222);
    ASSERT_GE(push1, 0) << last_log;
    ASSERT_GE(push2, 0);
    ASSERT_GE(push3x, 0);
    ASSERT_GE(push_bad, 0);
    ASSERT_GE(pop, 0) << last_log;
    ASSERT_GE(peek, 0);
    // An empty map: ENOENT (and the program's buffer zeroed, which the
    // program does not return: the error comes back instead).
    EXPECT_EQ(run(pop), -ENOENT);
    EXPECT_EQ(run(peek), -ENOENT);
    EXPECT_EQ(run(push1), 0);
    EXPECT_EQ(run(push2), 0);
    EXPECT_EQ(run(push_bad), -EINVAL);
    EXPECT_EQ(run(push1), 0);
    EXPECT_EQ(run(push2), -E2BIG) << "full";
    EXPECT_EQ(run(push3x), 0) << "full, BPF_EXIST";
    // Now 2, 1, 3 from oldest to newest.
    EXPECT_EQ(take(fd, false), type == BPF_MAP_TYPE_QUEUE ? 2 : 3) << "user space peeks what the program pushed";
    EXPECT_EQ(run(peek), type == BPF_MAP_TYPE_QUEUE ? 2 : 3);
    EXPECT_EQ(run(pop), type == BPF_MAP_TYPE_QUEUE ? 2 : 3);
    EXPECT_EQ(push(fd, 42), 0);
    const std::vector<long long> left = type == BPF_MAP_TYPE_QUEUE ? std::vector<long long>{1, 3, 42}
                                                                    : std::vector<long long>{42, 1, 2};
    EXPECT_EQ(drain(fd), left);
  }
}

TEST_P(QueueStackTest, VerifierKeepsTheHelpersAndTheMapsTogether) {
  const int queue = create(BPF_MAP_TYPE_QUEUE, 2);
  const int readonly = create(BPF_MAP_TYPE_STACK, 2, BPF_F_RDONLY_PROG);
  const long array = ubt::map_create(fn, BPF_MAP_TYPE_ARRAY, 4, 8, 1);
  ASSERT_GE(array, 0);
  fds.push_back(static_cast<int>(array));
  EXPECT_EQ(load(static_cast<int>(array), kPush), -EINVAL);
  EXPECT_NE(last_log.find("cannot pass map_type 2 into func bpf_map_push_elem#87"), std::string::npos) << last_log;
  EXPECT_EQ(load(static_cast<int>(array), kPop), -EINVAL);
  // A keyless map's key: zero bytes, which a helper may not read (before
  // the map type is looked at).
  EXPECT_EQ(load(queue, BPF_FUNC_map_lookup_elem), -EACCES);
  EXPECT_NE(last_log.find("invalid zero-sized read"), std::string::npos) << last_log;
  EXPECT_EQ(load(readonly, kPush), -EACCES);
  EXPECT_NE(last_log.find("write into map forbidden"), std::string::npos) << last_log;
  EXPECT_EQ(load(readonly, kPop), -EACCES);
  EXPECT_GE(load(readonly, kPeek), 0) << last_log;
}

INSTANTIATE_TEST_SUITE_P(Backends, QueueStackTest,
                         ::testing::Values(Backend{"userbpf", ubt::userbpf_call}, Backend{"kernel", ubt::kernel_call}),
                         [](const ::testing::TestParamInfo<Backend> &info) { return std::string(info.param.name); });

} // namespace
