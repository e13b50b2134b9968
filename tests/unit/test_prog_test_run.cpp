// BPF_PROG_TEST_RUN through the bpf() ABI: XDP and skb contexts built as the
// kernel builds them, data_out / ctx_out and their ENOSPC rules, the attr
// checks and their errno.
//
// Every test runs twice: against userbpf_bpf() and against the kernel's bpf()
// (skipped where the kernel's is unavailable). The expectations are the
// kernel's observed behaviour (Linux 6.18), so the kernel run checks the
// tests themselves, and the userbpf run is the differential test.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>

#include <algorithm>
#include <cstddef>
#include <functional>
#include <cstring>
#include <string>
#include <vector>

#include "bpf_test_util.h"
#include "private_root_env.h"
#include "vm_test_util.h"

namespace {

using ubt::BpfFn;
using ubt::I;
using userbpf::vm::RawInsn;

struct Backend {
  const char *name;
  BpfFn fn;
};
void PrintTo(const Backend &backend, std::ostream *os) { *os << backend.name; }

// Instruction shorthands.
RawInsn mov_imm(uint8_t dst, int32_t imm) { return I(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm); }
RawInsn mov_reg(uint8_t dst, uint8_t src) { return I(BPF_ALU64 | BPF_MOV | BPF_X, dst, src); }
RawInsn add_imm(uint8_t dst, int32_t imm) { return I(BPF_ALU64 | BPF_ADD | BPF_K, dst, 0, 0, imm); }
RawInsn ldx(uint8_t size, uint8_t dst, uint8_t src, int16_t off) { return I(BPF_LDX | BPF_MEM | size, dst, src, off); }
RawInsn stx(uint8_t size, uint8_t dst, uint8_t src, int16_t off) { return I(BPF_STX | BPF_MEM | size, dst, src, off); }
RawInsn st(uint8_t size, uint8_t dst, int16_t off, int32_t imm) { return I(BPF_ST | BPF_MEM | size, dst, 0, off, imm); }
RawInsn jgt_reg(uint8_t dst, uint8_t src, int16_t off) { return I(BPF_JMP | BPF_JGT | BPF_X, dst, src, off); }
RawInsn exit_insn() { return I(BPF_JMP | BPF_EXIT); }

// r0 = imm; exit
std::vector<RawInsn> returns(int32_t imm) { return {mov_imm(0, imm), exit_insn()}; }
// r0 = *(u32 *)(ctx + off); exit
std::vector<RawInsn> returns_ctx_field(int16_t off) { return {ldx(BPF_W, 0, 1, off), exit_insn()}; }

// A packet program: if the first 14 bytes are there, overwrite byte 0 with
// 0xaa and return the big-endian EtherType's first byte; else return 1.
// data/data_end are at the given context offsets.
std::vector<RawInsn> touches_packet(int16_t data_off, int16_t data_end_off) {
  return {
      ldx(BPF_W, 2, 1, data_off),     // r2 = ctx->data
      ldx(BPF_W, 3, 1, data_end_off), // r3 = ctx->data_end
      mov_reg(4, 2),
      add_imm(4, 14),
      jgt_reg(4, 3, 3),           // if r2 + 14 > data_end goto short
      ldx(BPF_B, 0, 2, 12),       // r0 = eth->h_proto (first byte)
      st(BPF_B, 2, 0, 0xaa),      // eth->h_dest[0] = 0xaa
      exit_insn(),
      mov_imm(0, 1), // short:
      exit_insn(),
  };
}

// An IPv4 frame: broadcast destination, EtherType 0x0800, a minimal header.
std::vector<uint8_t> ipv4_frame(size_t size = 64) {
  std::vector<uint8_t> f(size, 0);
  memset(f.data(), 0xff, 6);                              // dest: broadcast
  const uint8_t src[6] = {0x02, 0, 0, 0, 0, 1};
  memcpy(f.data() + 6, src, 6);
  f[12] = 0x08;
  f[13] = 0x00;
  f[14] = 0x45;                                           // IPv4, IHL 5
  const uint8_t saddr[4] = {10, 0, 0, 1}, daddr[4] = {10, 0, 0, 2};
  memcpy(f.data() + 14 + 12, saddr, 4);
  memcpy(f.data() + 14 + 16, daddr, 4);
  for (size_t i = 34; i < size; i++) f[i] = static_cast<uint8_t>(i);
  return f;
}

// One test-run request; fields default to "nothing".
struct TestRun {
  const void *data_in = nullptr;
  uint32_t data_size_in = 0;
  void *data_out = nullptr;
  uint32_t data_size_out = 0;
  const void *ctx_in = nullptr;
  uint32_t ctx_size_in = 0;
  void *ctx_out = nullptr;
  uint32_t ctx_size_out = 0;
  uint32_t repeat = 0;
  uint32_t flags = 0;
  uint32_t cpu = 0;
  uint32_t batch_size = 0;
};

// What came back in attr->test.
struct Ran {
  long ret = 0; // 0 or -errno
  uint32_t retval = 0;
  uint32_t duration = 0;
  uint32_t data_size_out = 0;
  uint32_t ctx_size_out = 0;
};

class ProgTestRunTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    fn = GetParam().fn;
    std::string why;
    if (fn == ubt::kernel_call && !ubt::kernel_bpf_available(&why)) GTEST_SKIP() << why;
  }
  void TearDown() override {
    for (int fd : fds)
      if (fd >= 0) close(fd);
  }

  // Load a program (fd closed at the end of the test); fails the test on error.
  int load(uint32_t type, const std::vector<RawInsn> &insns, uint32_t expected_attach_type = 0, uint32_t prog_flags = 0) {
    std::vector<char> log(1 << 16, 0);
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.prog_type = type;
    a.insns = reinterpret_cast<uintptr_t>(insns.data());
    a.insn_cnt = static_cast<uint32_t>(insns.size());
    a.license = reinterpret_cast<uintptr_t>("GPL");
    a.expected_attach_type = expected_attach_type;
    a.prog_flags = prog_flags;
    a.log_level = 1;
    a.log_buf = reinterpret_cast<uintptr_t>(log.data());
    a.log_size = static_cast<uint32_t>(log.size());
    long r = ubt::call(fn, BPF_PROG_LOAD, a);
    EXPECT_GE(r, 0) << strerror(static_cast<int>(-r)) << "\n" << log.data();
    if (r >= 0) fds.push_back(static_cast<int>(r));
    return static_cast<int>(r);
  }

  Ran run(int prog_fd, const TestRun &r, const std::function<void(union bpf_attr &)> &tweak = nullptr) {
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.test.prog_fd = static_cast<uint32_t>(prog_fd);
    a.test.data_in = reinterpret_cast<uintptr_t>(r.data_in);
    a.test.data_size_in = r.data_size_in;
    a.test.data_out = reinterpret_cast<uintptr_t>(r.data_out);
    a.test.data_size_out = r.data_size_out;
    a.test.ctx_in = reinterpret_cast<uintptr_t>(r.ctx_in);
    a.test.ctx_size_in = r.ctx_size_in;
    a.test.ctx_out = reinterpret_cast<uintptr_t>(r.ctx_out);
    a.test.ctx_size_out = r.ctx_size_out;
    a.test.repeat = r.repeat;
    a.test.flags = r.flags;
    a.test.cpu = r.cpu;
    a.test.batch_size = r.batch_size;
    if (tweak) tweak(a);
    Ran out;
    out.ret = ubt::call(fn, BPF_PROG_TEST_RUN, a);
    out.retval = a.test.retval;
    out.duration = a.test.duration;
    out.data_size_out = a.test.data_size_out;
    out.ctx_size_out = a.test.ctx_size_out;
    return out;
  }

  // Run `prog_fd` on `frame` with room for the packet coming back.
  Ran run_frame(int prog_fd, const std::vector<uint8_t> &frame, std::vector<uint8_t> *out) {
    out->assign(frame.size() + 64, 0x5a);
    TestRun r;
    r.data_in = frame.data();
    r.data_size_in = static_cast<uint32_t>(frame.size());
    r.data_out = out->data();
    r.data_size_out = static_cast<uint32_t>(out->size());
    return run(prog_fd, r);
  }

  BpfFn fn = nullptr;
  std::vector<int> fds;
};

