// BPF_PROG_LOAD through the bpf() ABI: attr checks and their errno order, the
// verifier log's buffer semantics, program fds, and the references programs
// hold on their maps.
//
// Every test runs twice: against userbpf_bpf() and against the kernel's bpf()
// (skipped where the kernel's is unavailable). The expectations are the
// kernel's observed behaviour (Linux 6.18), so the kernel run checks the
// tests themselves.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <climits>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <userbpf/userbpf.hpp>

#include "alloc/rcu.h"
#include "bpf_test_util.h"
#include "object/handle.h"
#include "prog/program.h"
#include "private_root_env.h"
#include "vm_test_util.h"

namespace {

using ubt::BpfFn;
using ubt::I;
using userbpf::vm::RawInsn;

constexpr uint32_t kSocketFilter = BPF_PROG_TYPE_SOCKET_FILTER;
constexpr uint32_t kXdp = BPF_PROG_TYPE_XDP;
constexpr uint32_t kLogFixed = 8; // BPF_LOG_FIXED (not in the 6.1 uapi header)
constexpr uint32_t kLogStats = 4; // BPF_LOG_STATS

// r0 = 0; exit
const std::vector<RawInsn> kReturnZero = {I(BPF_ALU64 | BPF_MOV | BPF_K, 0), I(BPF_JMP | BPF_EXIT)};
// r0 = r2; exit — r2 is not initialized at entry: "R2 !read_ok", EACCES.
const std::vector<RawInsn> kReadsUninit = {I(BPF_ALU64 | BPF_MOV | BPF_X, 0, 2), I(BPF_JMP | BPF_EXIT)};

// LD_IMM64 r1 = map (fd or fd_array index as `src` says); r0 = 0; exit.
std::vector<RawInsn> uses_map(int32_t imm, uint8_t src = BPF_PSEUDO_MAP_FD) {
  return {I(BPF_LD | BPF_IMM | BPF_DW, 1, src, 0, imm), I(0), I(BPF_ALU64 | BPF_MOV | BPF_K, 0),
          I(BPF_JMP | BPF_EXIT)};
}

struct Backend {
  const char *name;
  BpfFn fn;
};
void PrintTo(const Backend &backend, std::ostream *os) { *os << backend.name; }

// A load request; fields default to a valid socket filter.
struct Load {
  uint32_t type = kSocketFilter;
  std::vector<RawInsn> insns = kReturnZero;
  const char *license = "GPL";
  uint32_t log_level = 0;
  char *log_buf = nullptr;
  uint32_t log_size = 0;
  uint32_t flags = 0;
  const char *name = nullptr;
  const int *fd_array = nullptr;
  // Applied last, to set anything else (or break the above).
  std::function<void(union bpf_attr &)> tweak;
};

class ProgLoadTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    fn = GetParam().fn;
    std::string why;
    if (fn == ubt::kernel_call && !ubt::kernel_bpf_available(&why)) GTEST_SKIP() << why;
  }
  void TearDown() override {
    for (int fd : fds) close(fd);
  }
  bool kernel() const { return fn == ubt::kernel_call; }

  // The program fd or -errno; the fd is closed at the end of the test.
  long load(const Load &l) {
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.prog_type = l.type;
    a.insns = reinterpret_cast<uintptr_t>(l.insns.data());
    a.insn_cnt = static_cast<uint32_t>(l.insns.size());
    a.license = reinterpret_cast<uintptr_t>(l.license);
    a.log_level = l.log_level;
    a.log_buf = reinterpret_cast<uintptr_t>(l.log_buf);
    a.log_size = l.log_size;
    a.prog_flags = l.flags;
    a.fd_array = reinterpret_cast<uintptr_t>(l.fd_array);
    if (l.name) memcpy(a.prog_name, l.name, std::min(strlen(l.name), sizeof(a.prog_name)));
    if (l.tweak) l.tweak(a);
    long r = ubt::call(fn, BPF_PROG_LOAD, a);
    if (r >= 0) fds.push_back(static_cast<int>(r));
    return r;
  }
  // The whole log of a load with a big buffer, and its result.
  std::string full_log(Load l, long *result, uint32_t level = 1) {
    std::vector<char> buf(1 << 20, 'x');
    l.log_level = level;
    l.log_buf = buf.data();
    l.log_size = static_cast<uint32_t>(buf.size());
    *result = load(l);
    return std::string(buf.data());
  }
  int create_array(uint32_t entries = 4) {
    long fd = ubt::map_create(fn, BPF_MAP_TYPE_ARRAY, 4, 8, entries);
    EXPECT_GE(fd, 0) << strerror(static_cast<int>(-fd));
    return static_cast<int>(fd);
  }
  uint32_t map_id(int fd) { return ubt::object_id<struct bpf_map_info>(fn, fd); }
  // MAP_GET_FD_BY_ID: 0 if the map exists (the fd is closed), else -errno.
  long map_exists(uint32_t id) {
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.map_id = id;
    long r = ubt::call(fn, BPF_MAP_GET_FD_BY_ID, a);
    if (r >= 0) {
      close(static_cast<int>(r));
      return 0;
    }
    return r;
  }
  // The kernel frees a map after an RCU grace period, asynchronously: wait
  // (bounded) until the map is gone. userbpf releases it at once.
  long map_gone_within(uint32_t id, std::chrono::milliseconds limit) {
    auto end = std::chrono::steady_clock::now() + limit;
    long r;
    while ((r = map_exists(id)) == 0 && std::chrono::steady_clock::now() < end)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return r;
  }

  BpfFn fn = nullptr;
  std::vector<int> fds;
};

// ------------------------------------------------------------------ accepted

TEST_P(ProgLoadTest, LoadsAProgramAsACloseOnExecFd) {
  long fd = load({});
  ASSERT_GE(fd, 0) << strerror(static_cast<int>(-fd));
  int flags = fcntl(static_cast<int>(fd), F_GETFD);
  EXPECT_TRUE(flags & FD_CLOEXEC);
  // Each load is a new program with its own fd.
  long fd2 = load({});
  ASSERT_GE(fd2, 0);
  EXPECT_NE(fd, fd2);
  // XDP as well, with any name of the allowed characters.
  Load xdp;
  xdp.type = kXdp;
  xdp.name = "xdp_prog.v1";
  EXPECT_GE(load(xdp), 0);
}

TEST_P(ProgLoadTest, AcceptsKnownFlagsAndLicenses) {
  for (uint32_t flags : {0u, unsigned(BPF_F_STRICT_ALIGNMENT), unsigned(BPF_F_ANY_ALIGNMENT),
                         unsigned(BPF_F_TEST_STATE_FREQ), unsigned(BPF_F_TEST_RND_HI32), unsigned(BPF_F_XDP_HAS_FRAGS),
                         1u << 6 /* XDP_DEV_BOUND_ONLY */, 1u << 7 /* TEST_REG_INVARIANTS */}) {
    SCOPED_TRACE(flags);
    Load l;
    l.flags = flags;
    EXPECT_GE(load(l), 0);
  }
  for (const char *license : {"GPL", "Dual BSD/GPL", "MIT", "", "Proprietary"}) {
    SCOPED_TRACE(license);
    Load l;
    l.license = license;
    EXPECT_GE(load(l), 0);
  }
  // A license longer than the kernel's 127 bytes is cut, not refused.
  std::string long_license(300, 'A');
  Load l;
  l.license = long_license.c_str();
  EXPECT_GE(load(l), 0);
  // kern_version, prog_btf_fd without func/line info, core_relo_cnt,
  // expected_attach_type of these types: ignored.
  l = Load{};
  l.tweak = [](union bpf_attr &a) {
    a.kern_version = 123;
    a.prog_btf_fd = 0;
    a.core_relo_cnt = 1;
    a.expected_attach_type = 1000;
    a.fd_array = 8; // never read: the program has no fd_array index
  };
  EXPECT_GE(load(l), 0);
}

// ------------------------------------------------------------------ attr errors

