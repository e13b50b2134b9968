// Differential test of BPF_PROG_TEST_RUN with clang-compiled programs: the
// same object (tests/test_run/progs.c, built with clang -target bpf -O2 -g)
// is opened and loaded by libbpf into userbpf and into the kernel, every
// program runs on the same packets, and the return values, output packets,
// contexts and map contents must be the same on both sides.
//
// Each backend runs in a child process (libbpf caches its feature probes per
// process); this binary's syscall() sends libbpf's __NR_bpf to userbpf_bpf()
// in the userbpf child. The children print one line per observation; the
// parent compares the two transcripts line by line. Without the kernel's
// bpf() the comparison is skipped, but the userbpf transcript is still
// checked against the values the programs must produce.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>

#include "bpf_router.h"
#include "bpf_test_util.h"

namespace {

std::string hex(const uint8_t *p, size_t n) {
  std::string s;
  char b[3];
  for (size_t i = 0; i < n; i++) {
    snprintf(b, sizeof b, "%02x", p[i]);
    s += b;
  }
  return s;
}

// Frames: Ethernet + IPv4 (protocol, addresses) or other EtherTypes.
std::vector<uint8_t> frame(uint16_t ethertype, uint8_t ip_proto, uint8_t daddr_last, size_t size) {
  std::vector<uint8_t> f(size, 0);
  const uint8_t dst[6] = {0x02, 0, 0, 0, 0, 2}, src[6] = {0x02, 0, 0, 0, 0, 1};
  memcpy(f.data(), dst, 6);
  memcpy(f.data() + 6, src, 6);
  f[12] = static_cast<uint8_t>(ethertype >> 8);
  f[13] = static_cast<uint8_t>(ethertype);
  if (ethertype == ETH_P_IP) {
    f[14] = 0x45;
    f[14 + 8] = 64;        // ttl
    f[14 + 9] = ip_proto;  // protocol
    const uint8_t saddr[4] = {10, 0, 0, 1}, daddr[4] = {10, 0, 0, daddr_last};
    memcpy(f.data() + 14 + 12, saddr, 4);
    memcpy(f.data() + 14 + 16, daddr, 4);
  }
  for (size_t i = 34; i < size; i++) f[i] = static_cast<uint8_t>(i * 7);
  return f;
}

struct Frames {
  std::vector<uint8_t> tcp = frame(ETH_P_IP, 6, 2, 64);
  std::vector<uint8_t> udp = frame(ETH_P_IP, 17, 3, 80);
  std::vector<uint8_t> icmp = frame(ETH_P_IP, 1, 2, 60);
  std::vector<uint8_t> ipv6 = frame(ETH_P_IPV6, 0, 0, 80);
  std::vector<uint8_t> arp = frame(ETH_P_ARP, 0, 0, 42);
};

// A frame carrying the redirect and tail programs' arguments (progs.c,
// packet_args): a u64 at offset 34 and a u32 at offset 42, little-endian.
std::vector<uint8_t> with_args(std::vector<uint8_t> f, uint64_t a, uint32_t b = 0) {
  memcpy(f.data() + 34, &a, sizeof(a));
  memcpy(f.data() + 42, &b, sizeof(b));
  return f;
}
// Two s32 for xdp_tail_args: the first adjustment, then the second.
uint64_t two_deltas(int32_t first, int32_t second) {
  return static_cast<uint32_t>(first) | static_cast<uint64_t>(static_cast<uint32_t>(second)) << 32;
}

// One test run; prints "NAME: ret=.. retval=.. size=.. data=.." (and ctx).
// data_out has room for the input and out_room more bytes.
void run_case(FILE *out, const char *name, int prog_fd, const std::vector<uint8_t> &in, __sk_buff *skb_ctx = nullptr,
              size_t out_room = 64) {
  std::vector<uint8_t> data_out(in.size() + out_room);
  __sk_buff ctx_out{};
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in.data(), .data_out = data_out.data(),
              .data_size_in = static_cast<__u32>(in.size()), .data_size_out = static_cast<__u32>(data_out.size()),
              .repeat = 1);
  if (skb_ctx) {
    opts.ctx_in = skb_ctx;
    opts.ctx_size_in = sizeof(*skb_ctx);
    opts.ctx_out = &ctx_out;
    opts.ctx_size_out = sizeof(ctx_out);
  }
  int ret = bpf_prog_test_run_opts(prog_fd, &opts);
  fprintf(out, "%s: ret=%d retval=%u size=%u data=%s", name, ret < 0 ? -errno : ret, opts.retval, opts.data_size_out,
          hex(data_out.data(), std::min<size_t>(opts.data_size_out, data_out.size())).c_str());
  if (skb_ctx)
    fprintf(out, " mark=%u priority=%u cb=%u,%u,%u wire_len=%u", ctx_out.mark, ctx_out.priority, ctx_out.cb[0],
            ctx_out.cb[1], ctx_out.cb[2], ctx_out.wire_len);
  fprintf(out, "\n");
}