// ---------------------------------------------------------------- XDP

TEST_P(ProgTestRunTest, XdpReturnsAndCopiesThePacket) {
  int fd = load(BPF_PROG_TYPE_XDP, returns(2));
  auto frame = ipv4_frame();
  std::vector<uint8_t> out;
  Ran r = run_frame(fd, frame, &out);
  ASSERT_EQ(r.ret, 0);
  EXPECT_EQ(r.retval, 2u);
  EXPECT_EQ(r.data_size_out, frame.size());
  EXPECT_TRUE(std::equal(frame.begin(), frame.end(), out.begin()));
  EXPECT_EQ(out[frame.size()], 0x5a) << "nothing written past the packet";
}

TEST_P(ProgTestRunTest, XdpProgramReadsAndWritesThePacket) {
  int fd = load(BPF_PROG_TYPE_XDP, touches_packet(offsetof(xdp_md, data), offsetof(xdp_md, data_end)));
  auto frame = ipv4_frame();
  std::vector<uint8_t> out;
  Ran r = run_frame(fd, frame, &out);
  ASSERT_EQ(r.ret, 0);
  EXPECT_EQ(r.retval, 0x08u);
  EXPECT_EQ(out[0], 0xaa);
  EXPECT_TRUE(std::equal(frame.begin() + 1, frame.end(), out.begin() + 1));
}

TEST_P(ProgTestRunTest, XdpContextFields) {
  // ingress_ifindex is loopback's; rx_queue_index 0.
  int ifindex = load(BPF_PROG_TYPE_XDP, returns_ctx_field(offsetof(xdp_md, ingress_ifindex)));
  int queue = load(BPF_PROG_TYPE_XDP, returns_ctx_field(offsetof(xdp_md, rx_queue_index)));
  auto frame = ipv4_frame();
  std::vector<uint8_t> out;
  EXPECT_EQ(run_frame(ifindex, frame, &out).retval, if_nametoindex("lo"));
  EXPECT_EQ(run_frame(queue, frame, &out).retval, 0u);
}

TEST_P(ProgTestRunTest, XdpMetadataFromCtxIn) {
  // r0 = data - data_meta (the metadata's length)
  int fd = load(BPF_PROG_TYPE_XDP, {ldx(BPF_W, 2, 1, offsetof(xdp_md, data_meta)), ldx(BPF_W, 3, 1, offsetof(xdp_md, data)),
                                    ldx(BPF_W, 4, 1, offsetof(xdp_md, data_end)), mov_reg(5, 2), add_imm(5, 8),
                                    jgt_reg(5, 3, 2), ldx(BPF_DW, 0, 2, 0), exit_insn(), mov_imm(0, 99), exit_insn()});
  auto frame = ipv4_frame();
  std::vector<uint8_t> in(8, 0);
  in[0] = 7; // the metadata: one u64 = 7
  in.insert(in.end(), frame.begin(), frame.end());
  xdp_md ctx{}, ctx_out{};
  ctx.data = 8;
  ctx.data_end = static_cast<uint32_t>(in.size());
  std::vector<uint8_t> out(in.size() + 16);
  TestRun r;
  r.data_in = in.data();
  r.data_size_in = static_cast<uint32_t>(in.size());
  r.data_out = out.data();
  r.data_size_out = static_cast<uint32_t>(out.size());
  r.ctx_in = &ctx;
  r.ctx_size_in = sizeof(ctx);
  r.ctx_out = &ctx_out;
  r.ctx_size_out = sizeof(ctx_out);
  Ran ran = run(fd, r);
  ASSERT_EQ(ran.ret, 0);
  EXPECT_EQ(ran.retval, 7u);
  EXPECT_EQ(ran.data_size_out, in.size()) << "data_out starts at the metadata";
  EXPECT_TRUE(std::equal(in.begin(), in.end(), out.begin()));
  EXPECT_EQ(ran.ctx_size_out, sizeof(xdp_md));
  EXPECT_EQ(ctx_out.data, 8u);
  EXPECT_EQ(ctx_out.data_end, in.size());
}

TEST_P(ProgTestRunTest, XdpBadCtxIn) {
  int fd = load(BPF_PROG_TYPE_XDP, returns(2));
  auto frame = ipv4_frame();
  auto with_ctx = [&](xdp_md ctx) {
    TestRun r;
    r.data_in = frame.data();
    r.data_size_in = static_cast<uint32_t>(frame.size());
    r.ctx_in = &ctx;
    r.ctx_size_in = sizeof(ctx);
    return run(fd, r).ret;
  };
  xdp_md ok{};
  ok.data_end = static_cast<uint32_t>(frame.size());
  EXPECT_EQ(with_ctx(ok), 0);
  xdp_md bad = ok;
  bad.data_end = static_cast<uint32_t>(frame.size()) + 1;
  EXPECT_EQ(with_ctx(bad), -EINVAL) << "data_end past data_size_in";
  bad = ok;
  bad.data_meta = 4;
  EXPECT_EQ(with_ctx(bad), -EINVAL) << "no data before the metadata";
  bad = ok;
  bad.data = 6;
  EXPECT_EQ(with_ctx(bad), -EINVAL) << "metadata length a multiple of 4";
  bad = ok;
  bad.data = 216;
  bad.data_end = 216;
  EXPECT_EQ(with_ctx(bad), -EINVAL) << "less than an Ethernet header after the metadata";
  std::vector<uint8_t> long_frame(300, 1);
  auto long_with_ctx = [&](xdp_md ctx) {
    TestRun r;
    r.data_in = long_frame.data();
    r.data_size_in = static_cast<uint32_t>(long_frame.size());
    r.ctx_in = &ctx;
    r.ctx_size_in = sizeof(ctx);
    return run(fd, r).ret;
  };
  bad.data_end = 300;
  EXPECT_EQ(long_with_ctx(bad), 0) << "216 bytes of metadata leave room for the kernel's xdp_frame";
  bad.data = 220;
  EXPECT_EQ(long_with_ctx(bad), -EINVAL) << "220 do not";
  bad = ok;
  bad.egress_ifindex = 1;
  EXPECT_EQ(with_ctx(bad), -EINVAL);
  bad = ok;
  bad.rx_queue_index = 1;
  EXPECT_EQ(with_ctx(bad), -EINVAL) << "a queue needs an interface";
  bad = ok;
  bad.ingress_ifindex = 0x7fff0000;
  EXPECT_EQ(with_ctx(bad), -ENODEV);
  bad = ok;
  bad.ingress_ifindex = if_nametoindex("lo");
  bad.rx_queue_index = 1000;
  EXPECT_EQ(with_ctx(bad), -EINVAL) << "no such receive queue";
  bad = ok;
  bad.ingress_ifindex = if_nametoindex("lo");
  EXPECT_EQ(with_ctx(bad), 0);
}