TEST_P(ProgLoadTest, RejectsBadAttrs) {
  Load l;
  l.flags = 1u << 8;
  EXPECT_EQ(load(l), -EINVAL) << "unknown prog_flags bit";
  l.flags = 1u << 16; // BPF_F_TOKEN_FD: the token fd reads as 0, not a token
  EXPECT_EQ(load(l), fcntl(0, F_GETFD) < 0 ? -EBADF : -EINVAL);
  l = Load{};
  l.insns.clear();
  l.tweak = [](union bpf_attr &a) { a.insns = reinterpret_cast<uintptr_t>(kReturnZero.data()); };
  EXPECT_EQ(load(l), -E2BIG) << "insn_cnt 0";
  l.tweak = [](union bpf_attr &a) {
    a.insns = reinterpret_cast<uintptr_t>(kReturnZero.data());
    a.insn_cnt = 1000001;
  };
  EXPECT_EQ(load(l), -E2BIG) << "insn_cnt > 1M";
  l = Load{};
  l.type = 999;
  EXPECT_EQ(load(l), -EINVAL);
  l.type = BPF_PROG_TYPE_UNSPEC;
  EXPECT_EQ(load(l), -EINVAL);
  l = Load{};
  l.name = "bad-name";
  EXPECT_EQ(load(l), -EINVAL);
  l = Load{};
  l.tweak = [](union bpf_attr &a) { memset(a.prog_name, 'a', sizeof(a.prog_name)); }; // no NUL
  EXPECT_EQ(load(l), -EINVAL);
  l.tweak = [](union bpf_attr &a) { a.attach_btf_id = 5; };
  EXPECT_EQ(load(l), -EINVAL);
  l.tweak = [](union bpf_attr &a) { a.attach_prog_fd = 0x7fff; };
  EXPECT_EQ(load(l), -EINVAL);
  l.tweak = [](union bpf_attr &a) { a.prog_ifindex = 1; };
  EXPECT_EQ(load(l), -EINVAL) << "a socket filter does not bind to a device";
  l.type = kXdp;
  EXPECT_EQ(load(l), -EOPNOTSUPP) << "lo cannot offload or bind XDP";
  l.tweak = [](union bpf_attr &a) { a.prog_ifindex = 99999; };
  EXPECT_EQ(load(l), -EINVAL) << "no such device";
  // CHECK_ATTR: a byte after the last field this ABI knows.
  l = Load{};
  l.tweak = [](union bpf_attr &a) {
    reinterpret_cast<char *>(&a)[offsetof(union bpf_attr, core_relo_rec_size) + sizeof(a.core_relo_rec_size) + 1] = 1;
  };
  // Inside 6.18's attr that is log_true_size, an output the kernel ignores.
  if (!kernel()) {
    EXPECT_EQ(load(l), -EINVAL);
  }
}

