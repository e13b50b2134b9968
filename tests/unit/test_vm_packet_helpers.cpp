// Packet helpers run straight in the VM, in both engines, where a test run
// cannot reach: bpf_redirect, whose implementation depends on the program
// type (tc's verdicts or XDP's, chosen when the program is translated), and
// the target it records; bpf_xdp_adjust_tail at the exact edges of a buffer
// built by hand; and the xlated dump of a loaded program, which still names
// helper 23 whatever implementation its calls run. The verdicts and limits
// are the kernel's (diff_test_run compares them with the kernel's test runs).
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bpf_test_util.h"
#include "helpers/context.h"
#include "helpers/helpers.h"
#include "private_root_env.h"
#include "vm/decoder.h"
#include "vm/disasm.h"
#include "vm/interpreter.h"
#include "vm/jit_x86_64.h"
#include "vm_test_util.h"

namespace {

using namespace userbpf::vm;
using ubt::I;
using userbpf::CtxPacketPointers;

constexpr int32_t kRedirect = 23, kXdpAdjustTail = 65;

std::vector<Engine> engines() {
  std::vector<Engine> out{Engine::kInterpreter};
  if (jit_supported()) out.push_back(Engine::kJit);
  return out;
}

std::unique_ptr<Program> create(const std::vector<RawInsn> &raw, Engine engine, uint32_t prog_type) {
  DecodedProgram decoded;
  std::string error;
  EXPECT_EQ(decode(raw.data(), raw.size(), &decoded, &error), 0) << error;
  ProgramOptions options;
  options.engine = engine;
  options.prog_type = prog_type;
  std::unique_ptr<Program> prog;
  EXPECT_EQ(Program::create(decoded, &prog, &error, options), 0) << error;
  return prog;
}

// r1 = ifindex; r2 = flags (64 bits); r0 = bpf_redirect(r1, r2); exit
std::vector<RawInsn> redirect(uint32_t ifindex, uint64_t flags) {
  return {I(BPF_ALU64 | BPF_MOV | BPF_K, 1, 0, 0, static_cast<int32_t>(ifindex)),
          I(BPF_LD | BPF_DW | BPF_IMM, 2, 0, 0, static_cast<int32_t>(static_cast<uint32_t>(flags))),
          I(0, 0, 0, 0, static_cast<int32_t>(static_cast<uint32_t>(flags >> 32))),
          I(BPF_JMP | BPF_CALL, 0, 0, 0, kRedirect), I(BPF_JMP | BPF_EXIT)};
}

TEST(VmPacketHelpers, RedirectGivesTheVerdictsOfTheProgramsType) {
  struct Case {
    uint32_t prog_type;
    uint64_t flags;
    uint64_t verdict;
  };
  const Case cases[] = {
      {BPF_PROG_TYPE_XDP, 0, XDP_REDIRECT},
      {BPF_PROG_TYPE_XDP, BPF_F_INGRESS, XDP_ABORTED}, // XDP takes no flag at all
      {BPF_PROG_TYPE_XDP, 1ull << 40, XDP_ABORTED},
      {BPF_PROG_TYPE_SCHED_CLS, 0, TC_ACT_REDIRECT},
      {BPF_PROG_TYPE_SCHED_CLS, BPF_F_INGRESS, TC_ACT_REDIRECT},
      {BPF_PROG_TYPE_SCHED_CLS, 2, TC_ACT_SHOT},
      {BPF_PROG_TYPE_SCHED_ACT, 1ull << 63, TC_ACT_SHOT},
      {BPF_PROG_TYPE_SCHED_ACT, BPF_F_INGRESS, TC_ACT_REDIRECT},
      {0, 0, TC_ACT_REDIRECT}, // no program type: the table's function, tc's
  };
  for (Engine engine : engines()) {
    uint32_t ifindex = 100;
    for (const Case &c : cases) {
      SCOPED_TRACE("engine " + std::to_string(static_cast<int>(engine)) + ", type " + std::to_string(c.prog_type) +
                   ", flags " + std::to_string(c.flags));
      const userbpf::helpers::RedirectTarget before = userbpf::helpers::redirect_target();
      auto prog = create(redirect(++ifindex, c.flags), engine, c.prog_type);
      ASSERT_TRUE(prog);
      RunResult r = prog->run(0);
      ASSERT_EQ(r.err, 0) << r.error;
      EXPECT_EQ(r.r0, c.verdict);
      // A redirect records its target; a refused one leaves the last alone.
      const userbpf::helpers::RedirectTarget &after = userbpf::helpers::redirect_target();
      const bool redirected = c.verdict == XDP_REDIRECT || c.verdict == TC_ACT_REDIRECT;
      EXPECT_EQ(after.ifindex, redirected ? ifindex : before.ifindex);
      EXPECT_EQ(after.flags, redirected ? c.flags : before.flags);
    }
  }
}

TEST(VmPacketHelpers, OnlyRedirectHasAPerTypeFunction) {
  using userbpf::helpers::find_helper;
  using userbpf::helpers::helper_function;
  const auto *redirect_proto = find_helper(kRedirect);
  ASSERT_NE(redirect_proto, nullptr);
  EXPECT_NE(helper_function(*redirect_proto, BPF_PROG_TYPE_XDP), redirect_proto->fn);
  EXPECT_EQ(helper_function(*redirect_proto, BPF_PROG_TYPE_SCHED_CLS), redirect_proto->fn);
  for (auto *h = userbpf::helpers::helpers_begin(); h != userbpf::helpers::helpers_end(); h++) {
    if (h->id == kRedirect) continue;
    for (uint32_t type : {0u, unsigned{BPF_PROG_TYPE_XDP}, unsigned{BPF_PROG_TYPE_SCHED_CLS}}) {
      EXPECT_EQ(helper_function(*h, type), h->fn) << h->name;
    }
  }
}

// An XDP context over a one-page frame laid out as the test run's (and the
// kernel's): 256 bytes of headroom, the packet, then room up to the page
// less the 320-byte skb_shared_info.
struct XdpFrame {
  struct Ctx {
    xdp_md uapi;
    CtxPacketPointers ptrs;
  };
  static_assert(offsetof(Ctx, ptrs) == userbpf::ctx_packet_pointers_offset(sizeof(xdp_md)));
  static constexpr uint32_t kPage = 4096, kHeadroom = 256, kTailroom = 320;
  std::vector<uint8_t> page = std::vector<uint8_t>(kPage, 0xee); // 0xee: bytes a grow must clear
  Ctx ctx{};