TEST_P(ProgTestRunTest, XdpRefusesFlagsAndDevmapPrograms) {
  int fd = load(BPF_PROG_TYPE_XDP, returns(2));
  auto frame = ipv4_frame();
  TestRun r;
  r.data_in = frame.data();
  r.data_size_in = static_cast<uint32_t>(frame.size());
  r.flags = BPF_F_TEST_RUN_ON_CPU;
  EXPECT_EQ(run(fd, r).ret, -EINVAL);
  r.flags = 0;
  r.batch_size = 4;
  EXPECT_EQ(run(fd, r).ret, -EINVAL) << "batch_size only with live frames";
  int devmap = load(BPF_PROG_TYPE_XDP, returns(2), BPF_XDP_DEVMAP);
  r.batch_size = 0;
  EXPECT_EQ(run(devmap, r).ret, -EINVAL);
}

// r0 = helper(ctx, delta); exit
std::vector<RawInsn> calls_with_delta(int32_t helper, int32_t delta) {
  return {mov_imm(2, delta), I(BPF_JMP | BPF_CALL, 0, 0, 0, helper), exit_insn()};
}
constexpr int32_t kXdpAdjustHead = BPF_FUNC_xdp_adjust_head, kXdpAdjustMeta = BPF_FUNC_xdp_adjust_meta;

TEST_P(ProgTestRunTest, XdpAdjustHead) {
  auto frame = ipv4_frame(64);
  std::vector<uint8_t> out;
  // Grow by 14 bytes into the headroom: they come back as zeros in front.
  Ran r = run_frame(load(BPF_PROG_TYPE_XDP, calls_with_delta(kXdpAdjustHead, -14)), frame, &out);
  ASSERT_EQ(r.ret, 0);
  EXPECT_EQ(r.retval, 0u);
  ASSERT_EQ(r.data_size_out, 78u);
  EXPECT_TRUE(std::all_of(out.begin(), out.begin() + 14, [](uint8_t b) { return b == 0; }));
  EXPECT_TRUE(std::equal(frame.begin(), frame.end(), out.begin() + 14));
  // Shrink by 20.
  r = run_frame(load(BPF_PROG_TYPE_XDP, calls_with_delta(kXdpAdjustHead, 20)), frame, &out);
  EXPECT_EQ(r.retval, 0u);
  ASSERT_EQ(r.data_size_out, 44u);
  EXPECT_TRUE(std::equal(frame.begin() + 20, frame.end(), out.begin()));
  // Past the headroom (256 less the kernel's 40-byte xdp_frame), or leaving
  // less than an Ethernet header: -EINVAL, the packet unchanged.
  r = run_frame(load(BPF_PROG_TYPE_XDP, calls_with_delta(kXdpAdjustHead, -217)), frame, &out);
  EXPECT_EQ(r.retval, static_cast<uint32_t>(-EINVAL));
  EXPECT_EQ(r.data_size_out, 64u);
  r = run_frame(load(BPF_PROG_TYPE_XDP, calls_with_delta(kXdpAdjustHead, -216)), frame, &out);
  EXPECT_EQ(r.retval, 0u);
  r = run_frame(load(BPF_PROG_TYPE_XDP, calls_with_delta(kXdpAdjustHead, 51)), frame, &out);
  EXPECT_EQ(r.retval, static_cast<uint32_t>(-EINVAL));
  r = run_frame(load(BPF_PROG_TYPE_XDP, calls_with_delta(kXdpAdjustHead, 50)), frame, &out);
  EXPECT_EQ(r.retval, 0u);
  EXPECT_EQ(r.data_size_out, 14u);
}

TEST_P(ProgTestRunTest, XdpAdjustMeta) {
  auto frame = ipv4_frame(64);
  std::vector<uint8_t> out;
  // 8 bytes of metadata, written by the program: data_out starts with them.
  std::vector<RawInsn> insns = {mov_reg(6, 1), mov_imm(2, -8), I(BPF_JMP | BPF_CALL, 0, 0, 0, kXdpAdjustMeta),
                                I(BPF_JMP | BPF_JNE | BPF_K, 0, 0, 6, 0), ldx(BPF_W, 2, 6, offsetof(xdp_md, data_meta)),
                                ldx(BPF_W, 3, 6, offsetof(xdp_md, data)), mov_reg(4, 2), add_imm(4, 8),
                                jgt_reg(4, 3, 1), st(BPF_DW, 2, 0, 0x11223344), exit_insn()};
  Ran r = run_frame(load(BPF_PROG_TYPE_XDP, insns), frame, &out);
  ASSERT_EQ(r.ret, 0);
  EXPECT_EQ(r.retval, 0u);
  ASSERT_EQ(r.data_size_out, 72u);
  const uint8_t meta[8] = {0x44, 0x33, 0x22, 0x11, 0, 0, 0, 0};
  EXPECT_TRUE(std::equal(meta, meta + 8, out.begin()));
  EXPECT_TRUE(std::equal(frame.begin(), frame.end(), out.begin() + 8));
  // A length that is not a multiple of 4: -EACCES; past data: -EINVAL.
  EXPECT_EQ(run_frame(load(BPF_PROG_TYPE_XDP, calls_with_delta(kXdpAdjustMeta, -6)), frame, &out).retval,
            static_cast<uint32_t>(-EACCES));
  EXPECT_EQ(run_frame(load(BPF_PROG_TYPE_XDP, calls_with_delta(kXdpAdjustMeta, 4)), frame, &out).retval,
            static_cast<uint32_t>(-EINVAL));
  // The whole headroom but the kernel's xdp_frame may hold metadata, no more.
  EXPECT_EQ(run_frame(load(BPF_PROG_TYPE_XDP, calls_with_delta(kXdpAdjustMeta, -216)), frame, &out).retval, 0u);
  EXPECT_EQ(run_frame(load(BPF_PROG_TYPE_XDP, calls_with_delta(kXdpAdjustMeta, -220)), frame, &out).retval,
            static_cast<uint32_t>(-EINVAL));
}