TEST_P(ProgLoadTest, BadPointersFault) {
  Load l;
  l.license = nullptr;
  EXPECT_EQ(load(l), -EFAULT);
  l.license = reinterpret_cast<const char *>(8);
  EXPECT_EQ(load(l), -EFAULT);
  l = Load{};
  l.tweak = [](union bpf_attr &a) { a.insns = 8; };
  EXPECT_EQ(load(l), -EFAULT);
  l.tweak = [](union bpf_attr &a) { a.insns = 0; };
  EXPECT_EQ(load(l), -EFAULT);

  // Instructions and a license that run into an inaccessible page.
  long page = sysconf(_SC_PAGESIZE);
  auto *mem = static_cast<char *>(mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(mem, MAP_FAILED);
  ASSERT_EQ(mprotect(mem + page, page, PROT_NONE), 0);
  auto *tail = reinterpret_cast<RawInsn *>(mem + page) - 2;
  tail[0] = kReturnZero[0];
  tail[1] = kReturnZero[1];
  l = Load{};
  l.tweak = [&](union bpf_attr &a) {
    a.insns = reinterpret_cast<uintptr_t>(tail);
    a.insn_cnt = 2;
  };
  EXPECT_GE(load(l), 0) << "the last two instructions before the hole";
  l.tweak = [&](union bpf_attr &a) {
    a.insns = reinterpret_cast<uintptr_t>(tail);
    a.insn_cnt = 3;
  };
  EXPECT_EQ(load(l), -EFAULT) << "one instruction into the hole";
  l = Load{};
  memcpy(mem + page - 4, "GPL", 4);
  l.license = mem + page - 4;
  EXPECT_GE(load(l), 0) << "a license whose NUL is the page's last byte";
  memcpy(mem + page - 3, "GPL", 3);
  l.license = mem + page - 3;
  EXPECT_EQ(load(l), -EFAULT) << "a license running into the hole";
  munmap(mem, 2 * page);
}

TEST_P(ProgLoadTest, LogAttrs) {
  char buf[1024];
  Load l;
  auto with_log = [&](uint32_t level, char *b, uint32_t size) {
    Load x;
    x.log_level = level;
    x.log_buf = b;
    x.log_size = size;
    return load(x);
  };
  EXPECT_EQ(with_log(16, buf, sizeof(buf)), -EINVAL) << "level beyond BPF_LOG_MASK";
  EXPECT_EQ(with_log(0x100, buf, sizeof(buf)), -EINVAL);
  EXPECT_EQ(with_log(1, nullptr, 100), -EINVAL) << "size without a buffer";
  EXPECT_EQ(with_log(0, buf, sizeof(buf)), -EINVAL) << "buffer without a level";
  EXPECT_EQ(with_log(1, buf, 0), -EINVAL) << "buffer without a size";
  EXPECT_EQ(with_log(1, buf, (UINT32_MAX >> 2) + 1), -EINVAL) << "size > UINT_MAX >> 2";
  // Valid: a level with no buffer at all (6.4+), each level bit, FIXED alone.
  EXPECT_GE(with_log(1, nullptr, 0), 0);
  for (uint32_t level : {1u, 2u, 3u, kLogStats, kLogFixed, 1u | kLogFixed, 15u}) {
    SCOPED_TRACE(level);
    EXPECT_GE(with_log(level, buf, sizeof(buf)), 0);
  }
  // log_size up to UINT_MAX >> 2 is accepted (the buffer is only written
  // as far as the log goes).
  std::vector<char> big(4096);
  EXPECT_GE(with_log(1, big.data(), UINT32_MAX >> 2), 0);
  // A log buffer the kernel cannot write: EFAULT, even for an accepted program.
  EXPECT_EQ(with_log(1, reinterpret_cast<char *>(8), 1000), -EFAULT);
  (void)l;
}

TEST_P(ProgLoadTest, ErrnoOrder) {
  // A bad license pointer is found before a bad name, type or log level;
  // attr checks that come earlier win over it.
  Load l;
  l.license = reinterpret_cast<const char *>(8);
  l.log_level = 99;
  EXPECT_EQ(load(l), -EFAULT);
  l.type = 999;
  EXPECT_EQ(load(l), -EFAULT);
  l.tweak = [](union bpf_attr &a) { a.insn_cnt = 0; };
  EXPECT_EQ(load(l), -E2BIG);
  l.tweak = [](union bpf_attr &a) { a.prog_flags = 1u << 8; };
  EXPECT_EQ(load(l), -EINVAL);
  l = Load{};
  l.tweak = [](union bpf_attr &a) {
    a.attach_btf_id = 5;
    a.license = 8;
  };
  EXPECT_EQ(load(l), -EINVAL) << "attach_btf_id is checked before the license is read";
  l.tweak = [](union bpf_attr &a) {
    a.prog_ifindex = 1;
    a.license = 8;
  };
  EXPECT_EQ(load(l), -EFAULT) << "prog_ifindex is checked after the license is read";
  // A rejected program with an unwritable log buffer: EFAULT.
  l = Load{};
  l.insns = kReadsUninit;
  l.log_level = 1;
  l.log_buf = reinterpret_cast<char *>(8);
  l.log_size = 1000;
  EXPECT_EQ(load(l), -EFAULT);
}

TEST_P(ProgLoadTest, BtfInfoWithoutBtf) {
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(devnull, 0);
  Load l;
  l.tweak = [&](union bpf_attr &a) {
    a.func_info_cnt = 1;
    a.prog_btf_fd = static_cast<uint32_t>(devnull);
  };
  EXPECT_EQ(load(l), -EINVAL) << "prog_btf_fd is not BTF";
  l.tweak = [&](union bpf_attr &a) {
    a.line_info_cnt = 1;
    a.prog_btf_fd = 0x7fff;
  };
  EXPECT_EQ(load(l), -EBADF) << "prog_btf_fd is not an fd";
  // The log of a load stopped before the analysis: the statistics line only.
  std::vector<char> buf(1000, 'x');
  l.log_level = 1;
  l.log_buf = buf.data();
  l.log_size = static_cast<uint32_t>(buf.size());
  EXPECT_EQ(load(l), -EBADF);
  EXPECT_EQ(std::string(buf.data()),
            "processed 0 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n");
  close(devnull);
}

// ------------------------------------------------------------------ the log

TEST_P(ProgLoadTest, RejectionLogNamesTheReason) {
  long r;
  std::string log = full_log({.insns = kReadsUninit}, &r);
  EXPECT_EQ(r, -EACCES);
  EXPECT_NE(log.find("R2 !read_ok"), std::string::npos) << log;
  EXPECT_NE(log.find("processed 1 insns"), std::string::npos) << log;
  // Without a log buffer the verdict is the same.
  EXPECT_EQ(load({.insns = kReadsUninit}), -EACCES);
}

TEST_P(ProgLoadTest, AcceptedLogIsTheStatistics) {
  long r;
  std::string log = full_log({}, &r);
  ASSERT_GE(r, 0);
  EXPECT_EQ(log, "processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n");
  // FIXED alone is a log level too.
  log = full_log({}, &r, kLogFixed);
  ASSERT_GE(r, 0);
  EXPECT_EQ(log, "processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n");
}

// The buffer of a log that did not fit: rotating mode keeps the end, FIXED
// the beginning, size - 1 bytes and a NUL; the result is ENOSPC whatever the
// verdict (bpf_vlog_finalize's error replaces the verifier's).
TEST_P(ProgLoadTest, TruncatedLogs) {
  for (const auto &insns : {kReturnZero, kReadsUninit}) {
    long full_result;
    std::string full = full_log({.insns = insns}, &full_result);
    ASSERT_FALSE(full.empty());
    for (uint32_t size : {1u, 2u, 20u, static_cast<uint32_t>(full.size()), static_cast<uint32_t>(full.size() + 1),
                          static_cast<uint32_t>(full.size() + 2)}) {
      for (uint32_t mode : {0u, kLogFixed}) {
        SCOPED_TRACE("size " + std::to_string(size) + " mode " + std::to_string(mode) + " log " + full);
        std::vector<char> buf(full.size() + 64, 'x');
        Load l;
        l.insns = insns;
        l.log_level = 1 | mode;
        l.log_buf = buf.data();
        l.log_size = size;
        long r = load(l);
        bool fits = full.size() + 1 <= size;
        if (fits) {
          if (full_result < 0) {
            EXPECT_EQ(r, full_result);
          } else {
            EXPECT_GE(r, 0);
          }
          EXPECT_EQ(std::string(buf.data()), full);
        } else {
          EXPECT_EQ(r, -ENOSPC);
          std::string want = mode ? full.substr(0, size - 1) : full.substr(full.size() - (size - 1));
          EXPECT_EQ(std::string(buf.data()), want);
        }
        // Nothing past the NUL is written.
        size_t written = std::min<size_t>(full.size() + 1, size);
        for (size_t i = written; i < buf.size(); i++) ASSERT_EQ(buf[i], 'x') << "byte " << i;
      }
    }
  }
}

// The kernel's ENOSPC looks at the longest the log ever was (len_max), not
// at what is left: at level 1 the trace of each explored path is written and
// then reset when the path ends well, so an accepted program whose trace
// overflowed the buffer is ENOSPC although the final log (the statistics
// line) fits.
TEST_P(ProgLoadTest, EnospcCountsTheLogsLongestLength) {
  std::vector<RawInsn> insns = {I(BPF_ALU64 | BPF_MOV | BPF_K, 0)};
  for (int i = 0; i < 20; i++) insns.push_back(I(BPF_ALU64 | BPF_ADD | BPF_K, 0, 0, 0, 1));
  insns.push_back(I(BPF_JMP | BPF_JGT | BPF_K, 0, 0, 1, 5)); // if r0 > 5 goto +1
  insns.push_back(I(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 1));
  insns.push_back(I(BPF_JMP | BPF_EXIT));
  long r;
  std::string full = full_log({.insns = insns}, &r);
  ASSERT_GE(r, 0);
  const std::string stats =
      "processed 23 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n";
  EXPECT_EQ(full, stats);
  std::vector<char> buf(300, 'x');
  EXPECT_EQ(load({.insns = insns, .log_level = 1, .log_buf = buf.data(), .log_size = 300}), -ENOSPC);
  EXPECT_EQ(std::string(buf.data()), stats);
}

// ------------------------------------------------------------------ maps

TEST_P(ProgLoadTest, MapFdErrors) {
  EXPECT_EQ(load({.insns = uses_map(0x7fff)}), -EBADF);
  EXPECT_EQ(load({.insns = uses_map(-1)}), -EBADF);
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  EXPECT_EQ(load({.insns = uses_map(devnull)}), -EINVAL) << "an fd that is not a map";
  long prog = load({});
  ASSERT_GE(prog, 0);
  EXPECT_EQ(load({.insns = uses_map(static_cast<int32_t>(prog))}), -EINVAL) << "a program fd is not a map";
  close(devnull);

  int map = create_array();
  int fd_array[2] = {map, 0x7fff};
  EXPECT_GE(load({.insns = uses_map(0, BPF_PSEUDO_MAP_IDX), .fd_array = fd_array}), 0);
  EXPECT_EQ(load({.insns = uses_map(1, BPF_PSEUDO_MAP_IDX), .fd_array = fd_array}), -EBADF);
  EXPECT_EQ(load({.insns = uses_map(0, BPF_PSEUDO_MAP_IDX)}), -EPROTO) << "fd_idx without fd_array";
  EXPECT_EQ(load({.insns = uses_map(0, BPF_PSEUDO_MAP_IDX), .fd_array = reinterpret_cast<const int *>(8)}),
            -EFAULT);
  // Entries are read one by one: the last int before an inaccessible page is
  // fine, the next index faults; a huge index faults.
  long page = sysconf(_SC_PAGESIZE);
  auto *mem = static_cast<char *>(mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(mem, MAP_FAILED);
  ASSERT_EQ(mprotect(mem + page, page, PROT_NONE), 0);
  int *entries = reinterpret_cast<int *>(mem + page) - 2;
  entries[0] = 0x7fff;
  entries[1] = map;
  EXPECT_GE(load({.insns = uses_map(1, BPF_PSEUDO_MAP_IDX), .fd_array = entries}), 0);
  EXPECT_EQ(load({.insns = uses_map(2, BPF_PSEUDO_MAP_IDX), .fd_array = entries}), -EFAULT);
  EXPECT_EQ(load({.insns = uses_map(1 << 28, BPF_PSEUDO_MAP_IDX), .fd_array = entries}), -EFAULT);
  munmap(mem, 2 * page);
  close(map);
}

TEST_P(ProgLoadTest, ProgramKeepsItsMapAlive) {
  int map = create_array();
  uint32_t id = map_id(map);
  uint32_t key = 1;
  uint64_t value = 42;
  ASSERT_EQ(ubt::map_update(fn, map, &key, &value), 0);
  long prog = load({.insns = uses_map(map)});
  ASSERT_GE(prog, 0) << strerror(static_cast<int>(-prog));
  close(map);
  // The map lives on through the program: found by id, with its contents.
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.map_id = id;
  long again = ubt::call(fn, BPF_MAP_GET_FD_BY_ID, a);
  ASSERT_GE(again, 0) << strerror(static_cast<int>(-again));
  uint64_t got = 0;
  EXPECT_EQ(ubt::map_lookup(fn, static_cast<int>(again), &key, &got), 0);
  EXPECT_EQ(got, 42u);
  close(static_cast<int>(again));
  // The program's release releases the map.
  fds.erase(std::find(fds.begin(), fds.end(), static_cast<int>(prog)));
  close(static_cast<int>(prog));
  EXPECT_EQ(map_gone_within(id, std::chrono::seconds(2)), -ENOENT);
}

TEST_P(ProgLoadTest, FailedLoadDropsItsMapReferences) {
  int map = create_array();
  uint32_t id = map_id(map);
  // Uses the map, then reads an uninitialized register: rejected.
  std::vector<RawInsn> insns = uses_map(map);
  insns[2] = I(BPF_ALU64 | BPF_MOV | BPF_X, 0, 3);
  EXPECT_EQ(load({.insns = insns}), -EACCES);
  // Accepted, but the log does not fit: ENOSPC, no program.
  char small[8];
  EXPECT_EQ(load({.insns = uses_map(map), .log_level = 1, .log_buf = small, .log_size = sizeof(small)}), -ENOSPC);
  close(map);
  EXPECT_EQ(map_gone_within(id, std::chrono::seconds(2)), -ENOENT);
}

TEST_P(ProgLoadTest, SameMapTwiceAndSeveralMaps) {
  int m1 = create_array(), m2 = create_array();
  uint32_t id1 = map_id(m1), id2 = map_id(m2);
  std::vector<RawInsn> insns = {I(BPF_LD | BPF_IMM | BPF_DW, 1, BPF_PSEUDO_MAP_FD, 0, m1), I(0),
                                I(BPF_LD | BPF_IMM | BPF_DW, 2, BPF_PSEUDO_MAP_FD, 0, m2), I(0),
                                I(BPF_LD | BPF_IMM | BPF_DW, 3, BPF_PSEUDO_MAP_FD, 0, m1), I(0),
                                I(BPF_ALU64 | BPF_MOV | BPF_K, 0), I(BPF_JMP | BPF_EXIT)};
  long prog = load({.insns = insns});
  ASSERT_GE(prog, 0) << strerror(static_cast<int>(-prog));
  close(m1);
  close(m2);
  EXPECT_EQ(map_exists(id1), 0);
  EXPECT_EQ(map_exists(id2), 0);
  fds.erase(std::find(fds.begin(), fds.end(), static_cast<int>(prog)));
  close(static_cast<int>(prog));
  EXPECT_EQ(map_gone_within(id1, std::chrono::seconds(2)), -ENOENT);
  EXPECT_EQ(map_gone_within(id2, std::chrono::seconds(2)), -ENOENT);
}

TEST_P(ProgLoadTest, ProgramFdAcrossFork) {
  int map = create_array();
  uint32_t id = map_id(map);
  long prog = load({.insns = uses_map(map)});
  ASSERT_GE(prog, 0);
  close(map);
  int go[2], done[2];
  ASSERT_EQ(pipe(go), 0);
  ASSERT_EQ(pipe(done), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // The child holds the inherited program fd until told to exit.
    char c;
    if (write(done[1], "r", 1) != 1) _exit(2);
    if (read(go[0], &c, 1) != 1) _exit(3);
    _exit(0);
  }
  char c;
  ASSERT_EQ(read(done[0], &c, 1), 1);
  // The parent closes its program fd: the child's copy keeps the program,
  // and so the map.
  fds.erase(std::find(fds.begin(), fds.end(), static_cast<int>(prog)));
  close(static_cast<int>(prog));
  EXPECT_EQ(map_exists(id), 0);
  // The child exits: the last fd of the program goes with it.
  ASSERT_EQ(write(go[1], "g", 1), 1);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(map_gone_within(id, std::chrono::seconds(2)), -ENOENT);
  for (int fd : {go[0], go[1], done[0], done[1]}) close(fd);
}

// A program whose process exits without closing it is released, and with it
// the map it alone held: MAP_GET_NEXT_ID no longer walks to the map.
TEST_P(ProgLoadTest, ExitReleasesProgramAndItsMapForIdWalks) {
  int map = create_array();
  uint32_t id = map_id(map);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    long prog = load({.insns = uses_map(map)});
    _exit(prog >= 0 ? 0 : 1); // exits holding the program fd
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  close(map);
  auto walks_to = [&](uint32_t want) {
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    for (a.start_id = 0; ubt::call(fn, BPF_MAP_GET_NEXT_ID, a) == 0; a.start_id = a.next_id)
      if (a.next_id == want) return true;
    return false;
  };
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (walks_to(id) && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_FALSE(walks_to(id));
}

TEST_P(ProgLoadTest, ProgramFdsAreNotMapFds) {
  long prog = load({});
  ASSERT_GE(prog, 0);
  uint32_t key = 0;
  uint64_t value = 0;
  EXPECT_EQ(ubt::map_lookup(fn, static_cast<int>(prog), &key, &value), -EINVAL);
  EXPECT_EQ(ubt::map_update(fn, static_cast<int>(prog), &key, &value), -EINVAL);
}

// ------------------------------------------------------------------ ids, info, pins

// BPF_OBJ_GET_INFO_BY_FD of a program, with room for the instructions and map ids.
struct ProgInfo {
  struct bpf_prog_info info;
  RawInsn xlated[16];
  uint32_t map_ids[4];
  uint8_t tags[2][BPF_TAG_SIZE];
};
long prog_info(BpfFn fn, int fd, ProgInfo *out, uint32_t info_len = sizeof(struct bpf_prog_info)) {
  memset(out, 0, sizeof(*out));
  out->info.xlated_prog_len = sizeof(out->xlated);
  out->info.xlated_prog_insns = reinterpret_cast<uintptr_t>(out->xlated);
  out->info.nr_map_ids = 4;
  out->info.map_ids = reinterpret_cast<uintptr_t>(out->map_ids);
  out->info.nr_prog_tags = 2;
  out->info.prog_tags = reinterpret_cast<uintptr_t>(out->tags);
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.info.bpf_fd = static_cast<uint32_t>(fd);
  a.info.info_len = info_len;
  a.info.info = reinterpret_cast<uintptr_t>(&out->info);
  long r = ubt::call(fn, BPF_OBJ_GET_INFO_BY_FD, a);
  return r < 0 ? r : a.info.info_len;
}

// LD_IMM64 r1 = map; LD_IMM64 r2 = &value[0] + 4 (a one-entry array); r0 = 0; exit.
std::vector<RawInsn> uses_map_and_value(int map) {
  return {I(BPF_LD | BPF_IMM | BPF_DW, 1, BPF_PSEUDO_MAP_FD, 0, map), I(0),
          I(BPF_LD | BPF_IMM | BPF_DW, 2, BPF_PSEUDO_MAP_VALUE, 0, map), I(0, 0, 0, 0, 4),
          I(BPF_ALU64 | BPF_MOV | BPF_K, 0), I(BPF_JMP | BPF_EXIT)};
}

TEST_P(ProgLoadTest, InfoOfAProgram) {
  int map = create_array(1);
  uint32_t mid = map_id(map);
  long prog = load({.insns = uses_map_and_value(map), .name = "info_prog"});
  ASSERT_GE(prog, 0) << strerror(static_cast<int>(-prog));
  ProgInfo pi;
  ASSERT_EQ(prog_info(fn, static_cast<int>(prog), &pi), static_cast<long>(sizeof(struct bpf_prog_info)));
  EXPECT_EQ(pi.info.type, kSocketFilter);
  EXPECT_NE(pi.info.id, 0u);
  EXPECT_STREQ(pi.info.name, "info_prog");
  EXPECT_EQ(pi.info.gpl_compatible, 1u);
  EXPECT_EQ(pi.info.created_by_uid, getuid());
  EXPECT_GT(pi.info.load_time, 0u);
  EXPECT_EQ(pi.info.nr_map_ids, 1u);
  EXPECT_EQ(pi.map_ids[0], mid);
  EXPECT_EQ(pi.info.nr_prog_tags, 1u);
  EXPECT_EQ(memcmp(pi.tags[0], pi.info.tag, BPF_TAG_SIZE), 0);
  EXPECT_EQ(pi.info.verified_insns, 4u);
  EXPECT_EQ(pi.info.func_info_rec_size, sizeof(struct bpf_func_info));
  EXPECT_EQ(pi.info.line_info_rec_size, sizeof(struct bpf_line_info));
  // The xlated dump names maps by id: PSEUDO_MAP_FD / PSEUDO_MAP_VALUE + offset.
  ASSERT_EQ(pi.info.xlated_prog_len, 6 * sizeof(RawInsn));
  EXPECT_EQ(pi.xlated[0].code, BPF_LD | BPF_IMM | BPF_DW);
  EXPECT_EQ(pi.xlated[0].src, BPF_PSEUDO_MAP_FD);
  EXPECT_EQ(static_cast<uint32_t>(pi.xlated[0].imm), mid);
  EXPECT_EQ(pi.xlated[1].imm, 0);
  EXPECT_EQ(pi.xlated[2].src, BPF_PSEUDO_MAP_VALUE);
  EXPECT_EQ(static_cast<uint32_t>(pi.xlated[2].imm), mid);
  EXPECT_EQ(pi.xlated[3].imm, 4);
  EXPECT_EQ(pi.xlated[4].code, BPF_ALU64 | BPF_MOV | BPF_K);
  EXPECT_EQ(pi.xlated[5].code, BPF_JMP | BPF_EXIT);

  // A short info_len gets the first fields only, and says so.
  ProgInfo shortinfo;
  ASSERT_EQ(prog_info(fn, static_cast<int>(prog), &shortinfo, 8), 8);
  EXPECT_EQ(shortinfo.info.type, kSocketFilter);
  EXPECT_EQ(shortinfo.info.id, pi.info.id);
  EXPECT_EQ(shortinfo.info.xlated_prog_len, sizeof(shortinfo.xlated)) << "untouched past info_len";
  // Room for fewer ids and instructions than there are: the counts say how many.
  memset(&pi, 0, sizeof(pi));
  pi.info.xlated_prog_len = 2 * sizeof(RawInsn);
  pi.info.xlated_prog_insns = reinterpret_cast<uintptr_t>(pi.xlated);
  memset(pi.xlated, 0xee, sizeof(pi.xlated));
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.info.bpf_fd = static_cast<uint32_t>(prog);
  a.info.info_len = sizeof(pi.info);
  a.info.info = reinterpret_cast<uintptr_t>(&pi.info);
  ASSERT_EQ(ubt::call(fn, BPF_OBJ_GET_INFO_BY_FD, a), 0);
  EXPECT_EQ(pi.info.xlated_prog_len, 6 * sizeof(RawInsn));
  EXPECT_EQ(pi.info.nr_map_ids, 1u);
  EXPECT_EQ(pi.xlated[1].code, 0);
  EXPECT_EQ(pi.xlated[2].code, 0xee) << "nothing written past the caller's length";
  // Bad user buffers fault; bad record sizes are EINVAL.
  pi.info.xlated_prog_insns = 8;
  EXPECT_EQ(ubt::call(fn, BPF_OBJ_GET_INFO_BY_FD, a), -EFAULT);
  memset(&pi.info, 0, sizeof(pi.info));
  pi.info.func_info_rec_size = 3;
  EXPECT_EQ(ubt::call(fn, BPF_OBJ_GET_INFO_BY_FD, a), -EINVAL);
  close(map);
}

// The jited_* fields (the kernel's JIT is on here; userbpf's JIT is the
// default engine): sizes and counts, per function, then the copies.
TEST_P(ProgLoadTest, InfoOfAJitedProgram) {
  // main: call the subprogram at 2, exit; subprogram: r0 = 7, exit.
  long prog = load({.insns = {I(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 1), I(BPF_JMP | BPF_EXIT),
                              I(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 7), I(BPF_JMP | BPF_EXIT)}});
  ASSERT_GE(prog, 0) << strerror(static_cast<int>(-prog));
  struct bpf_prog_info info;
  memset(&info, 0, sizeof(info));
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.info.bpf_fd = static_cast<uint32_t>(prog);
  a.info.info_len = sizeof(info);
  a.info.info = reinterpret_cast<uintptr_t>(&info);
  ASSERT_EQ(ubt::call(fn, BPF_OBJ_GET_INFO_BY_FD, a), 0);
  if (!kernel() && userbpf::execution_engine() == userbpf::ExecutionEngine::kInterpreter) {
    // USERBPF_JIT=0: as the kernel with bpf_jit_enable=0, nothing jited.
    EXPECT_EQ(info.jited_prog_len, 0u);
    EXPECT_EQ(info.nr_jited_ksyms, 0u);
    EXPECT_EQ(info.nr_jited_func_lens, 0u);
    return;
  }
  ASSERT_GT(info.jited_prog_len, 0u);
  EXPECT_EQ(info.nr_jited_ksyms, 2u) << "one per function";
  EXPECT_EQ(info.nr_jited_func_lens, 2u);
  EXPECT_EQ(info.nr_jited_line_info, 0u) << "no line info loaded";
  EXPECT_EQ(info.jited_line_info_rec_size, sizeof(uint64_t));
  const uint32_t len = info.jited_prog_len;

  std::vector<uint8_t> code(len + 16, 0xee);
  uint64_t ksyms[3] = {};
  uint32_t lens[3] = {};
  memset(&info, 0, sizeof(info));
  info.jited_prog_len = len;
  info.jited_prog_insns = reinterpret_cast<uintptr_t>(code.data());
  info.nr_jited_ksyms = 3;
  info.jited_ksyms = reinterpret_cast<uintptr_t>(ksyms);
  info.nr_jited_func_lens = 3;
  info.jited_func_lens = reinterpret_cast<uintptr_t>(lens);
  ASSERT_EQ(ubt::call(fn, BPF_OBJ_GET_INFO_BY_FD, a), 0);
  EXPECT_EQ(info.jited_prog_len, len);
  EXPECT_EQ(lens[0] + lens[1], len) << "the functions make up the code";
  EXPECT_GT(lens[0], 0u);
  EXPECT_GT(lens[1], 0u);
  EXPECT_EQ(lens[2], 0u);
  EXPECT_NE(ksyms[0], ksyms[1]);
  EXPECT_EQ(ksyms[2], 0u);
  EXPECT_EQ(code[len], 0xee) << "nothing past jited_prog_len";
  if (!kernel()) {
    // One image: the subprogram follows the main function.
    EXPECT_EQ(ksyms[1], ksyms[0] + lens[0]);
    EXPECT_EQ(memcmp(code.data(), reinterpret_cast<const void *>(ksyms[0]), len), 0);
  }
  // Room for less: what fits is copied, the counts say how much there is.
  std::vector<uint8_t> small(8, 0xee);
  memset(&info, 0, sizeof(info));
  info.jited_prog_len = 4;
  info.jited_prog_insns = reinterpret_cast<uintptr_t>(small.data());
  ASSERT_EQ(ubt::call(fn, BPF_OBJ_GET_INFO_BY_FD, a), 0);
  EXPECT_EQ(info.jited_prog_len, len);
  EXPECT_EQ(memcmp(small.data(), code.data(), 4), 0);
  EXPECT_EQ(small[4], 0xee);
  // A bad buffer faults.
  memset(&info, 0, sizeof(info));
  info.nr_jited_func_lens = 2;
  info.jited_func_lens = 8;
  EXPECT_EQ(ubt::call(fn, BPF_OBJ_GET_INFO_BY_FD, a), -EFAULT);
}

TEST_P(ProgLoadTest, IdsAndFdById) {
  long prog = load({});
  ASSERT_GE(prog, 0);
  ProgInfo pi;
  ASSERT_GT(prog_info(fn, static_cast<int>(prog), &pi), 0);
  uint32_t id = pi.info.id;
  // GET_NEXT_ID walks to it.
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.start_id = id - 1;
  ASSERT_EQ(ubt::call(fn, BPF_PROG_GET_NEXT_ID, a), 0);
  EXPECT_EQ(a.next_id, id);
  // GET_FD_BY_ID opens it again.
  memset(&a, 0, sizeof(a));
  a.prog_id = id;
  long fd = ubt::call(fn, BPF_PROG_GET_FD_BY_ID, a);
  ASSERT_GE(fd, 0);
  ProgInfo again;
  ASSERT_GT(prog_info(fn, static_cast<int>(fd), &again), 0);
  EXPECT_EQ(again.info.id, id);
  EXPECT_TRUE(fcntl(static_cast<int>(fd), F_GETFD) & FD_CLOEXEC);
  close(static_cast<int>(fd));
  a.open_flags = BPF_F_RDONLY;
  EXPECT_EQ(ubt::call(fn, BPF_PROG_GET_FD_BY_ID, a), -EINVAL) << "no open_flags for programs";
  a.open_flags = 0;
  a.prog_id = INT32_MAX - 1;
  EXPECT_EQ(ubt::call(fn, BPF_PROG_GET_FD_BY_ID, a), -ENOENT);
  // Closed: gone.
  fds.erase(std::find(fds.begin(), fds.end(), static_cast<int>(prog)));
  close(static_cast<int>(prog));
  a.prog_id = id;
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  long r;
  while ((r = ubt::call(fn, BPF_PROG_GET_FD_BY_ID, a)) >= 0 && std::chrono::steady_clock::now() < end) {
    close(static_cast<int>(r));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(r, -ENOENT);
}

// Ids go up, load after load, and a walk lists exactly the programs that
// exist: every id it gives opens (userbpf makes program files ahead of its
// loads, under ids reserved then: never listed, never openable, and given
// up if a higher id was published meanwhile).
// A program larger than a page (its copy in the store is read in two tries,
// a page first) is found by id and read back whole.
TEST_P(ProgLoadTest, ALargeProgramIsOpenedByIdAndReadBackWhole) {
  std::vector<RawInsn> insns = {I(BPF_ALU64 | BPF_MOV | BPF_K, 0)};
  for (int i = 0; i < 1500; i++) insns.push_back(I(BPF_ALU64 | BPF_ADD | BPF_K, 0, 0, 0, i & 7));
  insns.push_back(I(BPF_JMP | BPF_EXIT));
  long prog = load({.insns = insns});
  ASSERT_GE(prog, 0) << strerror(static_cast<int>(-prog));
  ProgInfo pi;
  ASSERT_GT(prog_info(fn, static_cast<int>(prog), &pi), 0);
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.prog_id = pi.info.id;
  long again = ubt::call(fn, BPF_PROG_GET_FD_BY_ID, a);
  ASSERT_GE(again, 0) << strerror(static_cast<int>(-again));
  std::vector<RawInsn> xlated(insns.size() + 4);
  struct bpf_prog_info info;
  memset(&info, 0, sizeof(info));
  info.xlated_prog_len = static_cast<uint32_t>(xlated.size() * sizeof(RawInsn));
  info.xlated_prog_insns = reinterpret_cast<uintptr_t>(xlated.data());
  memset(&a, 0, sizeof(a));
  a.info.bpf_fd = static_cast<uint32_t>(again);
  a.info.info_len = sizeof(info);
  a.info.info = reinterpret_cast<uintptr_t>(&info);
  ASSERT_EQ(ubt::call(fn, BPF_OBJ_GET_INFO_BY_FD, a), 0);
  ASSERT_EQ(info.xlated_prog_len, insns.size() * sizeof(RawInsn));
  for (size_t i = 0; i < insns.size(); i++) {
    ASSERT_EQ(xlated[i].code, insns[i].code) << "instruction " << i;
    ASSERT_EQ(xlated[i].imm, insns[i].imm) << "instruction " << i;
  }
  close(static_cast<int>(again));
  close(static_cast<int>(prog));
}

TEST_P(ProgLoadTest, IdsGoUpAndWalksListOnlyPrograms) {
  uint32_t last = 0;
  std::vector<uint32_t> kept;
  for (int i = 0; i < 60; i++) {
    long prog = load({});
    ASSERT_GE(prog, 0);
    ProgInfo pi;
    ASSERT_GT(prog_info(fn, static_cast<int>(prog), &pi), 0);
    EXPECT_GT(pi.info.id, last) << "load " << i;
    last = pi.info.id;
    if (i % 10 == 0) {
      kept.push_back(pi.info.id);
    } else {
      fds.erase(std::find(fds.begin(), fds.end(), static_cast<int>(prog)));
      close(static_cast<int>(prog));
    }
    if (i % 20 == 19) std::this_thread::sleep_for(std::chrono::milliseconds(20)); // let files be made ahead
  }
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  std::vector<uint32_t> listed;
  for (a.start_id = 0; ubt::call(fn, BPF_PROG_GET_NEXT_ID, a) == 0; a.start_id = a.next_id) {
    if (a.next_id <= kept.front()) continue; // older programs (the system's, other tests')
    union bpf_attr by_id;
    memset(&by_id, 0, sizeof(by_id));
    by_id.prog_id = a.next_id;
    long fd = ubt::call(fn, BPF_PROG_GET_FD_BY_ID, by_id);
    // Released since the walk found it (the kernel frees after a grace
    // period), or a program of another process: only ENOENT is allowed.
    if (fd == -ENOENT) continue;
    EXPECT_GE(fd, 0) << "listed id " << a.next_id << " does not open";
    if (fd >= 0) close(static_cast<int>(fd));
    listed.push_back(a.next_id);
  }
  for (size_t k = 1; k < kept.size(); k++)
    EXPECT_NE(std::find(listed.begin(), listed.end(), kept[k]), listed.end()) << "kept program " << kept[k];
}

TEST_P(ProgLoadTest, PinAndGetAProgram) {
  int map = create_array();
  uint32_t mid = map_id(map);
  long prog = load({.insns = uses_map(map)});
  ASSERT_GE(prog, 0);
  close(map);
  std::string path = "/sys/fs/bpf/userbpf_test_prog_" + std::to_string(getpid());
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.pathname = reinterpret_cast<uintptr_t>(path.c_str());
  a.bpf_fd = static_cast<uint32_t>(prog);
  ASSERT_EQ(ubt::call(fn, BPF_OBJ_PIN, a), 0);
  // The pin keeps the program (and its map) after the last fd is closed.
  fds.erase(std::find(fds.begin(), fds.end(), static_cast<int>(prog)));
  close(static_cast<int>(prog));
  EXPECT_EQ(map_exists(mid), 0);
  memset(&a, 0, sizeof(a));
  a.pathname = reinterpret_cast<uintptr_t>(path.c_str());
  long fd = ubt::call(fn, BPF_OBJ_GET, a);
  ASSERT_GE(fd, 0) << strerror(static_cast<int>(-fd));
  ProgInfo pi;
  ASSERT_GT(prog_info(fn, static_cast<int>(fd), &pi), 0);
  EXPECT_EQ(pi.info.type, kSocketFilter);
  EXPECT_EQ(pi.map_ids[0], mid);
  close(static_cast<int>(fd));
  // 6.18 opens program pins read-only or write-only too.
  for (uint32_t flags : {unsigned(BPF_F_RDONLY), unsigned(BPF_F_WRONLY)}) {
    a.file_flags = flags;
    long ro = ubt::call(fn, BPF_OBJ_GET, a);
    EXPECT_GE(ro, 0) << flags;
    if (ro >= 0) close(static_cast<int>(ro));
  }
  // Removing the pin releases the program, then the map.
  char real[4096];
  if (kernel()) {
    ASSERT_EQ(unlink(path.c_str()), 0);
  } else {
    ASSERT_EQ(userbpf_pin_path(path.c_str(), real, sizeof(real)), 0);
    ASSERT_EQ(unlink(real), 0);
  }
  EXPECT_EQ(map_gone_within(mid, std::chrono::seconds(2)), -ENOENT);
}

// The tag is the kernel's: the same instructions (map fds aside) give the
// same tag on both.
TEST(ProgTag, MatchesTheKernel) {
  std::string why;
  if (!ubt::kernel_bpf_available(&why)) GTEST_SKIP() << why;
  auto tag_of = [](BpfFn fn, const std::vector<RawInsn> &insns, std::string *tag) {
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.prog_type = kSocketFilter;
    a.insns = reinterpret_cast<uintptr_t>(insns.data());
    a.insn_cnt = static_cast<uint32_t>(insns.size());
    a.license = reinterpret_cast<uintptr_t>("GPL");
    long fd = ubt::call(fn, BPF_PROG_LOAD, a);
    ASSERT_GE(fd, 0) << strerror(static_cast<int>(-fd));
    ProgInfo pi;
    ASSERT_GT(prog_info(fn, static_cast<int>(fd), &pi), 0);
    *tag = std::string(reinterpret_cast<char *>(pi.info.tag), BPF_TAG_SIZE);
    close(static_cast<int>(fd));
  };
  std::string k, u;
  tag_of(ubt::kernel_call, kReturnZero, &k);
  tag_of(ubt::userbpf_call, kReturnZero, &u);
  EXPECT_EQ(k, u);
  std::vector<RawInsn> longer = {I(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 7), I(BPF_ALU64 | BPF_ADD | BPF_K, 0, 0, 0, 5)};
  for (int i = 0; i < 40; i++) longer.push_back(I(BPF_ALU64 | BPF_ADD | BPF_K, 0, 0, 0, i));
  longer.push_back(I(BPF_JMP | BPF_EXIT));
  tag_of(ubt::kernel_call, longer, &k);
  tag_of(ubt::userbpf_call, longer, &u);
  EXPECT_EQ(k, u);
  // Map fds do not count: each side's own one-entry array.
  long kmap = ubt::map_create(ubt::kernel_call, BPF_MAP_TYPE_ARRAY, 4, 8, 1);
  long umap = ubt::map_create(ubt::userbpf_call, BPF_MAP_TYPE_ARRAY, 4, 8, 1);
  ASSERT_GE(kmap, 0);
  ASSERT_GE(umap, 0);
  tag_of(ubt::kernel_call, uses_map_and_value(static_cast<int>(kmap)), &k);
  tag_of(ubt::userbpf_call, uses_map_and_value(static_cast<int>(umap)), &u);
  EXPECT_EQ(k, u);
  close(static_cast<int>(kmap));
  close(static_cast<int>(umap));
}

INSTANTIATE_TEST_SUITE_P(Backends, ProgLoadTest,
                         ::testing::Values(Backend{"userbpf", ubt::userbpf_call}, Backend{"kernel", ubt::kernel_call}),
                         [](const ::testing::TestParamInfo<Backend> &info) { return std::string(info.param.name); });

// ------------------------------------------------------------------ privilege

// Pointer leak: r0 = r1 (the context pointer) returned. Allowed with
// CAP_PERFMON, "R0 leaks addr as return value" with CAP_BPF alone.
const std::vector<RawInsn> kLeaksCtx = {I(BPF_ALU64 | BPF_MOV | BPF_X, 0, 1), I(BPF_JMP | BPF_EXIT)};

long load_with(BpfFn fn, const std::vector<RawInsn> &insns, bool keep = false) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.prog_type = kSocketFilter;
  a.insns = reinterpret_cast<uintptr_t>(insns.data());
  a.insn_cnt = static_cast<uint32_t>(insns.size());
  a.license = reinterpret_cast<uintptr_t>("GPL");
  long r = ubt::call(fn, BPF_PROG_LOAD, a);
  if (r >= 0 && !keep) close(static_cast<int>(r));
  return r;
}

TEST(LoaderPrivilege, SetAndGet) {
  using userbpf::LoaderPrivilege;
  LoaderPrivilege before = userbpf::loader_privilege();
  userbpf::set_loader_privilege(LoaderPrivilege::kUnprivileged);
  EXPECT_EQ(userbpf::loader_privilege(), LoaderPrivilege::kUnprivileged);
  userbpf::set_loader_privilege(LoaderPrivilege::kPrivileged);
  EXPECT_EQ(userbpf::loader_privilege(), LoaderPrivilege::kPrivileged);
  userbpf::set_loader_privilege(before);
}

TEST(LoaderPrivilege, VerdictsFollowTheMode) {
  using userbpf::LoaderPrivilege;
  LoaderPrivilege before = userbpf::loader_privilege();
  userbpf::set_loader_privilege(LoaderPrivilege::kPrivileged);
  EXPECT_GE(load_with(ubt::userbpf_call, kLeaksCtx), 0);
  union bpf_attr kprobe;
  memset(&kprobe, 0, sizeof(kprobe));
  kprobe.prog_type = BPF_PROG_TYPE_KPROBE;
  kprobe.insns = reinterpret_cast<uintptr_t>(kReturnZero.data());
  kprobe.insn_cnt = 2;
  kprobe.license = 8;
  EXPECT_EQ(ubt::call(ubt::userbpf_call, BPF_PROG_LOAD, kprobe), -EFAULT) << "privileged: the license is read";
  userbpf::set_loader_privilege(LoaderPrivilege::kUnprivileged);
  EXPECT_EQ(load_with(ubt::userbpf_call, kLeaksCtx), -EACCES);
  EXPECT_EQ(ubt::call(ubt::userbpf_call, BPF_PROG_LOAD, kprobe), -EPERM) << "tracing types need CAP_PERFMON";
  userbpf::set_loader_privilege(before);

  // The kernel with the same capabilities: root, then CAP_BPF (and
  // CAP_NET_ADMIN) without CAP_PERFMON and CAP_SYS_ADMIN, in a child.
  std::string why;
  if (!ubt::kernel_bpf_available(&why)) GTEST_SKIP() << why;
  EXPECT_GE(load_with(ubt::kernel_call, kLeaksCtx), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2] = {};
    auto keep = [&](int cap) {
      data[cap / 32].effective |= 1u << (cap % 32);
      data[cap / 32].permitted |= 1u << (cap % 32);
    };
    keep(39 /* CAP_BPF */);
    keep(CAP_NET_ADMIN);
    if (syscall(SYS_capset, &hdr, data) != 0) _exit(10);
    long r = load_with(ubt::kernel_call, kLeaksCtx);
    if (r != -EACCES) _exit(1);
    // Tracing types need CAP_PERFMON: EPERM before anything else is read.
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.prog_type = BPF_PROG_TYPE_KPROBE;
    a.insns = reinterpret_cast<uintptr_t>(kReturnZero.data());
    a.insn_cnt = 2;
    a.license = 8;
    _exit(ubt::call(ubt::kernel_call, BPF_PROG_LOAD, a) == -EPERM ? 0 : 2);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 10) GTEST_SKIP() << "cannot drop capabilities here";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the kernel without CAP_PERFMON accepted a pointer leak";
}

// USERBPF_UNPRIVILEGED=1 in the environment makes the default unprivileged:
// checked in a fresh process (this binary, re-executed on the helper below).
TEST(LoaderPrivilege, EnvironmentChoosesTheDefault) {
  for (const char *value : std::initializer_list<const char *>{"1", "0", nullptr}) {
    SCOPED_TRACE(value ? value : "(unset)");
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      if (value) setenv("USERBPF_UNPRIVILEGED", value, 1);
      else unsetenv("USERBPF_UNPRIVILEGED");
      setenv("UBT_PRIVILEGE_CHILD", value && strcmp(value, "1") == 0 ? "unprivileged" : "privileged", 1);
      execl("/proc/self/exe", "test_prog_load", "--gtest_filter=LoaderPrivilege.ChildReportsDefault", nullptr);
      _exit(127);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
  }
}

TEST(LoaderPrivilege, ChildReportsDefault) {
  const char *want = getenv("UBT_PRIVILEGE_CHILD");
  if (!want) GTEST_SKIP() << "runs only as EnvironmentChoosesTheDefault's child";
  bool unpriv = strcmp(want, "unprivileged") == 0;
  EXPECT_EQ(userbpf::loader_privilege(),
            unpriv ? userbpf::LoaderPrivilege::kUnprivileged : userbpf::LoaderPrivilege::kPrivileged);
  EXPECT_EQ(load_with(ubt::userbpf_call, kLeaksCtx) == -EACCES, unpriv);
}

// Loads from several threads share one map: every program takes and every
// release drops exactly one reference, so the map goes with the last one.
TEST(ProgLoadThreads, ConcurrentLoadsAndClosesKeepCountsExact) {
  long map = ubt::map_create(ubt::userbpf_call, BPF_MAP_TYPE_ARRAY, 4, 8, 1);
  ASSERT_GE(map, 0);
  union bpf_attr ia;
  memset(&ia, 0, sizeof(ia));
  struct bpf_map_info info;
  memset(&info, 0, sizeof(info));
  ia.info.bpf_fd = static_cast<uint32_t>(map);
  ia.info.info_len = sizeof(info);
  ia.info.info = reinterpret_cast<uintptr_t>(&info);
  ASSERT_EQ(ubt::call(ubt::userbpf_call, BPF_OBJ_GET_INFO_BY_FD, ia), 0);
  std::vector<RawInsn> insns = uses_map_and_value(static_cast<int>(map));
  constexpr int kThreads = 4, kLoads = 50;
  std::vector<std::vector<int>> kept(kThreads);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kLoads; i++) {
        long fd = load_with(ubt::userbpf_call, insns, /*keep=*/true);
        if (fd < 0) {
          failures++;
          continue;
        }
        // Keep every other program; close the rest at once.
        if (i % 2) kept[t].push_back(static_cast<int>(fd));
        else close(static_cast<int>(fd));
      }
    });
  }
  for (auto &th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  close(static_cast<int>(map));
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.map_id = info.id;
  long again = ubt::call(ubt::userbpf_call, BPF_MAP_GET_FD_BY_ID, a);
  ASSERT_GE(again, 0) << "kept programs hold the map";
  close(static_cast<int>(again));
  for (auto &fds : kept)
    for (int fd : fds) close(fd);
  EXPECT_EQ(ubt::call(ubt::userbpf_call, BPF_MAP_GET_FD_BY_ID, a), -ENOENT);
}