  explicit XdpFrame(uint32_t len) {
    uint8_t *data = page.data() + kHeadroom;
    for (uint32_t i = 0; i < len; i++) data[i] = static_cast<uint8_t>(i);
    ctx.ptrs.data_hard_start = addr(page.data());
    ctx.ptrs.data_meta = ctx.ptrs.data = addr(data);
    ctx.ptrs.data_end = addr(data + len);
    ctx.ptrs.data_hard_end = addr(page.data() + kPage - kTailroom);
  }
  static uint64_t addr(const void *p) { return reinterpret_cast<uintptr_t>(p); }
  uint64_t len() const { return ctx.ptrs.data_end - ctx.ptrs.data; }
  // r0 = bpf_xdp_adjust_tail(ctx, delta) in a program of type XDP.
  uint64_t adjust_tail(Engine engine, int32_t delta) {
    auto prog = create({I(BPF_ALU64 | BPF_MOV | BPF_K, 2, 0, 0, delta), I(BPF_JMP | BPF_CALL, 0, 0, 0, kXdpAdjustTail),
                        I(BPF_JMP | BPF_EXIT)},
                       engine, BPF_PROG_TYPE_XDP);
    if (!prog) return ~0ull;
    RunResult r = prog->run(addr(&ctx));
    EXPECT_EQ(r.err, 0) << r.error;
    return r.r0;
  }
};

constexpr uint64_t kEinval = static_cast<uint64_t>(-EINVAL);

TEST(VmPacketHelpers, XdpAdjustTailShrinksAndGrowsWithinTheFrame) {
  for (Engine engine : engines()) {
    XdpFrame f(64);
    // Shrink by 10: the bytes stay where they were, data_end moves.
    EXPECT_EQ(f.adjust_tail(engine, -10), 0u);
    EXPECT_EQ(f.len(), 54u);
    // Grow by 20: the 20 bytes past the old end read as zeros, including
    // the 10 that were packet bytes a moment ago and the 0xee beyond.
    EXPECT_EQ(f.adjust_tail(engine, 20), 0u);
    ASSERT_EQ(f.len(), 74u);
    const uint8_t *data = f.page.data() + XdpFrame::kHeadroom;
    for (uint32_t i = 0; i < 54; i++) EXPECT_EQ(data[i], static_cast<uint8_t>(i)) << i;
    EXPECT_TRUE(std::all_of(data + 54, data + 74, [](uint8_t b) { return b == 0; }));
    EXPECT_EQ(data[74], 0xee) << "nothing past the new end is touched";
    // Zero: nothing moves.
    EXPECT_EQ(f.adjust_tail(engine, 0), 0u);
    EXPECT_EQ(f.len(), 74u);
  }
}

TEST(VmPacketHelpers, XdpAdjustTailLimits) {
  for (Engine engine : engines()) {
    // Growing: up to the page less the skb_shared_info tailroom, not a byte more.
    XdpFrame f(64);
    const int32_t room = static_cast<int32_t>(XdpFrame::kPage - XdpFrame::kTailroom - XdpFrame::kHeadroom - 64);
    EXPECT_EQ(f.adjust_tail(engine, room + 1), kEinval);
    EXPECT_EQ(f.len(), 64u) << "a refused adjustment changes nothing";
    EXPECT_EQ(f.page[XdpFrame::kHeadroom + 64], 0xee) << "nor clears anything";
    EXPECT_EQ(f.adjust_tail(engine, INT_MAX), kEinval);
    EXPECT_EQ(f.adjust_tail(engine, room), 0u);
    EXPECT_EQ(f.len(), 64u + static_cast<uint32_t>(room));
    EXPECT_EQ(f.adjust_tail(engine, 1), kEinval);
    // Shrinking: down to an Ethernet header after data, not a byte less.
    XdpFrame g(64);
    EXPECT_EQ(g.adjust_tail(engine, -51), kEinval);
    EXPECT_EQ(g.adjust_tail(engine, INT_MIN), kEinval);
    EXPECT_EQ(g.len(), 64u);
    EXPECT_EQ(g.adjust_tail(engine, -50), 0u);
    EXPECT_EQ(g.len(), 14u);
    EXPECT_EQ(g.adjust_tail(engine, -1), kEinval);
    // The lower limit follows data: with data moved 20 bytes on (as after
    // bpf_xdp_adjust_head(ctx, 20)), 14 bytes from there.
    XdpFrame h(64);
    h.ctx.ptrs.data += 20;
    h.ctx.ptrs.data_meta = h.ctx.ptrs.data;
    EXPECT_EQ(h.adjust_tail(engine, -31), kEinval);
    EXPECT_EQ(h.adjust_tail(engine, -30), 0u);
    EXPECT_EQ(h.len(), 14u);
  }
}

// bpf_xdp_load_bytes / store_bytes / get_buff_len called directly on a
// hand-built frame: the errors at their exact edges, and a refused copy
// leaves both sides alone.
TEST(VmPacketHelpers, XdpLoadAndStoreBytesEdges) {
  using userbpf::helpers::find_helper;
  const auto *get_len = find_helper(188), *load = find_helper(189), *store = find_helper(190);
  ASSERT_TRUE(get_len && load && store);
  XdpFrame f(64);
  const uint64_t ctx = XdpFrame::addr(&f.ctx);
  EXPECT_EQ(get_len->fn(ctx, 0, 0, 0, 0), 64u);
  uint8_t buf[8];
  const uint64_t b = XdpFrame::addr(buf);
  auto call = [&](const userbpf::helpers::HelperProto *h, uint64_t offset, uint64_t len) {
    return h->fn(ctx, offset, b, len, 0);
  };
  const uint8_t *data = f.page.data() + XdpFrame::kHeadroom;
  // The last 8 bytes: fine; one further: -EINVAL, buffer untouched.
  EXPECT_EQ(call(load, 56, 8), 0u);
  EXPECT_TRUE(std::equal(buf, buf + 8, data + 56));
  memset(buf, 0xab, sizeof(buf));
  EXPECT_EQ(call(load, 57, 8), kEinval);
  EXPECT_TRUE(std::all_of(buf, buf + 8, [](uint8_t v) { return v == 0xab; }));
  // Offsets and lengths above 0xffff: -EFAULT, before the length check.
  EXPECT_EQ(call(load, 0x10000, 1), static_cast<uint64_t>(-EFAULT));
  EXPECT_EQ(call(load, 0, 0x10000), static_cast<uint64_t>(-EFAULT));
  EXPECT_EQ(call(load, 0xffff, 1), kEinval);
  EXPECT_EQ(call(load, 0xffffffff00000000ull, 4), 0u) << "offset is a u32: the high half is ignored";
  // Stores: in place, same limits; a refused one leaves the packet alone.
  EXPECT_EQ(call(store, 60, 4), 0u);
  EXPECT_TRUE(std::equal(buf, buf + 4, data + 60));
  const std::vector<uint8_t> before(data, data + 64);
  EXPECT_EQ(call(store, 61, 4), kEinval);
  EXPECT_EQ(call(store, 0x10000, 4), static_cast<uint64_t>(-EFAULT));
  EXPECT_TRUE(std::equal(before.begin(), before.end(), data));
  EXPECT_EQ(f.len(), 64u) << "the packet does not move";
}

// The loaded program's xlated form keeps `call bpf_redirect#23` (imm 23):
// the per-type function is chosen when the run-time form is built.
TEST(VmPacketHelpers, XlatedDumpNamesRedirectWhateverItRuns) {
  const std::vector<RawInsn> insns = redirect(1, 0);
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.prog_type = BPF_PROG_TYPE_XDP;
  a.insns = reinterpret_cast<uintptr_t>(insns.data());
  a.insn_cnt = static_cast<uint32_t>(insns.size());
  a.license = reinterpret_cast<uintptr_t>("GPL");
  long fd = ubt::call(ubt::userbpf_call, BPF_PROG_LOAD, a);
  ASSERT_GE(fd, 0) << strerror(static_cast<int>(-fd));
  RawInsn xlated[8] = {};
  struct bpf_prog_info info;
  memset(&info, 0, sizeof(info));
  info.xlated_prog_len = sizeof(xlated);
  info.xlated_prog_insns = reinterpret_cast<uintptr_t>(xlated);
  union bpf_attr g;
  memset(&g, 0, sizeof(g));
  g.info.bpf_fd = static_cast<uint32_t>(fd);
  g.info.info_len = sizeof(info);
  g.info.info = reinterpret_cast<uintptr_t>(&info);
  ASSERT_EQ(ubt::call(ubt::userbpf_call, BPF_OBJ_GET_INFO_BY_FD, g), 0);
  ASSERT_EQ(info.xlated_prog_len, insns.size() * sizeof(RawInsn));
  DecodedProgram decoded;
  std::string error;
  ASSERT_EQ(decode(xlated, insns.size(), &decoded, &error), 0) << error;
  EXPECT_NE(disassemble(decoded).find("call bpf_redirect#23"), std::string::npos) << disassemble(decoded);
  // And a test run of it gives XDP's verdict.
  std::vector<uint8_t> frame(64, 0);
  union bpf_attr t;
  memset(&t, 0, sizeof(t));
  t.test.prog_fd = static_cast<uint32_t>(fd);
  t.test.data_in = reinterpret_cast<uintptr_t>(frame.data());
  t.test.data_size_in = static_cast<uint32_t>(frame.size());
  ASSERT_EQ(ubt::call(ubt::userbpf_call, BPF_PROG_TEST_RUN, t), 0);
  EXPECT_EQ(t.test.retval, static_cast<uint32_t>(XDP_REDIRECT));
  close(static_cast<int>(fd));
}

} // namespace
