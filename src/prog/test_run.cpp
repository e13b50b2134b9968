#include "prog/test_run.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <net/if.h>
#include <sched.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/ip.h>
#include <linux/ipv6.h>

#include "alloc/rcu.h"
#include "prog/program.h"
#include "prog/tail_call.h"
#include "helpers/context.h"

namespace userbpf {
namespace {

constexpr int kENOTSUPP = 524;
constexpr uint32_t kPageSize = 4096;
// The kernel's sizes on x86-64: SKB_DATA_ALIGN(sizeof(struct skb_shared_info))
// is the tailroom of every test buffer; NET_SKB_PAD + NET_IP_ALIGN the skb's
// headroom; XDP_PACKET_HEADROOM the xdp_buff's.
constexpr uint32_t kSkbSharedInfoSize = 320;
constexpr uint32_t kSkbHeadroom = 64;
constexpr uint32_t kXdpHeadroom = 256;
// sizeof(struct xdp_frame): the kernel keeps one in the headroom, in front of the metadata.
constexpr uint32_t kXdpFrameSize = 40;
constexpr uint32_t kGsoLegacyMaxSize = 65536;
constexpr uint32_t kGsoMaxSegs = 65535;
constexpr uint32_t kLoopbackIfindex = 1;

// The run-time contexts: the uapi struct the program reads and writes in
// place, then the real packet pointers that its rewritten loads of
// data / data_end / data_meta read (verifier/prog_types.h).
template <typename Uapi> struct RunContext {
  Uapi uapi;
  CtxPacketPointers ptrs;
};
using SkbContext = RunContext<__sk_buff>;
using XdpContext = RunContext<xdp_md>;
static_assert(offsetof(SkbContext, ptrs) == ctx_packet_pointers_offset(sizeof(__sk_buff)));
static_assert(offsetof(XdpContext, ptrs) == ctx_packet_pointers_offset(sizeof(xdp_md)));

uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t addr(const void *p) { return reinterpret_cast<uintptr_t>(p); }

// bpf_test_run(): run `repeat` times (0 means once) and measure the average.
int run_repeated(const vm::Program &program, void *ctx, uint32_t repeat, uint32_t *retval, uint32_t *duration) {
  if (repeat == 0) repeat = 1;
  RcuReadGuard guard; // one read-side section for every repetition
  const uint64_t start = now_ns();
  int err = 0;
  for (uint32_t i = 0; i < repeat && !err; i++) {
    vm::RunResult r = program.run_under_rcu(addr(ctx));
    err = r.err; // a verified program cannot fail (call depth, budget)
    *retval = static_cast<uint32_t>(r.r0);
  }
  const uint64_t per_run = (now_ns() - start) / repeat;
  tail_call_targets_release();
  if (err) return err;
  *duration = per_run > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(per_run);
  return 0;
}

// bpf_ctx_init(): the context buffer (max_size bytes, zeroed) when ctx_in or
// ctx_out is given, with ctx_in copied in; bytes of ctx_in past max_size must
// be zero (bpf_check_uarg_tail_zero: E2BIG).
int ctx_init(const TestRunRequest &req, const UserMemory &user, size_t max_size, std::vector<uint8_t> *ctx) {
  ctx->clear();
  if (!req.ctx_in && !req.ctx_out) return 0;
  ctx->assign(max_size, 0);
  if (!req.ctx_in) return 0;
  if (req.ctx_size_in > kPageSize) return -E2BIG;
  if (req.ctx_size_in > max_size) {
    std::vector<uint8_t> tail(req.ctx_size_in - max_size);
    if (user.read(tail.data(), req.ctx_in + max_size, tail.size())) return -EFAULT;
    if (std::any_of(tail.begin(), tail.end(), [](uint8_t b) { return b != 0; })) return -E2BIG;
  }
  if (user.read(ctx->data(), req.ctx_in, std::min<size_t>(max_size, req.ctx_size_in))) return -EFAULT;
  return 0;
}

// bpf_test_finish(): data_out gets what fits in data_size_out (0: no limit,
// the old behaviour), the sizes, retval and duration go back.
int test_finish(const TestRunRequest &req, const UserMemory &user, const uint8_t *data, uint32_t size,
                uint32_t retval, uint32_t duration, TestRunReply *reply) {
  int err = 0;
  uint32_t copy_size = size;
  if (req.data_size_out && copy_size > req.data_size_out) {
    copy_size = req.data_size_out;
    err = -ENOSPC;
  }
  if (req.data_out && user.write(req.data_out, data, copy_size)) return -EFAULT;
  reply->data_written = true;
  reply->data_size_out = size;
  reply->retval = retval;
  reply->duration = duration;
  return err;
}

// bpf_ctx_finish()
int ctx_finish(const TestRunRequest &req, const UserMemory &user, const std::vector<uint8_t> &ctx, TestRunReply *reply) {
  if (ctx.empty() || !req.ctx_out) return 0;
  int err = 0;
  uint32_t size = static_cast<uint32_t>(ctx.size()), copy_size = size;
  if (copy_size > req.ctx_size_out) {
    copy_size = req.ctx_size_out;
    err = -ENOSPC;
  }
  if (user.write(req.ctx_out, ctx.data(), copy_size)) return -EFAULT;
  reply->ctx_written = true;
  reply->ctx_size_out = size;
  return err;
}

bool range_is_zero(const std::vector<uint8_t> &buf, size_t from, size_t to) {
  return std::all_of(buf.begin() + static_cast<long>(from), buf.begin() + static_cast<long>(to),
                     [](uint8_t b) { return b == 0; });
}

// ---- network devices of this network namespace (sysfs)

std::string if_name(uint32_t ifindex) {
  char name[IF_NAMESIZE] = {};
  return if_indextoname(ifindex, name) ? std::string(name) : std::string();
}

uint32_t rx_queue_count(const std::string &name) {
  uint32_t n = 0;
  DIR *dir = opendir(("/sys/class/net/" + name + "/queues").c_str());
  if (!dir) return 1;
  while (dirent *e = readdir(dir))
    if (strncmp(e->d_name, "rx-", 3) == 0) n++;
  closedir(dir);
  return n ? n : 1;
}

// A device's link-layer address from sysfs ("address" or "broadcast").
void read_mac(const std::string &name, const char *file, uint8_t mac[ETH_ALEN]) {
  memset(mac, 0, ETH_ALEN);
  FILE *f = fopen(("/sys/class/net/" + name + "/" + file).c_str(), "re");
  if (!f) return;
  unsigned b[ETH_ALEN] = {};
  if (fscanf(f, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) == ETH_ALEN)
    for (int i = 0; i < ETH_ALEN; i++) mac[i] = static_cast<uint8_t>(b[i]);
  fclose(f);
}

struct NetDevice {
  uint32_t ifindex = kLoopbackIfindex;
  uint8_t addr[ETH_ALEN] = {};
  uint8_t broadcast[ETH_ALEN] = {};
};

// The device a test run pretends the packet came in on: loopback, or the
// ctx's ifindex when it names another device (-ENODEV when none has it).
int net_device(uint32_t ifindex, NetDevice *dev) {
  static const NetDevice loopback = [] {
    NetDevice lo;
    read_mac("lo", "address", lo.addr);
    read_mac("lo", "broadcast", lo.broadcast);
    return lo;
  }();
  if (ifindex <= kLoopbackIfindex) {
    *dev = loopback;
    return 0;
  }
  std::string name = if_name(ifindex);
  if (name.empty()) return -ENODEV;
  dev->ifindex = ifindex;
  read_mac(name, "address", dev->addr);
  read_mac(name, "broadcast", dev->broadcast);
  return 0;
}

// eth_type_trans(): the packet type seen from `dev` and the protocol
// (network byte order, as skb->protocol).
void eth_type_trans(const uint8_t *frame, uint32_t size, const NetDevice &dev, uint32_t *pkt_type, uint16_t *protocol) {
  const uint8_t *dest = frame;
  *pkt_type = PACKET_HOST;
  if (memcmp(dest, dev.addr, ETH_ALEN) != 0) {
    if (dest[0] & 1)
      *pkt_type = memcmp(dest, dev.broadcast, ETH_ALEN) == 0 ? PACKET_BROADCAST : PACKET_MULTICAST;
    else
      *pkt_type = PACKET_OTHERHOST;
  }
  uint16_t proto;
  memcpy(&proto, frame + 12, 2);
  if (ntohs(proto) >= ETH_P_802_3_MIN) {
    *protocol = proto;
    return;
  }
  // Novell raw 802.3 (IPX) starts with 0xffff; anything else is 802.2 LLC.
  bool raw_8023 = size >= ETH_HLEN + 2 && frame[ETH_HLEN] == 0xff && frame[ETH_HLEN + 1] == 0xff;
  *protocol = htons(raw_8023 ? ETH_P_802_3 : ETH_P_802_2);
}

// ---- skb programs: bpf_prog_test_run_skb

// convert___skb_to_skb(): only these __sk_buff fields may be set by ctx_in.
int check_skb_ctx_in(const std::vector<uint8_t> &ctx) {
  auto end = [](size_t off, size_t size) { return off + size; };
  const size_t mark = offsetof(__sk_buff, mark), priority = offsetof(__sk_buff, priority),
               ifindex_end = end(offsetof(__sk_buff, ifindex), 4), cb = offsetof(__sk_buff, cb),
               cb_end = end(cb, sizeof(__sk_buff::cb)), tstamp = offsetof(__sk_buff, tstamp),
               gso_segs_end = end(offsetof(__sk_buff, gso_segs), 4), gso_size = offsetof(__sk_buff, gso_size),
               hwtstamp = offsetof(__sk_buff, hwtstamp);
  if (!range_is_zero(ctx, 0, mark) || !range_is_zero(ctx, mark + 4, priority) ||
      !range_is_zero(ctx, ifindex_end, cb) || !range_is_zero(ctx, cb_end, tstamp) ||
      !range_is_zero(ctx, gso_segs_end, gso_size) || !range_is_zero(ctx, gso_size + 4, hwtstamp) ||
      !range_is_zero(ctx, hwtstamp + 8, sizeof(__sk_buff)))
    return -EINVAL;
  return 0;
}

int test_run_skb(const vm::Program &program, uint32_t prog_type, const TestRunRequest &req, const UserMemory &user,
                 TestRunReply *reply) {
  if (req.flags || req.cpu || req.batch_size) return -EINVAL;
  // bpf_test_init()
  const uint32_t size = req.data_size_in;
  if (size < ETH_HLEN || size > kPageSize - kSkbHeadroom - kSkbSharedInfoSize) return -EINVAL;
  std::vector<uint8_t> frame(size);
  if (user.read(frame.data(), req.data_in, size)) return -EFAULT;
  std::vector<uint8_t> ctx_user;
  if (int err = ctx_init(req, user, sizeof(__sk_buff), &ctx_user)) return err;

  // tc programs see the frame from its Ethernet header; the others from the
  // network header (eth_type_trans pulled the Ethernet header).
  const bool is_l2 = prog_type == BPF_PROG_TYPE_SCHED_CLS || prog_type == BPF_PROG_TYPE_SCHED_ACT;

  SkbContext ctx{};
  __sk_buff &skb = ctx.uapi;
  __sk_buff given{};
  if (!ctx_user.empty()) memcpy(&given, ctx_user.data(), sizeof(given));
  NetDevice dev;
  if (int err = net_device(ctx_user.empty() ? 0 : given.ifindex, &dev)) return err;
  uint16_t protocol = 0;
  eth_type_trans(frame.data(), size, dev, &skb.pkt_type, &protocol);
  skb.protocol = protocol;
  skb.ifindex = dev.ifindex;
  const uint8_t *l3 = frame.data() + ETH_HLEN;
  const uint32_t l3_len = size - ETH_HLEN;
  // The test run's socket: its family and addresses come from the IP header.
  if (protocol == htons(ETH_P_IP)) {
    skb.family = AF_INET;
    if (l3_len >= sizeof(iphdr)) {
      memcpy(&skb.local_ip4, l3 + offsetof(iphdr, saddr), 4);
      memcpy(&skb.remote_ip4, l3 + offsetof(iphdr, daddr), 4);
    }
  } else if (protocol == htons(ETH_P_IPV6)) {
    skb.family = AF_INET6;
    if (l3_len >= sizeof(ipv6hdr)) {
      memcpy(skb.local_ip6, l3 + offsetof(ipv6hdr, saddr), 16);
      memcpy(skb.remote_ip6, l3 + offsetof(ipv6hdr, daddr), 16);
    }
  }
  uint8_t *data = is_l2 ? frame.data() : frame.data() + ETH_HLEN;
  skb.len = is_l2 ? size : l3_len;
  ctx.ptrs.data = addr(data);
  ctx.ptrs.data_meta = addr(data);
  ctx.ptrs.data_end = addr(data) + skb.len;
  ctx.ptrs.mac_header = addr(frame.data());

  // convert___skb_to_skb()
  if (!ctx_user.empty()) {
    if (int err = check_skb_ctx_in(ctx_user)) return err;
    skb.mark = given.mark;
    skb.priority = given.priority;
    skb.ingress_ifindex = given.ingress_ifindex;
    skb.tstamp = given.tstamp;
    memcpy(skb.cb, given.cb, sizeof(skb.cb));
    if (given.wire_len == 0) {
      skb.wire_len = skb.len;
    } else {
      if (given.wire_len < skb.len || given.wire_len > kGsoLegacyMaxSize) return -EINVAL;
      skb.wire_len = given.wire_len;
    }
    if (given.gso_segs > kGsoMaxSegs) return -EINVAL;
    skb.gso_segs = given.gso_segs;
    skb.gso_size = given.gso_size;
    skb.hwtstamp = given.hwtstamp;
  } else {
    skb.wire_len = skb.len;
  }

  uint32_t retval = 0, duration = 0;
  if (int err = run_repeated(program, &ctx, req.repeat, &retval, &duration)) return err;
  // The kernel gives the frame back from the MAC header; for the types that
  // ran without it, that header comes back zeroed.
  if (!is_l2) memset(frame.data(), 0, ETH_HLEN);

  // convert_skb_to___skb()
  if (!ctx_user.empty()) {
    __sk_buff out;
    memcpy(&out, ctx_user.data(), sizeof(out));
    out.mark = skb.mark;
    out.priority = skb.priority;
    out.ingress_ifindex = skb.ingress_ifindex;
    out.ifindex = dev.ifindex;
    out.tstamp = skb.tstamp;
    memcpy(out.cb, skb.cb, sizeof(out.cb));
    out.wire_len = skb.wire_len;
    out.gso_segs = skb.gso_segs;
    out.hwtstamp = skb.hwtstamp;
    memcpy(ctx_user.data(), &out, sizeof(out));
  }
  if (int err = test_finish(req, user, frame.data(), size, retval, duration, reply)) return err;
  return ctx_finish(req, user, ctx_user, reply);
}

// ---- XDP: bpf_prog_test_run_xdp

// Does device `ifindex` have receive queue `queue`? -ENODEV / -EINVAL as
// xdp_convert_md_to_buff().
int check_rx_queue(uint32_t ifindex, uint32_t queue) {
  std::string name = if_name(ifindex);
  if (name.empty()) return -ENODEV;
  return queue < rx_queue_count(name) ? 0 : -EINVAL;
}

int test_run_xdp(const vm::Program &program, uint32_t expected_attach_type, const TestRunRequest &req,
                 const UserMemory &user, TestRunReply *reply) {
  if (expected_attach_type == BPF_XDP_DEVMAP || expected_attach_type == BPF_XDP_CPUMAP) return -EINVAL;
  if (req.flags & ~BPF_F_TEST_XDP_LIVE_FRAMES) return -EINVAL;
  const bool live = req.flags & BPF_F_TEST_XDP_LIVE_FRAMES;
  if (!live && req.batch_size) return -EINVAL;
  std::vector<uint8_t> ctx_user;
  if (int err = ctx_init(req, user, sizeof(xdp_md), &ctx_user)) return err;
  xdp_md given{};
  if (!ctx_user.empty()) memcpy(&given, ctx_user.data(), sizeof(given));
  uint32_t headroom = kXdpHeadroom;
  uint32_t size = req.data_size_in;
  uint32_t linear_size = size; // bytes in the buffer; the rest would go to fragments
  if (!ctx_user.empty()) {
    // No user data before the metadata; the metadata is a multiple of 4 and
    // leaves room for the kernel's struct xdp_frame in the headroom; data_end
    // (from the metadata's start) is where the linear part ends.
    if (given.data_meta || given.data_end > size || given.data > given.data_end || (given.data & 3) ||
        given.data > kXdpHeadroom - kXdpFrameSize)
      return -EINVAL;
    headroom -= given.data; // the metadata comes out of the headroom
    linear_size = given.data_end;
  }
  // Live frames (BPF_F_TEST_XDP_LIVE_FRAMES) hand XDP_PASS / XDP_TX /
  // XDP_REDIRECT packets to a network stack, which userbpf does not have.
  if (live) return -EOPNOTSUPP;
  // bpf_test_init(): at least an Ethernet header after the metadata.
  if (size - given.data < ETH_HLEN) return -EINVAL;
  // What does not fit one page, or lies past a ctx's data_end, goes to
  // fragments in the kernel (multi-buffer XDP), which userbpf's XDP buffer
  // does not have yet.
  const uint32_t max_linear = kPageSize - headroom - kSkbSharedInfoSize;
  if (linear_size > max_linear || linear_size < size) return -EOPNOTSUPP;
  // The kernel's frame is one page (frame_sz): headroom, the packet, room
  // for bpf_xdp_adjust_tail to grow it, and the skb_shared_info tailroom.
  std::vector<uint8_t> buffer(kPageSize);
  uint8_t *data = buffer.data() + headroom;
  if (user.read(data, req.data_in, size)) return -EFAULT;

  // xdp_convert_md_to_buff(): the receive queue, and the metadata in front of data.
  if (!ctx_user.empty()) {
    if (given.egress_ifindex) return -EINVAL;
    if (!given.ingress_ifindex && given.rx_queue_index) return -EINVAL;
    if (given.ingress_ifindex)
      if (int err = check_rx_queue(given.ingress_ifindex, given.rx_queue_index)) return err;
  }
  XdpContext ctx{};
  ctx.uapi.ingress_ifindex = given.ingress_ifindex ? given.ingress_ifindex : kLoopbackIfindex;
  ctx.uapi.rx_queue_index = given.rx_queue_index;
  ctx.ptrs.data_hard_start = addr(buffer.data());
  ctx.ptrs.data_hard_end = addr(buffer.data()) + kPageSize - kSkbSharedInfoSize;
  ctx.ptrs.data_meta = addr(data);
  ctx.ptrs.data = addr(data) + given.data;
  ctx.ptrs.data_end = addr(data) + size;

  uint32_t retval = 0, duration = 0;
  if (int err = run_repeated(program, &ctx, req.repeat, &retval, &duration)) return err;

  // xdp_convert_buff_to_md(), then the packet from its metadata on.
  if (!ctx_user.empty()) {
    given.data = static_cast<uint32_t>(ctx.ptrs.data - ctx.ptrs.data_meta);
    given.data_end = static_cast<uint32_t>(ctx.ptrs.data_end - ctx.ptrs.data_meta);
    memcpy(ctx_user.data(), &given, sizeof(given));
  }
  const uint8_t *out = reinterpret_cast<const uint8_t *>(static_cast<uintptr_t>(ctx.ptrs.data_meta));
  const uint32_t out_size = static_cast<uint32_t>(ctx.ptrs.data_end - ctx.ptrs.data_meta);
  if (int err = test_finish(req, user, out, out_size, retval, duration, reply)) return err;
  return ctx_finish(req, user, ctx_user, reply);
}

// ---- raw tracepoints and syscall programs: the context is ctx_in itself

// Run once with r1 = ctx (nullptr when size is 0) and report retval.
int run_on_buffer(const vm::Program &program, std::vector<uint8_t> *ctx, TestRunReply *reply) {
  uint32_t retval = 0, duration = 0;
  if (int err = run_repeated(program, ctx->empty() ? nullptr : ctx->data(), 1, &retval, &duration)) return err;
  reply->retval_written = true;
  reply->retval = retval;
  return 0;
}

// bpf_prog_test_run_raw_tp: ctx_in holds the arguments (at most 12 u64),
// at least as many bytes as the program reads; optionally on a given CPU.
int test_run_raw_tp(const vm::Program &program, uint32_t max_ctx_offset, const TestRunRequest &req,
                    const UserMemory &user, TestRunReply *reply) {
  constexpr uint32_t kMaxArgsSize = 12 * 8;
  if (req.data_in || req.data_out || req.ctx_out || req.duration || req.repeat || req.batch_size) return -EINVAL;
  if (req.ctx_size_in < max_ctx_offset || req.ctx_size_in > kMaxArgsSize) return -EINVAL;
  const bool on_cpu = req.flags & BPF_F_TEST_RUN_ON_CPU;
  if (!on_cpu && req.cpu != 0) return -EINVAL;
  std::vector<uint8_t> ctx(req.ctx_size_in);
  if (user.read(ctx.data(), req.ctx_in, ctx.size())) return -EFAULT;
  if (!on_cpu || static_cast<int>(req.cpu) == sched_getcpu()) return run_on_buffer(program, &ctx, reply);
  // The kernel runs it on that CPU (smp_call_function_single): so do we,
  // by moving this thread there for the run.
  cpu_set_t saved, one;
  if (sched_getaffinity(0, sizeof(saved), &saved) != 0) return -ENXIO;
  CPU_ZERO(&one);
  if (req.cpu >= CPU_SETSIZE) return -ENXIO;
  CPU_SET(req.cpu, &one);
  if (sched_setaffinity(0, sizeof(one), &one) != 0) return -ENXIO; // no such CPU, or offline
  int err = run_on_buffer(program, &ctx, reply);
  sched_setaffinity(0, sizeof(saved), &saved);
  return err;
}

// bpf_prog_test_run_syscall: ctx_in is the context, written back after the run.
int test_run_syscall(const vm::Program &program, uint32_t max_ctx_offset, const TestRunRequest &req,
                     const UserMemory &user, TestRunReply *reply) {
  constexpr uint32_t kMaxCtxSize = 0xffff;
  if (req.data_in || req.data_out || req.ctx_out || req.duration || req.repeat || req.flags || req.batch_size)
    return -EINVAL;
  if (req.ctx_size_in < max_ctx_offset || req.ctx_size_in > kMaxCtxSize) return -EINVAL;
  std::vector<uint8_t> ctx(req.ctx_size_in);
  if (user.read(ctx.data(), req.ctx_in, ctx.size())) return -EFAULT;
  if (int err = run_on_buffer(program, &ctx, reply)) return err;
  return user.write(req.ctx_in, ctx.data(), ctx.size());
}

} // namespace

int prog_test_run(Object &prog, const TestRunRequest &req, const UserMemory &user, TestRunReply *reply) {
  const ProgHeader &ph = prog.hdr->prog;
  switch (ph.prog_type) {
  case BPF_PROG_TYPE_SOCKET_FILTER:
  case BPF_PROG_TYPE_SCHED_CLS:
  case BPF_PROG_TYPE_SCHED_ACT:
  case BPF_PROG_TYPE_CGROUP_SKB:
  case BPF_PROG_TYPE_XDP:
  case BPF_PROG_TYPE_RAW_TRACEPOINT:
  case BPF_PROG_TYPE_SYSCALL:
    break;
  default: // KPROBE, TRACEPOINT, PERF_EVENT, ...
    return -kENOTSUPP; // no test_run in the type's bpf_prog_ops
  }
  int err = 0;
  const vm::Program *program = prog_runtime(prog, &err);
  if (!program) return err;
  if (ph.prog_type == BPF_PROG_TYPE_XDP) return test_run_xdp(*program, ph.expected_attach_type, req, user, reply);
  if (ph.prog_type == BPF_PROG_TYPE_RAW_TRACEPOINT) return test_run_raw_tp(*program, ph.max_ctx_offset, req, user, reply);
  if (ph.prog_type == BPF_PROG_TYPE_SYSCALL) return test_run_syscall(*program, ph.max_ctx_offset, req, user, reply);
  return test_run_skb(*program, ph.prog_type, req, user, reply);
}

} // namespace userbpf