constexpr int32_t kXdpAdjustTail = BPF_FUNC_xdp_adjust_tail;

// The frame is one page: 256 bytes of headroom (metadata from ctx_in comes
// out of it), the packet, room to grow, 320 bytes of skb_shared_info.
TEST_P(ProgTestRunTest, XdpAdjustTail) {
  auto frame = ipv4_frame(64);
  std::vector<uint8_t> out;
  Ran r = run_frame(load(BPF_PROG_TYPE_XDP, calls_with_delta(kXdpAdjustTail, -4)), frame, &out);
  ASSERT_EQ(r.ret, 0);
  EXPECT_EQ(r.retval, 0u);
  ASSERT_EQ(r.data_size_out, 60u);
  EXPECT_TRUE(std::equal(frame.begin(), frame.begin() + 60, out.begin()));
  r = run_frame(load(BPF_PROG_TYPE_XDP, calls_with_delta(kXdpAdjustTail, 12)), frame, &out);
  EXPECT_EQ(r.retval, 0u);
  ASSERT_EQ(r.data_size_out, 76u);
  EXPECT_TRUE(std::equal(frame.begin(), frame.end(), out.begin()));
  EXPECT_TRUE(std::all_of(out.begin() + 64, out.begin() + 76, [](uint8_t b) { return b == 0; }));
  // 4096 - 256 - 320 - 64 = 3456 bytes to grow into; a refusal leaves the packet as it was.
  r = run_frame(load(BPF_PROG_TYPE_XDP, calls_with_delta(kXdpAdjustTail, 3457)), frame, &out);
  EXPECT_EQ(r.retval, static_cast<uint32_t>(-EINVAL));
  EXPECT_EQ(r.data_size_out, 64u);
  r = run_frame(load(BPF_PROG_TYPE_XDP, calls_with_delta(kXdpAdjustTail, 3456)), frame, &out);
  EXPECT_EQ(r.ret, -ENOSPC) << "3520 bytes do not fit data_out's 128";
  EXPECT_EQ(r.retval, 0u);
  EXPECT_EQ(r.data_size_out, 3520u);
  r = run_frame(load(BPF_PROG_TYPE_XDP, calls_with_delta(kXdpAdjustTail, -51)), frame, &out);
  EXPECT_EQ(r.retval, static_cast<uint32_t>(-EINVAL));

  // With 8 bytes of metadata (taken from the headroom) the packet proper
  // is 56 bytes at the same place: 3464 bytes of room past its end.
  const int grow_to_limit = load(BPF_PROG_TYPE_XDP, calls_with_delta(kXdpAdjustTail, 3464));
  const int grow_past = load(BPF_PROG_TYPE_XDP, calls_with_delta(kXdpAdjustTail, 3465));
  std::vector<uint8_t> big_out(4096);
  xdp_md ctx{};
  ctx.data = 8;
  ctx.data_end = static_cast<uint32_t>(frame.size());
  TestRun t;
  t.data_in = frame.data();
  t.data_size_in = static_cast<uint32_t>(frame.size());
  t.data_out = big_out.data();
  t.data_size_out = static_cast<uint32_t>(big_out.size());
  t.ctx_in = &ctx;
  t.ctx_size_in = sizeof(ctx);
  r = run(grow_to_limit, t);
  ASSERT_EQ(r.ret, 0);
  EXPECT_EQ(r.retval, 0u);
  EXPECT_EQ(r.data_size_out, 64u + 3464u) << "data_out starts at the metadata";
  r = run(grow_past, t);
  EXPECT_EQ(r.retval, static_cast<uint32_t>(-EINVAL));
  EXPECT_EQ(r.data_size_out, 64u);
}

// ---------------------------------------------------------------- skb types

TEST_P(ProgTestRunTest, SocketFilterSeesTheNetworkLayer) {
  auto frame = ipv4_frame(100);
  std::vector<uint8_t> out;
  // len excludes the Ethernet header; protocol is big-endian ETH_P_IP as
  // read raw; a broadcast frame is PACKET_BROADCAST from loopback... or not:
  // loopback's broadcast address decides (the kernel's answer is the test).
  int len = load(BPF_PROG_TYPE_SOCKET_FILTER, returns_ctx_field(offsetof(__sk_buff, len)));
  int protocol = load(BPF_PROG_TYPE_SOCKET_FILTER, returns_ctx_field(offsetof(__sk_buff, protocol)));
  int ifindex = load(BPF_PROG_TYPE_SOCKET_FILTER, returns_ctx_field(offsetof(__sk_buff, ifindex)));
  int pkt_type = load(BPF_PROG_TYPE_SOCKET_FILTER, returns_ctx_field(offsetof(__sk_buff, pkt_type)));
  Ran r = run_frame(len, frame, &out);
  ASSERT_EQ(r.ret, 0);
  EXPECT_EQ(r.retval, 100u - ETH_HLEN);
  EXPECT_EQ(r.data_size_out, 100u);
  // The frame comes back with its Ethernet header zeroed (re-pushed empty).
  EXPECT_TRUE(std::all_of(out.begin(), out.begin() + ETH_HLEN, [](uint8_t b) { return b == 0; }));
  EXPECT_TRUE(std::equal(frame.begin() + ETH_HLEN, frame.end(), out.begin() + ETH_HLEN));
  EXPECT_EQ(run_frame(protocol, frame, &out).retval, htons(ETH_P_IP));
  EXPECT_EQ(run_frame(ifindex, frame, &out).retval, if_nametoindex("lo"));
  Ran t = run_frame(pkt_type, frame, &out);
  EXPECT_EQ(t.ret, 0);
  // The kernel's loopback has an all-zero broadcast address: a broadcast
  // frame is "multicast" to it; a frame to 00:..:00 is for this host.
  EXPECT_EQ(t.retval, static_cast<uint32_t>(PACKET_MULTICAST));
  auto to_host = frame;
  memset(to_host.data(), 0, 6);
  EXPECT_EQ(run_frame(pkt_type, to_host, &out).retval, static_cast<uint32_t>(PACKET_HOST));
  auto unicast = frame;
  unicast[0] = 0x02;
  EXPECT_EQ(run_frame(pkt_type, unicast, &out).retval, static_cast<uint32_t>(PACKET_OTHERHOST));
}