// The run-time side: a loaded program, rebuilt in this process from its
// stored form (map ids resolved to this process's map views), runs and
// changes the map; a forked child runs the same program object too.
long run_loaded(int prog_fd, uint64_t r1) {
  userbpf::RcuReadGuard guard;
  int err = 0;
  const userbpf::Handle *h = userbpf::handle_get(prog_fd, &err);
  if (!h) return err;
  const userbpf::vm::Program *p = userbpf::prog_runtime(*h->obj, &err);
  if (!p) return err;
  userbpf::vm::RunResult r = p->run(r1, 0, 1000000);
  return r.err ? r.err : static_cast<long>(r.r0);
}

TEST(ProgRuntime, RunsTheStoredProgramAgainstItsMaps) {
  long map = ubt::map_create(ubt::userbpf_call, BPF_MAP_TYPE_ARRAY, 4, 8, 1);
  ASSERT_GE(map, 0);
  // *(u32 *)(fp-4) = 0; *(u64 *)(fp-16) = 42 + r6 (r6 = 0);
  // map_update_elem(map, fp-4, fp-16, 0); r0 = *(u64 *)(map value 0); exit
  std::vector<RawInsn> insns = {
      I(BPF_ST | BPF_MEM | BPF_W, 10, 0, -4, 0),
      I(BPF_ST | BPF_MEM | BPF_DW, 10, 0, -16, 42),
      I(BPF_LD | BPF_IMM | BPF_DW, 1, BPF_PSEUDO_MAP_FD, 0, static_cast<int32_t>(map)), I(0),
      I(BPF_ALU64 | BPF_MOV | BPF_X, 2, 10), I(BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -4),
      I(BPF_ALU64 | BPF_MOV | BPF_X, 3, 10), I(BPF_ALU64 | BPF_ADD | BPF_K, 3, 0, 0, -16),
      I(BPF_ALU64 | BPF_MOV | BPF_K, 4, 0, 0, 0),
      I(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_update_elem),
      I(BPF_LD | BPF_IMM | BPF_DW, 1, BPF_PSEUDO_MAP_VALUE, 0, static_cast<int32_t>(map)), I(0),
      I(BPF_LDX | BPF_MEM | BPF_DW, 0, 1, 0),
      I(BPF_JMP | BPF_EXIT)};
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.prog_type = kSocketFilter;
  a.insns = reinterpret_cast<uintptr_t>(insns.data());
  a.insn_cnt = static_cast<uint32_t>(insns.size());
  a.license = reinterpret_cast<uintptr_t>("GPL");
  long prog = ubt::call(ubt::userbpf_call, BPF_PROG_LOAD, a);
  ASSERT_GE(prog, 0) << strerror(static_cast<int>(-prog));
  close(static_cast<int>(map)); // the program holds the map

  uint32_t key = 0;
  uint64_t value = 7;
  // The map, through a new handle from the program's map ids.
  union bpf_attr q;
  memset(&q, 0, sizeof(q));
  struct bpf_prog_info info;
  memset(&info, 0, sizeof(info));
  uint32_t map_ids[1] = {0};
  info.nr_map_ids = 1;
  info.map_ids = reinterpret_cast<uintptr_t>(map_ids);
  q.info.bpf_fd = static_cast<uint32_t>(prog);
  q.info.info_len = sizeof(info);
  q.info.info = reinterpret_cast<uintptr_t>(&info);
  ASSERT_EQ(ubt::call(ubt::userbpf_call, BPF_OBJ_GET_INFO_BY_FD, q), 0);
  memset(&q, 0, sizeof(q));
  q.map_id = map_ids[0];
  long map2 = ubt::call(ubt::userbpf_call, BPF_MAP_GET_FD_BY_ID, q);
  ASSERT_GE(map2, 0);
  ASSERT_EQ(ubt::map_update(ubt::userbpf_call, static_cast<int>(map2), &key, &value), 0);

  // A forked child builds its run-time form (this process has none yet) and
  // its update lands in the shared map.
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) _exit(run_loaded(static_cast<int>(prog), 0) == 42 ? 0 : 1);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_EQ(ubt::map_lookup(ubt::userbpf_call, static_cast<int>(map2), &key, &value), 0);
  EXPECT_EQ(value, 42u) << "the child's run wrote the shared map";

  // And here, twice (built once, then reused).
  value = 7;
  ASSERT_EQ(ubt::map_update(ubt::userbpf_call, static_cast<int>(map2), &key, &value), 0);
  EXPECT_EQ(run_loaded(static_cast<int>(prog), 0), 42);
  ASSERT_EQ(ubt::map_lookup(ubt::userbpf_call, static_cast<int>(map2), &key, &value), 0);
  EXPECT_EQ(value, 42u);
  EXPECT_EQ(run_loaded(static_cast<int>(prog), 0), 42);
  // A map fd is not a program.
  EXPECT_EQ(run_loaded(static_cast<int>(map2), 0), -EINVAL);
  close(static_cast<int>(map2));
  close(static_cast<int>(prog));
}

