// xdp-firewall-replay: the main demo's program. It loads the XDP firewall
// (firewall.bpf.c, embedded as a libbpf skeleton) with Debian's unmodified
// libbpf, whose bpf() calls reach userbpf because this program is linked
// with libuserbpf (no root, no kernel BPF); fills in the program's settings
// and blocklist; runs every packet of a pcap capture through it with
// BPF_PROG_TEST_RUN; and prints the per-protocol counters the program kept in
// its maps and a pass/drop summary.
//
//   xdp-firewall-replay [--block ADDR]... [--block-tcp-port N]
//                       [--block-udp-port N] CAPTURE.pcap
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "capture.h"
#include "firewall.h"
#include "firewall.skel.h"

namespace {

struct Options {
  std::vector<std::string> block;
  long tcp_port = 0, udp_port = 0;
  const char *capture = nullptr;
};

int usage(const char *argv0) {
  fprintf(stderr, "usage: %s [--block ADDR]... [--block-tcp-port N] [--block-udp-port N] CAPTURE.pcap\n", argv0);
  return 2;
}

bool parse_port(const char *text, long *out) {
  char *end = nullptr;
  long v = strtol(text, &end, 10);
  if (!end || *end || v < 1 || v > 65535) return false;
  *out = v;
  return true;
}

// libbpf's own messages: warnings and errors only (the verifier's log on a
// rejected program comes this way).
int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list args) {
  if (level == LIBBPF_DEBUG || level == LIBBPF_INFO) return 0;
  // userbpf charges maps to RLIMIT_MEMLOCK as kernels before 5.11 did, so
  // libbpf tries to raise that limit to infinity, which a normal user may not
  // do; it warns and goes on. This program's maps fit well inside the
  // default limit: the warning is noise here.
  if (strstr(fmt, "RLIMIT_MEMLOCK")) return 0;
  return vfprintf(stderr, fmt, args);
}

// A progress bar on stderr, for captures big enough to wait for, when
// stderr is a terminal.
class Progress {
 public:
  explicit Progress(const Capture &capture) : capture_(capture), shown_(isatty(STDERR_FILENO)) {}
  void update() {
    if (!shown_ || ++calls_ % 512 != 0) return;
    int percent = static_cast<int>(100.0 * capture_.fraction_read());
    if (percent == last_) return;
    last_ = percent;
    char bar[41];
    int filled = percent * 40 / 100;
    for (int i = 0; i < 40; i++) bar[i] = i < filled ? '#' : '.';
    bar[40] = '\0';
    fprintf(stderr, "\r  [%s] %3d%%", bar, percent);
  }
  void done() {
    if (shown_ && last_ >= 0) fprintf(stderr, "\r%60s\r", "");
  }

 private:
  const Capture &capture_;
  bool shown_;
  long calls_ = 0;
  int last_ = -1;
};

const char *const kProtoNames[PROTO_COUNT] = {"IPv4 TCP", "IPv4 UDP", "IPv4 ICMP", "IPv4 other", "IPv6 TCP",
                                              "IPv6 UDP", "IPv6 ICMP", "IPv6 other", "ARP",        "other"};

} // namespace