TEST_P(ProgTestRunTest, SchedClsSeesTheFrameAndWritesMarkAndCb) {
  // mark = 7; cb[1] = len; packet byte 0 = 0xaa if in range; r0 = h_proto[0]
  std::vector<RawInsn> insns = {
      st(BPF_W, 1, offsetof(__sk_buff, mark), 7),
      ldx(BPF_W, 2, 1, offsetof(__sk_buff, len)),
      stx(BPF_W, 1, 2, offsetof(__sk_buff, cb) + 4),
  };
  auto pkt = touches_packet(offsetof(__sk_buff, data), offsetof(__sk_buff, data_end));
  insns.insert(insns.end(), pkt.begin(), pkt.end());
  int fd = load(BPF_PROG_TYPE_SCHED_CLS, insns);
  auto frame = ipv4_frame(80);
  __sk_buff ctx{}, ctx_out{};
  ctx.cb[0] = 0x1234;
  ctx.priority = 3;
  std::vector<uint8_t> out(200);
  TestRun r;
  r.data_in = frame.data();
  r.data_size_in = static_cast<uint32_t>(frame.size());
  r.data_out = out.data();
  r.data_size_out = static_cast<uint32_t>(out.size());
  r.ctx_in = &ctx;
  r.ctx_size_in = sizeof(ctx);
  r.ctx_out = &ctx_out;
  r.ctx_size_out = sizeof(ctx_out);
  Ran ran = run(fd, r);
  ASSERT_EQ(ran.ret, 0);
  EXPECT_EQ(ran.retval, 0x08u);
  EXPECT_EQ(ran.data_size_out, 80u);
  EXPECT_EQ(out[0], 0xaa);
  EXPECT_TRUE(std::equal(frame.begin() + 1, frame.end(), out.begin() + 1));
  EXPECT_EQ(ran.ctx_size_out, sizeof(__sk_buff));
  EXPECT_EQ(ctx_out.mark, 7u);
  EXPECT_EQ(ctx_out.priority, 3u);
  EXPECT_EQ(ctx_out.cb[0], 0x1234u);
  EXPECT_EQ(ctx_out.cb[1], 80u);
  EXPECT_EQ(ctx_out.wire_len, 80u);
  EXPECT_EQ(ctx_out.ifindex, if_nametoindex("lo"));
  EXPECT_EQ(ctx_out.len, 0u) << "fields ctx_out does not report stay as given";
}

TEST_P(ProgTestRunTest, CgroupSkbSeesTheNetworkLayer) {
  // data..data_end is the packet from its network header: 50 of 64 bytes.
  auto frame = ipv4_frame(64);
  std::vector<uint8_t> out;
  for (int32_t n : {50, 51}) {
    // r0 = (data + n <= data_end)
    int fd = load(BPF_PROG_TYPE_CGROUP_SKB, {ldx(BPF_W, 2, 1, offsetof(__sk_buff, data)),
                                             ldx(BPF_W, 3, 1, offsetof(__sk_buff, data_end)), mov_reg(4, 2),
                                             add_imm(4, n), jgt_reg(4, 3, 2), mov_imm(0, 1), exit_insn(),
                                             mov_imm(0, 0), exit_insn()});
    Ran r = run_frame(fd, frame, &out);
    ASSERT_EQ(r.ret, 0);
    EXPECT_EQ(r.retval, n == 50 ? 1u : 0u) << n;
  }
  // Its socket's addresses come from the IP header: 1 if local_ip4 is
  // 10.0.0.1 (network order) and family AF_INET.
  int local = load(BPF_PROG_TYPE_CGROUP_SKB, {mov_imm(0, 0), ldx(BPF_W, 2, 1, offsetof(__sk_buff, local_ip4)),
                                              I(BPF_JMP | BPF_JNE | BPF_K, 2, 0, 3, 0x0100000a),
                                              ldx(BPF_W, 3, 1, offsetof(__sk_buff, family)),
                                              I(BPF_JMP | BPF_JNE | BPF_K, 3, 0, 1, AF_INET), mov_imm(0, 1),
                                              exit_insn()});
  EXPECT_EQ(run_frame(local, frame, &out).retval, 1u) << "local_ip4 is 10.0.0.1, family AF_INET";
}

TEST_P(ProgTestRunTest, SkbCtxInRules) {
  int fd = load(BPF_PROG_TYPE_SCHED_CLS, returns(0));
  auto frame = ipv4_frame();
  auto with_ctx = [&](const __sk_buff &ctx, uint32_t size = sizeof(__sk_buff)) {
    std::vector<uint8_t> buf(std::max<size_t>(size, sizeof(ctx)), 0);
    memcpy(buf.data(), &ctx, sizeof(ctx));
    TestRun r;
    r.data_in = frame.data();
    r.data_size_in = static_cast<uint32_t>(frame.size());
    r.ctx_in = buf.data();
    r.ctx_size_in = size;
    return run(fd, r).ret;
  };
  __sk_buff ok{};
  ok.mark = 1;
  ok.priority = 2;
  ok.tstamp = 3;
  ok.gso_segs = 4;
  ok.gso_size = 5;
  ok.hwtstamp = 6;
  ok.cb[4] = 7;
  EXPECT_EQ(with_ctx(ok), 0);
  EXPECT_EQ(with_ctx(ok, 12), 0) << "a shorter ctx_in is zero-extended";
  __sk_buff bad = ok;
  bad.len = 1;
  EXPECT_EQ(with_ctx(bad), -EINVAL);
  bad = ok;
  bad.tc_index = 1;
  EXPECT_EQ(with_ctx(bad), -EINVAL);
  bad = ok;
  bad.wire_len = 10;
  EXPECT_EQ(with_ctx(bad), -EINVAL) << "wire_len below the packet's length";
  bad = ok;
  bad.gso_segs = 70000;
  EXPECT_EQ(with_ctx(bad), -EINVAL);
  bad = ok;
  bad.ifindex = 0x7fff0000;
  EXPECT_EQ(with_ctx(bad), -ENODEV);
  // ctx_in longer than __sk_buff: the rest must be zero (E2BIG otherwise).
  EXPECT_EQ(with_ctx(ok, sizeof(__sk_buff) + 8), 0);
  std::vector<uint8_t> long_ctx(sizeof(__sk_buff) + 8, 0);
  long_ctx.back() = 1;
  TestRun r;
  r.data_in = frame.data();
  r.data_size_in = static_cast<uint32_t>(frame.size());
  r.ctx_in = long_ctx.data();
  r.ctx_size_in = static_cast<uint32_t>(long_ctx.size());
  EXPECT_EQ(run(fd, r).ret, -E2BIG);
}

TEST_P(ProgTestRunTest, SkbRefusesFlagsCpuAndBatch) {
  int fd = load(BPF_PROG_TYPE_SOCKET_FILTER, returns(0));
  auto frame = ipv4_frame();
  TestRun r;
  r.data_in = frame.data();
  r.data_size_in = static_cast<uint32_t>(frame.size());
  TestRun bad = r;
  bad.flags = BPF_F_TEST_RUN_ON_CPU;
  EXPECT_EQ(run(fd, bad).ret, -EINVAL);
  bad = r;
  bad.cpu = 1;
  EXPECT_EQ(run(fd, bad).ret, -EINVAL);
  bad = r;
  bad.batch_size = 1;
  EXPECT_EQ(run(fd, bad).ret, -EINVAL);
}

// ---------------------------------------------------------------- common rules