void dump_map(FILE *out, bpf_object *obj, const char *name) {
  int fd = bpf_object__find_map_fd_by_name(obj, name);
  uint32_t key = 0, next = 0;
  const void *prev = nullptr;
  std::vector<std::pair<uint32_t, uint64_t>> entries;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    uint64_t value = 0;
    if (bpf_map_lookup_elem(fd, &next, &value) == 0 && value) entries.emplace_back(next, value);
    key = next;
    prev = &key;
  }
  std::sort(entries.begin(), entries.end());
  for (const auto &[k, v] : entries) fprintf(out, "map %s[%u] = %llu\n", name, k, static_cast<unsigned long long>(v));
}

int prog_fd(bpf_object *obj, const char *name) {
  bpf_program *p = bpf_object__find_program_by_name(obj, name);
  return p ? bpf_program__fd(p) : -1;
}

// raw_current test-run in this thread: do the current-task helpers name it?
// (Its global variables, in the object's .bss, hold what they said.)
void print_current_task(FILE *out, bpf_object *obj) {
  uint64_t args[1] = {0};
  LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = args, .ctx_size_in = sizeof(args));
  int ret = bpf_prog_test_run_opts(prog_fd(obj, "raw_current"), &opts);
  struct {
    uint64_t pid_tgid, uid_gid;
    char comm[16];
  } seen{};
  int bss = -1;
  for (bpf_map *m = bpf_object__next_map(obj, nullptr); m; m = bpf_object__next_map(obj, m))
    if (strstr(bpf_map__name(m), ".bss")) bss = bpf_map__fd(m);
  uint32_t zero = 0;
  int got = bpf_map_lookup_elem(bss, &zero, &seen);
  char comm[16] = {};
  prctl(PR_GET_NAME, comm, 0, 0, 0);
  const uint64_t pid_tgid = static_cast<uint64_t>(getpid()) << 32 | static_cast<uint32_t>(gettid());
  const uint64_t uid_gid = static_cast<uint64_t>(getgid()) << 32 | getuid();
  fprintf(out, "current task: ret=%d retval=%u read=%d pid_tgid %s uid_gid %s comm %s\n", ret < 0 ? -errno : ret,
          opts.retval, got, seen.pid_tgid == pid_tgid ? "ours" : "other", seen.uid_gid == uid_gid ? "ours" : "other",
          strncmp(seen.comm, comm, sizeof(comm)) == 0 ? "ours" : "other");
}