// ------------------------------------------------------------ object files

// Each object is a file in the store, made and mapped by the process that
// creates it; these check that processes and fds never mix them up.

// Load a named 2-instruction program; its fd, or -errno.
long load_named(const char *name) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.prog_type = kSocketFilter;
  a.insns = reinterpret_cast<uintptr_t>(kReturnZero.data());
  a.insn_cnt = static_cast<uint32_t>(kReturnZero.size());
  a.license = reinterpret_cast<uintptr_t>("GPL");
  memcpy(a.prog_name, name, std::min(strlen(name), sizeof(a.prog_name) - 1));
  return ubt::call(ubt::userbpf_call, BPF_PROG_LOAD, a);
}

// The program's id if fd is the program called `name`, else 0.
uint32_t id_if_named(int fd, const char *name) {
  ProgInfo pi;
  if (prog_info(ubt::userbpf_call, fd, &pi) != static_cast<long>(sizeof(struct bpf_prog_info))) return 0;
  return strncmp(pi.info.name, name, sizeof(pi.info.name)) == 0 ? pi.info.id : 0;
}

// Load `n` programs named prefix0, prefix1, ... and check each; their ids.
std::vector<uint32_t> load_and_check(const char *prefix, int n) {
  std::vector<uint32_t> ids;
  std::vector<int> fds;
  for (int i = 0; i < n; i++) {
    std::string name = prefix + std::to_string(i);
    long fd = load_named(name.c_str());
    if (fd < 0) break;
    fds.push_back(static_cast<int>(fd));
    ids.push_back(id_if_named(static_cast<int>(fd), name.c_str()));
  }
  // Check again once all exist: no two programs share a file.
  for (size_t i = 0; i < fds.size(); i++) {
    std::string name = prefix + std::to_string(i);
    if (id_if_named(fds[i], name.c_str()) != ids[i]) ids[i] = 0;
  }
  for (int fd : fds) close(fd);
  return ids;
}