TEST_P(ProgTestRunTest, TooSmallDataOutCopiesWhatFitsAndSaysENOSPC) {
  for (uint32_t type : {BPF_PROG_TYPE_XDP, BPF_PROG_TYPE_SCHED_CLS}) {
    SCOPED_TRACE(type);
    int fd = load(type, returns(1));
    auto frame = ipv4_frame(64);
    std::vector<uint8_t> out(64, 0x5a);
    TestRun r;
    r.data_in = frame.data();
    r.data_size_in = 64;
    r.data_out = out.data();
    r.data_size_out = 20;
    Ran ran = run(fd, r);
    EXPECT_EQ(ran.ret, -ENOSPC);
    EXPECT_EQ(ran.data_size_out, 64u) << "the full size is reported";
    EXPECT_EQ(ran.retval, 1u);
    EXPECT_TRUE(std::equal(frame.begin(), frame.begin() + 20, out.begin()));
    EXPECT_EQ(out[20], 0x5a);
  }
}

TEST_P(ProgTestRunTest, TooSmallCtxOut) {
  int fd = load(BPF_PROG_TYPE_SCHED_CLS, returns(1));
  auto frame = ipv4_frame();
  __sk_buff ctx{};
  ctx.mark = 9;
  std::vector<uint8_t> ctx_out(64, 0x5a);
  TestRun r;
  r.data_in = frame.data();
  r.data_size_in = static_cast<uint32_t>(frame.size());
  r.ctx_in = &ctx;
  r.ctx_size_in = sizeof(ctx);
  r.ctx_out = ctx_out.data();
  r.ctx_size_out = 12;
  Ran ran = run(fd, r);
  EXPECT_EQ(ran.ret, -ENOSPC);
  EXPECT_EQ(ran.ctx_size_out, sizeof(__sk_buff));
  uint32_t mark;
  memcpy(&mark, ctx_out.data() + offsetof(__sk_buff, mark), 4);
  EXPECT_EQ(mark, 9u);
  EXPECT_EQ(ctx_out[12], 0x5a);
}

TEST_P(ProgTestRunTest, DataSizeLimits) {
  int xdp = load(BPF_PROG_TYPE_XDP, returns(1));
  int skb = load(BPF_PROG_TYPE_SOCKET_FILTER, returns(1));
  std::vector<uint8_t> big(8192, 1);
  for (int fd : {xdp, skb}) {
    TestRun r;
    r.data_in = big.data();
    r.data_size_in = ETH_HLEN - 1;
    EXPECT_EQ(run(fd, r).ret, -EINVAL) << "shorter than an Ethernet header";
    r.data_size_in = ETH_HLEN;
    EXPECT_EQ(run(fd, r).ret, 0);
  }
  TestRun r;
  r.data_in = big.data();
  r.data_size_in = 4096 - 64 - 320;
  EXPECT_EQ(run(skb, r).ret, 0) << "an skb's largest linear packet";
  r.data_size_in++;
  EXPECT_EQ(run(skb, r).ret, -EINVAL);
  r.data_size_in = 4096 - 256 - 320;
  EXPECT_EQ(run(xdp, r).ret, 0) << "XDP's largest linear packet";
}

TEST_P(ProgTestRunTest, RepeatRunsEveryTime) {
  // Each run adds 1 to cb[0]: after repeat=N it is N (0 counts as 1).
  int fd = load(BPF_PROG_TYPE_SCHED_CLS, {ldx(BPF_W, 2, 1, offsetof(__sk_buff, cb)), add_imm(2, 1),
                                          stx(BPF_W, 1, 2, offsetof(__sk_buff, cb)), mov_imm(0, 0), exit_insn()});
  auto frame = ipv4_frame();
  for (uint32_t repeat : {0u, 1u, 1000u}) {
    __sk_buff ctx{}, ctx_out{};
    TestRun r;
    r.data_in = frame.data();
    r.data_size_in = static_cast<uint32_t>(frame.size());
    r.ctx_in = &ctx;
    r.ctx_size_in = sizeof(ctx);
    r.ctx_out = &ctx_out;
    r.ctx_size_out = sizeof(ctx_out);
    r.repeat = repeat;
    Ran ran = run(fd, r);
    ASSERT_EQ(ran.ret, 0);
    EXPECT_EQ(ctx_out.cb[0], repeat ? repeat : 1u);
  }
}

TEST_P(ProgTestRunTest, BadAttr) {
  int fd = load(BPF_PROG_TYPE_XDP, returns(2));
  auto frame = ipv4_frame();
  TestRun r;
  r.data_in = frame.data();
  r.data_size_in = static_cast<uint32_t>(frame.size());
  EXPECT_EQ(run(fd, r, [](union bpf_attr &a) { a.test.ctx_size_in = 4; }).ret, -EINVAL) << "ctx size without ctx";
  xdp_md ctx{};
  EXPECT_EQ(run(fd, r, [&](union bpf_attr &a) { a.test.ctx_in = reinterpret_cast<uintptr_t>(&ctx); }).ret, -EINVAL)
      << "ctx without its size";
  EXPECT_EQ(run(fd, r, [&](union bpf_attr &a) { a.test.ctx_out = reinterpret_cast<uintptr_t>(&ctx); }).ret, -EINVAL);
  EXPECT_EQ(run(fd, r, [](union bpf_attr &a) { a.test.prog_fd = 9999; }).ret, -EBADF);
  long map = ubt::map_create(fn, BPF_MAP_TYPE_ARRAY, 4, 4, 1);
  ASSERT_GE(map, 0);
  fds.push_back(static_cast<int>(map));
  EXPECT_EQ(run(static_cast<int>(map), r).ret, -EINVAL) << "not a program";
  // Past the command's last field (test.batch_size) everything must be zero.
  EXPECT_EQ(run(fd, r, [](union bpf_attr &a) {
              reinterpret_cast<char *>(&a)[offsetof(union bpf_attr, test.batch_size) + 4] = 1;
            }).ret,
            -EINVAL);
  // Buffers in the zero page fault (userbpf checks what it can without a
  // system call: docs/DESIGN-NOTES.md "User pointers").
  void *hole = reinterpret_cast<void *>(uintptr_t{16});
  TestRun bad = r;
  bad.data_in = hole;
  EXPECT_EQ(run(fd, bad).ret, -EFAULT);
  bad = r;
  bad.data_out = hole;
  bad.data_size_out = 64;
  EXPECT_EQ(run(fd, bad).ret, -EFAULT);
  bad = r;
  bad.data_out = hole;
  bad.data_size_out = 64;
  bad.repeat = 1;
  EXPECT_EQ(run(fd, bad, [](union bpf_attr &a) { a.test.ctx_in = 16, a.test.ctx_size_in = sizeof(xdp_md); }).ret,
            -EFAULT);
}

// ---------------------------------------------------------------- tracing and syscall types

TEST_P(ProgTestRunTest, TracingTypesWithoutTestRun) {
  auto frame = ipv4_frame();
  for (uint32_t type : {BPF_PROG_TYPE_KPROBE, BPF_PROG_TYPE_TRACEPOINT, BPF_PROG_TYPE_PERF_EVENT}) {
    SCOPED_TRACE(type);
    int fd = load(type, returns(0));
    TestRun r;
    r.data_in = frame.data();
    r.data_size_in = static_cast<uint32_t>(frame.size());
    EXPECT_EQ(run(fd, r).ret, -524) << "ENOTSUPP: the type has no test run";
  }
}