// The child: load the object and run every case, printing the transcript.
void transcript(FILE *out) {
  libbpf_set_print([](enum libbpf_print_level level, const char *fmt, va_list ap) {
    return level == LIBBPF_DEBUG ? 0 : vfprintf(stderr, fmt, ap);
  });
  bpf_object *obj = bpf_object__open_file(UBT_TEST_RUN_OBJ, nullptr);
  if (!obj) {
    fprintf(out, "open: %s\n", strerror(errno));
    return;
  }
  if (int err = bpf_object__load(obj)) {
    fprintf(out, "load: %s\n", strerror(-err));
    bpf_object__close(obj);
    return;
  }
  Frames f;
  int fw = prog_fd(obj, "xdp_firewall");
  run_case(out, "firewall tcp", fw, f.tcp);
  run_case(out, "firewall udp", fw, f.udp);
  run_case(out, "firewall icmp", fw, f.icmp);
  run_case(out, "firewall ipv6", fw, f.ipv6);
  run_case(out, "firewall arp", fw, f.arp);
  run_case(out, "firewall tcp again", fw, f.tcp);
  dump_map(out, obj, "proto_packets");
  dump_map(out, obj, "bytes_by_daddr");
  run_case(out, "tagger tcp", prog_fd(obj, "xdp_tagger"), f.tcp);
  int jump = prog_fd(obj, "xdp_jump");
  run_case(out, "jump, empty slot", jump, f.tcp);
  uint32_t slot = 1, target = static_cast<uint32_t>(prog_fd(obj, "xdp_jump_target"));
  fprintf(out, "jump_table[1] = target: %d\n",
          bpf_map_update_elem(bpf_object__find_map_fd_by_name(obj, "jump_table"), &slot, &target, BPF_ANY) ? -errno : 0);
  run_case(out, "jump, target", jump, f.tcp);
  int tc = prog_fd(obj, "tc_marker");
  __sk_buff ctx{};
  ctx.priority = 7;
  ctx.cb[4] = 9;
  run_case(out, "tc tcp", tc, f.tcp, &ctx);
  run_case(out, "tc arp", tc, f.arp, &ctx);
  int sock = prog_fd(obj, "sock_trim");
  run_case(out, "socket tcp", sock, f.tcp);
  run_case(out, "socket ipv6", sock, f.ipv6);
  int cg = prog_fd(obj, "cgskb_filter");
  run_case(out, "cgroup tcp", cg, f.tcp);
  run_case(out, "cgroup arp", cg, f.arp);
  int load = prog_fd(obj, "sock_load_bytes");
  run_case(out, "socket load_bytes tcp", load, f.tcp);
  run_case(out, "socket load_bytes ipv6", load, f.ipv6);
  int tc_load = prog_fd(obj, "tc_load_bytes");
  run_case(out, "tc load_bytes tcp", tc_load, f.tcp);
  run_case(out, "tc load_bytes arp", tc_load, f.arp);
  run_case(out, "socket clocks", prog_fd(obj, "sock_clocks"), f.tcp);
  int relative = prog_fd(obj, "sock_load_relative");
  run_case(out, "socket load_relative tcp", relative, f.tcp);
  run_case(out, "socket load_relative arp", relative, f.arp);
  print_current_task(out, obj);
  run_case(out, "tc pull_data tcp", prog_fd(obj, "tc_pull_data"), f.tcp);
  run_case(out, "tc index width", prog_fd(obj, "tc_index_width"), f.tcp);
  run_case(out, "tc nat tcp", prog_fd(obj, "tc_nat"), f.tcp);
  run_case(out, "tc nat udp", prog_fd(obj, "tc_nat"), f.udp);
  int tc_store = prog_fd(obj, "tc_store_bytes");
  run_case(out, "tc store_bytes tcp", tc_store, f.tcp);
  run_case(out, "tc store_bytes arp", tc_store, f.arp);
  int loops = prog_fd(obj, "xdp_loops");
  run_case(out, "loops tcp", loops, f.tcp);
  run_case(out, "loops arp", loops, f.arp);
  dump_map(out, obj, "proto_packets");
  // bpf_redirect: XDP's verdicts (XDP_REDIRECT; XDP_ABORTED for any flag)
  // and tc's (TC_ACT_REDIRECT; TC_ACT_SHOT for flags past BPF_F_INGRESS).
  int xdp_redirect = prog_fd(obj, "xdp_redirect_args");
  run_case(out, "xdp redirect", xdp_redirect, with_args(f.tcp, 0, 1));
  run_case(out, "xdp redirect no such ifindex", xdp_redirect, with_args(f.tcp, 0, 0xfffffff0));
  run_case(out, "xdp redirect ingress flag", xdp_redirect, with_args(f.tcp, BPF_F_INGRESS, 1));
  run_case(out, "xdp redirect high flag", xdp_redirect, with_args(f.tcp, 1ull << 32, 1));
  int tc_redirect = prog_fd(obj, "tc_redirect_args");
  __sk_buff tc_ctx{};
  run_case(out, "tc redirect", tc_redirect, with_args(f.tcp, 0, 1), &tc_ctx);
  run_case(out, "tc redirect ingress", tc_redirect, with_args(f.tcp, BPF_F_INGRESS, 1), &tc_ctx);
  run_case(out, "tc redirect flag 2", tc_redirect, with_args(f.tcp, 2, 1), &tc_ctx);
  run_case(out, "tc redirect high flag", tc_redirect, with_args(f.tcp, 1ull << 32, 1), &tc_ctx);
  // bpf_xdp_adjust_tail on a 64-byte frame in the test run's one-page buffer
  // (256 bytes of headroom, 320 of skb_shared_info tailroom: at most 3520
  // bytes): shrink, grow, both limits and one past each, shrink then grow.
  int tail = prog_fd(obj, "xdp_tail_args");
  run_case(out, "tail shrink 4", tail, with_args(f.tcp, two_deltas(-4, 0)));
  run_case(out, "tail shrink to ETH_HLEN", tail, with_args(f.tcp, two_deltas(-50, 0)));
  run_case(out, "tail shrink past ETH_HLEN", tail, with_args(f.tcp, two_deltas(-51, 0)));
  run_case(out, "tail shrink INT_MIN", tail, with_args(f.tcp, two_deltas(INT32_MIN, 0)));
  run_case(out, "tail grow 16", tail, with_args(f.tcp, two_deltas(16, 0)));
  run_case(out, "tail grow 16 no room", tail, with_args(f.tcp, two_deltas(16, 0)), nullptr, 8);
  run_case(out, "tail grow to the limit", tail, with_args(f.tcp, two_deltas(3456, 0)), nullptr, 3456);
  run_case(out, "tail grow past the limit", tail, with_args(f.tcp, two_deltas(3457, 0)));
  run_case(out, "tail grow INT_MAX", tail, with_args(f.tcp, two_deltas(INT32_MAX, 0)));
  run_case(out, "tail shrink 8 grow 8", tail, with_args(f.tcp, two_deltas(-8, 8)));
  run_case(out, "tail grow 100 shrink past", tail, with_args(f.tcp, two_deltas(100, -151)));
  // bpf_xdp_get_buff_len / load_bytes / store_bytes: the packet comes back
  // with its source MAC replaced and its last 4 bytes 0x22.
  run_case(out, "xdp bytes tcp", prog_fd(obj, "xdp_bytes"), f.tcp);
  run_case(out, "xdp bytes arp", prog_fd(obj, "xdp_bytes"), f.arp);
  run_case(out, "for_each tcp", prog_fd(obj, "xdp_for_each"), f.tcp);
  dump_map(out, obj, "for_each_scratch");
  bpf_object__close(obj);
}