// A forked child inherits the parent's fds and views: parent and child,
// loading at the same time, must each make their programs in files of
// their own (names kept, ids distinct).
TEST(ObjectFiles, ParentAndForkedChildNeverShareAFile) {
  ASSERT_EQ(load_and_check("warm", 4).size(), 4u); // the parent has views and internal fds
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::vector<uint32_t> ids = load_and_check("child", 40);
    size_t n = ids.size();
    bool ok = write(out[1], &n, sizeof(n)) == sizeof(n) &&
              write(out[1], ids.data(), n * sizeof(uint32_t)) == static_cast<ssize_t>(n * sizeof(uint32_t));
    _exit(ok ? 0 : 1);
  }
  close(out[1]); // a child that dies gives EOF, not a hang
  std::vector<uint32_t> mine = load_and_check("parent", 40);
  size_t n = 0;
  ASSERT_EQ(read(out[0], &n, sizeof(n)), static_cast<ssize_t>(sizeof(n)));
  ASSERT_EQ(n, 40u);
  std::vector<uint32_t> theirs(n);
  ASSERT_EQ(read(out[0], theirs.data(), n * sizeof(uint32_t)), static_cast<ssize_t>(n * sizeof(uint32_t)));
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_EQ(mine.size(), 40u);
  for (uint32_t id : mine) EXPECT_NE(id, 0u) << "a parent's program lost its name";
  for (uint32_t id : theirs) EXPECT_NE(id, 0u) << "a child's program lost its name";
  for (uint32_t id : theirs) EXPECT_EQ(std::count(mine.begin(), mine.end(), id), 0) << "id " << id << " in both";
  close(out[0]);
}