TEST_P(ProgTestRunTest, RawTracepointRunsOnItsArguments) {
  // r0 = args[1]; the program reads 16 bytes of context.
  int fd = load(BPF_PROG_TYPE_RAW_TRACEPOINT, {ldx(BPF_DW, 0, 1, 8), exit_insn()});
  uint64_t args[13] = {1, 42};
  TestRun r;
  r.ctx_in = args;
  r.ctx_size_in = 16;
  Ran ran = run(fd, r);
  ASSERT_EQ(ran.ret, 0);
  EXPECT_EQ(ran.retval, 42u);
  r.ctx_size_in = 8;
  EXPECT_EQ(run(fd, r).ret, -EINVAL) << "fewer bytes than the program reads";
  r.ctx_size_in = sizeof(args);
  EXPECT_EQ(run(fd, r).ret, -EINVAL) << "more than 12 arguments";
  r.ctx_size_in = 16;
  TestRun bad = r;
  bad.repeat = 2;
  EXPECT_EQ(run(fd, bad).ret, -EINVAL);
  auto frame = ipv4_frame();
  bad = r;
  bad.data_in = frame.data();
  bad.data_size_in = static_cast<uint32_t>(frame.size());
  EXPECT_EQ(run(fd, bad).ret, -EINVAL) << "no packet";
  bad = r;
  bad.cpu = 1;
  EXPECT_EQ(run(fd, bad).ret, -EINVAL) << "a CPU needs BPF_F_TEST_RUN_ON_CPU";
  bad.flags = BPF_F_TEST_RUN_ON_CPU;
  bad.cpu = 0;
  EXPECT_EQ(run(fd, bad).ret, 0);
  bad.cpu = 100000;
  EXPECT_EQ(run(fd, bad).ret, -ENXIO);
  EXPECT_EQ(run(fd, r, [](union bpf_attr &a) { a.test.duration = 1; }).ret, -EINVAL);
}

TEST_P(ProgTestRunTest, SyscallProgramWritesItsContextBack) {
  // ctx->word += 1; return it.
  int fd = load(BPF_PROG_TYPE_SYSCALL,
                {ldx(BPF_W, 2, 1, 0), add_imm(2, 1), stx(BPF_W, 1, 2, 0), mov_reg(0, 2), exit_insn()}, 0,
                BPF_F_SLEEPABLE);
  uint32_t ctx[2] = {41, 7};
  TestRun r;
  r.ctx_in = ctx;
  r.ctx_size_in = sizeof(ctx);
  Ran ran = run(fd, r);
  ASSERT_EQ(ran.ret, 0);
  EXPECT_EQ(ran.retval, 42u);
  EXPECT_EQ(ctx[0], 42u) << "the context goes back to ctx_in";
  EXPECT_EQ(ctx[1], 7u);
  r.ctx_size_in = 2;
  EXPECT_EQ(run(fd, r).ret, -EINVAL) << "fewer bytes than the program reads";
  r.ctx_size_in = sizeof(ctx);
  TestRun bad = r;
  bad.repeat = 1;
  EXPECT_EQ(run(fd, bad).ret, -EINVAL);
  bad = r;
  bad.flags = BPF_F_TEST_RUN_ON_CPU;
  EXPECT_EQ(run(fd, bad).ret, -EINVAL);
  uint32_t out[2];
  bad = r;
  bad.ctx_out = out;
  bad.ctx_size_out = sizeof(out);
  EXPECT_EQ(run(fd, bad).ret, -EINVAL) << "no ctx_out: ctx_in is written back";
}

// ---------------------------------------------------------------- tail calls

std::vector<RawInsn> ld_map(uint8_t dst, int fd) {
  return {I(BPF_LD | BPF_IMM | BPF_DW, dst, BPF_PSEUDO_MAP_FD, 0, fd), I(0)};
}

// r1 = ctx; tail call array[index]; on fall-through return `fallthrough`.
std::vector<RawInsn> tail_caller(int array_fd, int32_t index, int32_t fallthrough) {
  std::vector<RawInsn> p = ld_map(2, array_fd);
  p.push_back(mov_imm(3, index));
  p.push_back(I(BPF_JMP | BPF_CALL, 0, 0, 0, 12));
  p.push_back(mov_imm(0, fallthrough));
  p.push_back(exit_insn());
  return p;
}

// counter[0] += 1, then tail call array[0]; XDP_PASS on fall-through.
std::vector<RawInsn> counting_self_caller(int counter_fd, int array_fd) {
  std::vector<RawInsn> p = {mov_reg(6, 1), st(BPF_W, 10, -4, 0), mov_reg(2, 10), add_imm(2, -4)};
  auto m = ld_map(1, counter_fd);
  p.insert(p.end(), m.begin(), m.end());
  p.push_back(I(BPF_JMP | BPF_CALL, 0, 0, 0, 1)); // map_lookup_elem
  p.push_back(I(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 2, 0));
  p.push_back(mov_imm(1, 1));
  p.push_back(I(BPF_STX | BPF_ATOMIC | BPF_DW, 0, 1, 0, BPF_ADD));
  p.push_back(mov_reg(1, 6));
  auto t = tail_caller(array_fd, 0, 2);
  p.insert(p.end(), t.begin(), t.end());
  return p;
}

TEST_P(ProgTestRunTest, ProgArrayUserSpaceRules) {
  EXPECT_EQ(ubt::map_create(fn, BPF_MAP_TYPE_PROG_ARRAY, 4, 8, 4), -EINVAL) << "values are fds";
  EXPECT_EQ(ubt::map_create(fn, BPF_MAP_TYPE_PROG_ARRAY, 8, 4, 4), -EINVAL);
  EXPECT_EQ(ubt::map_create(fn, BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 0), -EINVAL);
  EXPECT_EQ(ubt::map_create(fn, BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4, BPF_F_RDONLY_PROG), -EINVAL);
  long array = ubt::map_create(fn, BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4);
  ASSERT_GE(array, 0);
  fds.push_back(static_cast<int>(array));
  int prog = load(BPF_PROG_TYPE_XDP, returns(2));
  uint32_t key = 1, value = static_cast<uint32_t>(prog), got = 0;
  EXPECT_EQ(ubt::map_lookup(fn, static_cast<int>(array), &key, &got), -ENOENT) << "empty slot";
  EXPECT_EQ(ubt::map_delete(fn, static_cast<int>(array), &key), -ENOENT);
  EXPECT_EQ(ubt::map_update(fn, static_cast<int>(array), &key, &value, BPF_NOEXIST), -EINVAL) << "BPF_ANY only";
  EXPECT_EQ(ubt::map_update(fn, static_cast<int>(array), &key, &value), 0);
  bpf_prog_info info{};
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.info.bpf_fd = static_cast<uint32_t>(prog);
  a.info.info_len = sizeof(info);
  a.info.info = reinterpret_cast<uintptr_t>(&info);
  ASSERT_EQ(ubt::call(fn, BPF_OBJ_GET_INFO_BY_FD, a), 0);
  EXPECT_EQ(ubt::map_lookup(fn, static_cast<int>(array), &key, &got), 0);
  EXPECT_EQ(got, info.id) << "user space reads program ids back";
  uint32_t far = 4;
  EXPECT_EQ(ubt::map_update(fn, static_cast<int>(array), &far, &value), -E2BIG);
  EXPECT_EQ(ubt::map_lookup(fn, static_cast<int>(array), &far, &got), -ENOENT);
  EXPECT_EQ(ubt::map_delete(fn, static_cast<int>(array), &far), -E2BIG);
  uint32_t not_a_prog = static_cast<uint32_t>(array), not_an_fd = 9999;
  EXPECT_EQ(ubt::map_update(fn, static_cast<int>(array), &key, &not_a_prog), -EINVAL);
  EXPECT_EQ(ubt::map_update(fn, static_cast<int>(array), &key, &not_an_fd), -EBADF);
  EXPECT_EQ(ubt::map_delete(fn, static_cast<int>(array), &key), 0);
  EXPECT_EQ(ubt::map_lookup(fn, static_cast<int>(array), &key, &got), -ENOENT);
}