// Run transcript() in a child for one backend; its output.
std::string child_transcript(bool userbpf) {
  int fds[2];
  if (pipe(fds) != 0) return "pipe failed";
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    std::string root;
    if (userbpf) {
      root = ubt::use_private_fs_root();
      ubt::t_backend = ubt::Backend::kUserbpf;
    }
    FILE *out = fdopen(fds[1], "w");
    transcript(out);
    fclose(out);
    if (!root.empty()) ubt::remove_fs_root(root); // _exit runs no exit handler
    _exit(0);
  }
  close(fds[1]);
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) text += "child failed\n";
  return text;
}

bool has_line(const std::string &text, const std::string &prefix) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line))
    if (line.rfind(prefix, 0) == 0) return true;
  return false;
}

TEST(DiffTestRun, ClangProgramsGiveTheKernelsResults) {
  std::string ours = child_transcript(true);
  // What the programs must do, whatever the kernel says.
  EXPECT_TRUE(has_line(ours, "firewall tcp: ret=0 retval=2 size=64")) << ours;
  EXPECT_TRUE(has_line(ours, "firewall icmp: ret=0 retval=1 size=60")) << ours;
  EXPECT_TRUE(has_line(ours, "map proto_packets[6] = 2")) << ours;
  EXPECT_TRUE(has_line(ours, "tagger tcp: ret=0 retval=3 size=76 data=0807060504030201deadbeef")) << ours;
  EXPECT_TRUE(has_line(ours, "jump, empty slot: ret=0 retval=1")) << ours;
  EXPECT_TRUE(has_line(ours, "jump, target: ret=0 retval=3 size=64 data=42")) << ours;
  EXPECT_TRUE(has_line(ours, "socket tcp: ret=0 retval=46")) << ours;
  EXPECT_TRUE(has_line(ours, "socket load_bytes tcp: ret=0 retval=2567")) << ours; // 10.x.x.x, 1|2|4
  EXPECT_TRUE(has_line(ours, "tc load_bytes tcp: ret=0 retval=524291")) << ours; // 0x0800 << 8 | 1 | 2
  EXPECT_TRUE(has_line(ours, "socket clocks: ret=0 retval=7")) << ours;
  EXPECT_TRUE(has_line(ours, "tc store_bytes tcp: ret=0 retval=31 size=64 data=0a0b0c0d0e0f")) << ours;
  EXPECT_TRUE(has_line(ours, "socket load_relative tcp: ret=0 retval=134219327")) << ours; // 0x0800 << 16 | 6 << 8 | 63
  EXPECT_TRUE(has_line(ours, "current task: ret=0 retval=0 read=0 pid_tgid ours uid_gid ours comm ours")) << ours;
  EXPECT_TRUE(has_line(ours, "tc pull_data tcp: ret=0 retval=519")) << ours; // 7, first byte 2
  EXPECT_TRUE(has_line(ours, "tc nat tcp: ret=0 retval=2047")) << ours;      // every case as the kernel
  EXPECT_TRUE(has_line(ours, "tc index width: ret=0 retval=36982848")) << ours; // 0x2345 << 12 | 64
  // bpf_loop: payload bytes 34..63 summed (0xcc9; 30 iterations, the 31st
  // stops: 31), 8 (stopped at index 7), -EINVAL, -E2BIG, 8 again, then 4
  // outer iterations with 3 inner ones each (4 | 12 << 8).
  EXPECT_TRUE(has_line(ours, "loops tcp: ret=0 retval=2 size=64 data=c90c00001f00000008000000eaffffff"
                             "f9ffffff08000000040c0000")) << ours;
  EXPECT_TRUE(has_line(ours, "map proto_packets[6] = 802")) << ours; // 2 + 2 runs x 4 outer iterations x 100
  EXPECT_TRUE(has_line(ours, "xdp redirect: ret=0 retval=4 size=64")) << ours;                  // XDP_REDIRECT
  EXPECT_TRUE(has_line(ours, "xdp redirect ingress flag: ret=0 retval=0 size=64")) << ours;     // XDP_ABORTED
  EXPECT_TRUE(has_line(ours, "tc redirect ingress: ret=0 retval=7 size=64")) << ours;           // TC_ACT_REDIRECT
  EXPECT_TRUE(has_line(ours, "tc redirect flag 2: ret=0 retval=2 size=64")) << ours;            // TC_ACT_SHOT
  EXPECT_TRUE(has_line(ours, "tail shrink 4: ret=0 retval=3 size=60")) << ours;
  EXPECT_TRUE(has_line(ours, "tail shrink past ETH_HLEN: ret=0 retval=122 size=64")) << ours;   // 100 + EINVAL
  EXPECT_TRUE(has_line(ours, "tail grow 16: ret=0 retval=3 size=80")) << ours;
  EXPECT_TRUE(has_line(ours, "tail grow to the limit: ret=0 retval=3 size=3520")) << ours;
  EXPECT_TRUE(has_line(ours, "tail grow past the limit: ret=0 retval=122 size=64")) << ours;
  EXPECT_TRUE(has_line(ours, "xdp bytes tcp: ret=0 retval=16511 size=64 data=020000000002020000000002")) << ours; // 64 << 8 | 0x7f
  // bpf_for_each_map_elem: 256 array elements (keys 0..255 sum to 0x7f80,
  // values to 804), stopped at key 5 (6), -EINVAL, the 2 hash elements
  // (268 bytes), 10 scratch elements (squares: 385) of which 5 are left
  // (evens doubled: 440).
  EXPECT_TRUE(has_line(ours, "for_each tcp: ret=0 retval=2 size=64 data=0001000000010000807f00002403000006000000"
                             "eaffffff020000000c0100000a0000008101000005000000b8010000")) << ours;
  EXPECT_TRUE(has_line(ours, "map for_each_scratch[10] = 200")) << ours;
  EXPECT_FALSE(has_line(ours, "map for_each_scratch[9]")) << ours;
  std::string why;
  if (!ubt::kernel_bpf_available(&why)) GTEST_SKIP() << why;
  std::string kernel = child_transcript(false);
  std::istringstream a(ours), b(kernel);
  std::string la, lb;
  int line = 0;
  while (true) {
    bool ga = static_cast<bool>(std::getline(a, la)), gb = static_cast<bool>(std::getline(b, lb));
    if (!ga && !gb) break;
    line++;
    EXPECT_EQ(la, lb) << "line " << line << " (userbpf, then kernel)";
  }
  if (HasFailure() || getenv("UBT_TEST_RUN_VERBOSE")) std::cerr << "userbpf:\n" << ours << "kernel:\n" << kernel;
}

} // namespace