// A program that closes every fd it does not know (close_range, as daemons
// and shells do before exec) closes libuserbpf's internal fds too; their
// numbers are then reused for its own files. The next loads must work and
// must neither use nor close those files.
TEST(ObjectFiles, InternalFdsClosedBehindTheirBackAreNotUsed) {
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int code = 0;
    long first = load_named("first");
    if (first < 0) _exit(10);
    close(static_cast<int>(first));
    // Close everything above the report pipe, behind libuserbpf's back.
    int low = std::max(out[0], out[1]) + 1;
    syscall(SYS_close_range, low, ~0u, 0);
    std::vector<int> nulls;
    for (int i = 0; i < 32; i++) nulls.push_back(open("/dev/null", O_RDONLY | O_CLOEXEC));
    for (int i = 0; i < 8 && code == 0; i++) {
      std::string name = "after" + std::to_string(i);
      long fd = load_named(name.c_str());
      if (fd < 0 || id_if_named(static_cast<int>(fd), name.c_str()) == 0) code = 11;
      if (fd >= 0) close(static_cast<int>(fd));
    }
    for (int fd : nulls) {
      struct stat sb;
      if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISCHR(sb.st_mode)) code = code ? code : 12;
    }
    _exit(code);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "10: first load failed; 11: a load after the close failed or lost its "
                                       "name; 12: a file of the program's was closed or replaced";
  close(out[0]);
  close(out[1]);
}