TEST_P(ProgTestRunTest, TailCallRunsTheTargetAndNeverReturns) {
  long array = ubt::map_create(fn, BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4);
  ASSERT_GE(array, 0);
  fds.push_back(static_cast<int>(array));
  int target = load(BPF_PROG_TYPE_XDP, returns(3));
  int caller = load(BPF_PROG_TYPE_XDP, tail_caller(static_cast<int>(array), 2, 1));
  int far_caller = load(BPF_PROG_TYPE_XDP, tail_caller(static_cast<int>(array), 7, 1));
  auto frame = ipv4_frame();
  std::vector<uint8_t> out;
  EXPECT_EQ(run_frame(caller, frame, &out).retval, 1u) << "an empty slot falls through";
  uint32_t key = 2, value = static_cast<uint32_t>(target);
  ASSERT_EQ(ubt::map_update(fn, static_cast<int>(array), &key, &value), 0);
  Ran r = run_frame(caller, frame, &out);
  ASSERT_EQ(r.ret, 0);
  EXPECT_EQ(r.retval, 3u) << "the target's return value is the run's";
  EXPECT_EQ(run_frame(far_caller, frame, &out).retval, 1u) << "an index past the end falls through";
  ASSERT_EQ(ubt::map_delete(fn, static_cast<int>(array), &key), 0);
  EXPECT_EQ(run_frame(caller, frame, &out).retval, 1u);
}

TEST_P(ProgTestRunTest, TailCallIntoAnIncompatibleProgram) {
  long array = ubt::map_create(fn, BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4);
  ASSERT_GE(array, 0);
  fds.push_back(static_cast<int>(array));
  // The first XDP program that uses the array makes it an XDP array.
  load(BPF_PROG_TYPE_XDP, tail_caller(static_cast<int>(array), 0, 1));
  int filter = load(BPF_PROG_TYPE_SOCKET_FILTER, returns(0));
  uint32_t key = 0, value = static_cast<uint32_t>(filter);
  EXPECT_EQ(ubt::map_update(fn, static_cast<int>(array), &key, &value), -EINVAL);
  // A socket filter that would tail call through it does not load.
  auto insns = tail_caller(static_cast<int>(array), 0, 0);
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  a.insns = reinterpret_cast<uintptr_t>(insns.data());
  a.insn_cnt = static_cast<uint32_t>(insns.size());
  a.license = reinterpret_cast<uintptr_t>("GPL");
  EXPECT_EQ(ubt::call(fn, BPF_PROG_LOAD, a), -EINVAL);
}

TEST_P(ProgTestRunTest, TailCallLimitIs33PerRun) {
  long counter = ubt::map_create(fn, BPF_MAP_TYPE_ARRAY, 4, 8, 1);
  long array = ubt::map_create(fn, BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 1);
  ASSERT_GE(counter, 0);
  ASSERT_GE(array, 0);
  fds.push_back(static_cast<int>(counter));
  int self = load(BPF_PROG_TYPE_XDP, counting_self_caller(static_cast<int>(counter), static_cast<int>(array)));
  uint32_t key = 0, value = static_cast<uint32_t>(self);
  ASSERT_EQ(ubt::map_update(fn, static_cast<int>(array), &key, &value), 0);
  auto frame = ipv4_frame();
  auto count = [&] {
    uint64_t n = 0;
    EXPECT_EQ(ubt::map_lookup(fn, static_cast<int>(counter), &key, &n), 0);
    return n;
  };
  std::vector<uint8_t> out;
  Ran r = run_frame(self, frame, &out);
  ASSERT_EQ(r.ret, 0);
  EXPECT_EQ(r.retval, 2u);
  EXPECT_EQ(count(), 34u) << "one run and 33 tail calls";
  TestRun ten;
  ten.data_in = frame.data();
  ten.data_size_in = static_cast<uint32_t>(frame.size());
  ten.repeat = 10;
  ASSERT_EQ(run(self, ten).ret, 0);
  EXPECT_EQ(count(), 34u + 340u) << "the count restarts with every run";
  // The array's last fd closes: its slots are emptied even though the
  // program (which holds the array) is still loaded, and the cycle is gone.
  // The kernel empties it from a work queue: wait for it.
  close(static_cast<int>(array));
  uint64_t before = count();
  for (int i = 0; i < 200; i++) {
    ASSERT_EQ(run_frame(self, frame, &out).ret, 0);
    uint64_t now = count();
    if (now - before == 1) break;
    before = now;
    usleep(5000);
  }
  before = count();
  ASSERT_EQ(run_frame(self, frame, &out).ret, 0);
  EXPECT_EQ(count(), before + 1) << "the tail call now falls through";
  // With the cycle broken, closing the program releases it and the array.
  bpf_prog_info info{};
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.info.bpf_fd = static_cast<uint32_t>(self);
  a.info.info_len = sizeof(info);
  a.info.info = reinterpret_cast<uintptr_t>(&info);
  ASSERT_EQ(ubt::call(fn, BPF_OBJ_GET_INFO_BY_FD, a), 0);
  for (int &fd : fds)
    if (fd == self) {
      close(fd);
      fd = -1;
    }
  long gone = 0;
  for (int i = 0; i < 200 && gone != -ENOENT; i++) {
    memset(&a, 0, sizeof(a));
    a.prog_id = info.id;
    gone = ubt::call(fn, BPF_PROG_GET_FD_BY_ID, a);
    if (gone >= 0) {
      close(static_cast<int>(gone));
      usleep(5000);
    }
  }
  EXPECT_EQ(gone, -ENOENT) << "the program is released";
}

INSTANTIATE_TEST_SUITE_P(Backends, ProgTestRunTest,
                         ::testing::Values(Backend{"userbpf", ubt::userbpf_call}, Backend{"kernel", ubt::kernel_call}),
                         [](const ::testing::TestParamInfo<Backend> &info) { return std::string(info.param.name); });

} // namespace