int main(int argc, char **argv) {
  Options opt;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--block" && i + 1 < argc) opt.block.push_back(argv[++i]);
    else if (a == "--block-tcp-port" && i + 1 < argc) {
      if (!parse_port(argv[++i], &opt.tcp_port)) return usage(argv[0]);
    } else if (a == "--block-udp-port" && i + 1 < argc) {
      if (!parse_port(argv[++i], &opt.udp_port)) return usage(argv[0]);
    } else if (a[0] != '-' && !opt.capture) opt.capture = argv[i];
    else return usage(argv[0]);
  }
  if (!opt.capture) return usage(argv[0]);
  std::vector<uint32_t> blocked;
  for (const std::string &text : opt.block) {
    in_addr a;
    if (inet_pton(AF_INET, text.c_str(), &a) != 1) {
      fprintf(stderr, "%s: --block %s: not an IPv4 address\n", argv[0], text.c_str());
      return 2;
    }
    blocked.push_back(a.s_addr);
  }

  // Open and load, exactly as against the kernel.
  libbpf_set_print(print_libbpf);
  firewall *skel = firewall__open();
  if (!skel) {
    fprintf(stderr, "%s: opening the firewall object failed: %s\n", argv[0], strerror(errno));
    return 1;
  }
  skel->rodata->blocked_tcp_port = static_cast<__u16>(opt.tcp_port);
  skel->rodata->blocked_udp_port = static_cast<__u16>(opt.udp_port);
  int err = firewall__load(skel);
  if (err) {
    fprintf(stderr, "%s: loading the firewall failed: %s\n", argv[0], strerror(-err));
    firewall__destroy(skel);
    return 1;
  }
  int prog_fd = bpf_program__fd(skel->progs.firewall);
  struct bpf_prog_info info = {};
  __u32 info_len = sizeof(info);
  bpf_obj_get_info_by_fd(prog_fd, &info, &info_len);
  printf("Loaded the XDP program \"%s\" (id %u) and its maps through libbpf %s: verified, %u instructions\n",
         info.name, info.id, libbpf_version_string(), info.xlated_prog_len / 8);
  __u64 zero = 0;
  for (uint32_t addr : blocked) {
    if (bpf_map__update_elem(skel->maps.blocklist, &addr, sizeof(addr), &zero, sizeof(zero), BPF_ANY) != 0) {
      fprintf(stderr, "%s: blocklist update failed: %s\n", argv[0], strerror(errno));
      firewall__destroy(skel);
      return 1;
    }
  }
  printf("Blocking:");
  for (const std::string &text : opt.block) printf(" %s", text.c_str());
  if (opt.tcp_port) printf(" tcp/%ld", opt.tcp_port);
  if (opt.udp_port) printf(" udp/%ld", opt.udp_port);
  printf("%s\n", opt.block.empty() && !opt.tcp_port && !opt.udp_port ? " nothing" : "");

  // Replay the capture, one test run per packet.
  Capture capture;
  std::string error;
  if (!capture.open(opt.capture, &error)) {
    fprintf(stderr, "%s: %s\n", argv[0], error.c_str());
    firewall__destroy(skel);
    return 1;
  }
  printf("Replaying %s through it (BPF_PROG_TEST_RUN per packet)\n", opt.capture);
  Progress progress(capture);
  uint64_t verdicts[5] = {}, others = 0, packets = 0, failed = 0;
  const uint8_t *bytes;
  uint32_t len;
  auto start = std::chrono::steady_clock::now();
  int r;
  while ((r = capture.next(&bytes, &len)) == 1) {
    LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = bytes, .data_size_in = len, .repeat = 1);
    packets++;
    if (bpf_prog_test_run_opts(prog_fd, &run) != 0) {
      if (failed++ == 0) fprintf(stderr, "%s: packet %lu: test run failed: %s\n", argv[0], packets, strerror(errno));
    } else if (run.retval < 5) {
      verdicts[run.retval]++;
    } else {
      others++;
    }
    progress.update();
  }
  progress.done();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (r < 0) fprintf(stderr, "%s: %s: %s\n", argv[0], opt.capture, capture.error().c_str());
  printf("%lu packets in %.2f s (%.0f packets/s, %.2f us each)\n\n", packets, seconds,
         seconds > 0 ? static_cast<double>(packets) / seconds : 0.0,
         packets ? seconds * 1e6 / static_cast<double>(packets) : 0.0);

  // What the program counted, read back from its maps.
  int ncpus = libbpf_num_possible_cpus();
  std::vector<proto_counter> per_cpu(static_cast<size_t>(ncpus > 0 ? ncpus : 1));
  printf("%-12s %10s %12s\n", "protocol", "packets", "bytes");
  for (__u32 slot = 0; slot < PROTO_COUNT; slot++) {
    if (bpf_map__lookup_elem(skel->maps.proto_stats, &slot, sizeof(slot), per_cpu.data(),
                             per_cpu.size() * sizeof(proto_counter), 0) != 0)
      continue;
    proto_counter sum = {};
    for (const proto_counter &c : per_cpu) sum.packets += c.packets, sum.bytes += c.bytes;
    if (sum.packets) printf("%-12s %10llu %12llu\n", kProtoNames[slot], sum.packets, sum.bytes);
  }
  auto pct = [&](uint64_t n) { return packets ? 100.0 * static_cast<double>(n) / static_cast<double>(packets) : 0.0; };
  printf("\nverdicts: pass %lu (%.1f%%), drop %lu (%.1f%%)", verdicts[XDP_PASS], pct(verdicts[XDP_PASS]),
         verdicts[XDP_DROP], pct(verdicts[XDP_DROP]));
  if (verdicts[XDP_ABORTED] || verdicts[XDP_TX] || verdicts[XDP_REDIRECT] || others)
    printf(", other %lu", verdicts[XDP_ABORTED] + verdicts[XDP_TX] + verdicts[XDP_REDIRECT] + others);
  if (failed) printf(", %lu failed runs", failed);
  printf("\ndropped: by port %llu, malformed %llu", skel->bss->dropped_by_port, skel->bss->malformed);
  for (size_t i = 0; i < blocked.size(); i++) {
    __u64 drops = 0;
    bpf_map__lookup_elem(skel->maps.blocklist, &blocked[i], sizeof(blocked[i]), &drops, sizeof(drops), 0);
    printf(", from %s %llu", opt.block[i].c_str(), drops);
  }
  printf("\n");
  firewall__destroy(skel);
  return failed ? 1 : 0;
}