// A small program's region is kept in an extended attribute of its file, a
// large one's in the file's data (DESIGN-NOTES): both must load, be found by
// id, read back and run, here and in another process.
TEST(ObjectFiles, SmallAndLargeProgramsLoadFindAndRun) {
  for (uint32_t n : {2u, 6000u}) {
    std::vector<struct bpf_insn> insns(n);
    for (uint32_t i = 0; i + 1 < n; i++) insns[i] = {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, static_cast<int32_t>(i)};
    insns[n - 1] = {BPF_JMP | BPF_EXIT, 0, 0, 0, 0};
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.prog_type = kSocketFilter;
    a.insns = reinterpret_cast<uintptr_t>(insns.data());
    a.insn_cnt = n;
    a.license = reinterpret_cast<uintptr_t>("GPL");
    memcpy(a.prog_name, "sized", 5);
    long fd = ubt::call(ubt::userbpf_call, BPF_PROG_LOAD, a);
    ASSERT_GE(fd, 0) << n << " insns: " << strerror(static_cast<int>(-fd));
    const uint32_t id = id_if_named(static_cast<int>(fd), "sized");
    ASSERT_NE(id, 0u) << n << " insns";
    ProgInfo pi;
    ASSERT_GT(prog_info(ubt::userbpf_call, static_cast<int>(fd), &pi), 0);
    EXPECT_EQ(pi.info.xlated_prog_len, n * sizeof(struct bpf_insn)) << n << " insns";
    // Another process finds it by id and runs it: r0 is the last value moved.
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      union bpf_attr b;
      memset(&b, 0, sizeof(b));
      b.prog_id = id;
      long other = ubt::call(ubt::userbpf_call, BPF_PROG_GET_FD_BY_ID, b);
      if (other < 0) _exit(10);
      uint8_t packet[64] = {};
      memset(&b, 0, sizeof(b));
      b.test.prog_fd = static_cast<uint32_t>(other);
      b.test.data_in = reinterpret_cast<uintptr_t>(packet);
      b.test.data_size_in = sizeof(packet);
      if (ubt::call(ubt::userbpf_call, BPF_PROG_TEST_RUN, b) != 0) _exit(11);
      _exit(b.test.retval == n - 2 ? 0 : 12);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << n << " insns: 10 not found by id, 11 test run failed, 12 wrong result (" << WEXITSTATUS(status) << ")";
    close(static_cast<int>(fd));
  }
}

// An object's file exists under its store name before its header is
// complete; until the magic is written it is nobody's object. One whose
// creator died (no handle, untouched for a while) is removed by the next walk.
TEST(ObjectFiles, UnpublishedFilesAreInvisibleAndAbandonedOnesRemoved) {
  long live = load_named("live");
  ASSERT_GE(live, 0);
  const uint32_t live_id = id_if_named(static_cast<int>(live), "live");
  ASSERT_NE(live_id, 0u);
  const uint32_t ghost_id = live_id + 1000000;
  const std::string path = std::string(userbpf_fs_root()) + "/.userbpf/obj/prog-" + std::to_string(ghost_id);
  int f = open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  ASSERT_GE(f, 0) << path;
  std::vector<char> zeros(8192, 0);
  ASSERT_EQ(write(f, zeros.data(), zeros.size()), static_cast<ssize_t>(zeros.size()));
  close(f);

  auto listed = [](uint32_t want) {
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    for (a.start_id = 0; ubt::call(ubt::userbpf_call, BPF_PROG_GET_NEXT_ID, a) == 0; a.start_id = a.next_id)
      if (a.next_id == want) return true;
    return false;
  };
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.prog_id = ghost_id;
  EXPECT_EQ(ubt::call(ubt::userbpf_call, BPF_PROG_GET_FD_BY_ID, a), -ENOENT);
  EXPECT_FALSE(listed(ghost_id));
  EXPECT_TRUE(listed(live_id));
  EXPECT_EQ(access(path.c_str(), F_OK), 0) << "a file being made must not be taken away from its creator";

  // Untouched for an hour: its creator is gone.
  struct timespec old[2];
  clock_gettime(CLOCK_REALTIME, &old[0]);
  old[0].tv_sec -= 3600;
  old[1] = old[0];
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), old, 0), 0);
  EXPECT_FALSE(listed(ghost_id));
  EXPECT_NE(access(path.c_str(), F_OK), 0) << "an abandoned file stays in the store";
  EXPECT_TRUE(listed(live_id));
  close(static_cast<int>(live));
}

} // namespace
