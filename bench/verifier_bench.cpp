// Verification speed: every program of the verifier corpus
// (tests/verifier/asm) loaded with BPF_PROG_LOAD into userbpf and, side by
// side in the same run, into the kernel (where bpf() works), privileged.
// Prints per program the median load time on each side (the sides take
// turns, load by load, REPEATS times: 31 by default), the instructions the
// verifier processed, and at the end the totals and userbpf's processed
// instructions per second. Rerun:
//   cmake --build build --target verifier_bench && build/bench/verifier_bench [REPEATS]
// (Not Google Benchmark: a load takes from microseconds to seconds, and the
// corpus is the unit of measure, as issue 4 asks.)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <unistd.h>
#include <sys/syscall.h>
#include <vector>

#include <userbpf/bpf.h>

#include "vm/assembler.h"

namespace fs = std::filesystem;
using Fn = long (*)(int, union bpf_attr *, unsigned int);

static long kernel_bpf(int cmd, union bpf_attr *attr, unsigned int size) { return syscall(__NR_bpf, cmd, attr, size); }

struct Case {
  std::string name;
  uint32_t prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  std::vector<std::vector<std::string>> maps; // name, type, key, value, entries
  std::vector<userbpf::vm::RawInsn> insns;
  std::vector<userbpf::vm::MapRelocation> relocs;
};

static uint32_t map_type(const std::string &t) {
  static const std::map<std::string, uint32_t> types{{"array", BPF_MAP_TYPE_ARRAY}, {"hash", BPF_MAP_TYPE_HASH},
      {"percpu_array", BPF_MAP_TYPE_PERCPU_ARRAY}, {"percpu_hash", BPF_MAP_TYPE_PERCPU_HASH},
      {"lru_hash", BPF_MAP_TYPE_LRU_HASH}};
  auto it = types.find(t);
  return it == types.end() ? 0 : it->second;
}

static bool parse(const fs::path &path, Case *c) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str(), line;
  std::istringstream lines(text);
  while (std::getline(lines, line)) {
    if (line.rfind("# type: xdp", 0) == 0) c->prog_type = BPF_PROG_TYPE_XDP;
    if (line.rfind("# map: ", 0) == 0) {
      std::map<std::string, std::string> kv;
      std::istringstream words(line.substr(7));
      std::string w;
      while (words >> w)
        if (auto eq = w.find('='); eq != std::string::npos) kv[w.substr(0, eq)] = w.substr(eq + 1);
      c->maps.push_back({kv["name"], kv["type"], kv["key"], kv["value"], kv["entries"]});
    }
  }
  std::string error;
  c->name = path.stem();
  return userbpf::vm::assemble(text, &c->insns, &error, &c->relocs) == 0;
}

// One side's copy of a corpus program: its maps made, its instructions
// relocated to their fds.
class Loader {
 public:
  Loader(Fn fn, const Case &c) : fn_(fn), c_(c), insns_(c.insns) {
    std::map<std::string, int> by_name;
    for (const auto &m : c.maps) {
      union bpf_attr a;
      memset(&a, 0, sizeof a);
      a.map_type = map_type(m[1]);
      a.key_size = static_cast<uint32_t>(std::stoul(m[2]));
      a.value_size = static_cast<uint32_t>(std::stoul(m[3]));
      a.max_entries = static_cast<uint32_t>(std::stoul(m[4]));
      int fd = static_cast<int>(fn(BPF_MAP_CREATE, &a, sizeof a));
      if (fd < 0) {
        ok_ = false;
        return;
      }
      fds_.push_back(fd);
      by_name[m[0]] = fd;
    }
    for (const auto &r : c.relocs) {
      if (!by_name.count(r.map)) {
        ok_ = false;
        return;
      }
      insns_[r.insn].imm = by_name[r.map];
    }
  }
  ~Loader() {
    for (int fd : fds_) close(fd);
  }
  // One BPF_PROG_LOAD, timed (the close after it is not): ns, or -1 if it
  // is rejected. verified: where to put the instructions the verifier
  // processed, or nullptr. (Asked once per program, not between timed loads:
  // userbpf answers jited_prog_len by compiling the program, and the image's
  // unmapping after the close would fall on the next load.)
  double once(uint32_t *verified) {
    if (!ok_) return -1;
    union bpf_attr a;
    memset(&a, 0, sizeof a);
    a.prog_type = c_.prog_type;
    a.insns = reinterpret_cast<uintptr_t>(insns_.data());
    a.insn_cnt = static_cast<uint32_t>(insns_.size());
    a.license = reinterpret_cast<uintptr_t>("GPL");
    auto t0 = std::chrono::steady_clock::now();
    int fd = static_cast<int>(fn_(BPF_PROG_LOAD, &a, sizeof a));
    auto t1 = std::chrono::steady_clock::now();
    if (fd < 0) return -1;
    if (!verified) {
      close(fd);
      return std::chrono::duration<double, std::nano>(t1 - t0).count();
    }
    struct bpf_prog_info info;
    memset(&info, 0, sizeof info);
    union bpf_attr ia;
    memset(&ia, 0, sizeof ia);
    ia.info.bpf_fd = static_cast<uint32_t>(fd);
    ia.info.info_len = sizeof info;
    ia.info.info = reinterpret_cast<uintptr_t>(&info);
    *verified = fn_(BPF_OBJ_GET_INFO_BY_FD, &ia, sizeof ia) == 0 ? info.verified_insns : 0;
    close(fd);
    return std::chrono::duration<double, std::nano>(t1 - t0).count();
  }

 private:
  Fn fn_;
  const Case &c_;
  std::vector<userbpf::vm::RawInsn> insns_;
  std::vector<int> fds_;
  bool ok_ = true;
};

static double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int main(int argc, char **argv) {
  // 31: a burst on the host (a millisecond or so, on both sides) outvotes
  // the median of 11 turns of a small program, not of 31.
  const int repeats = argc > 1 ? std::max(1, atoi(argv[1])) : 31;
  setenv("USERBPF_MEMLOCK_LIMIT", "unlimited", 0);
  std::vector<fs::path> files;
  for (const auto &e : fs::directory_iterator(USERBPF_VERIFIER_CORPUS)) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  union bpf_attr probe;
  memset(&probe, 0, sizeof probe);
  const bool kernel = kernel_bpf(BPF_PROG_GET_NEXT_ID, &probe, sizeof probe) == 0 || errno == ENOENT;
  if (!kernel) printf("kernel bpf() not available (%s): userbpf only\n", strerror(errno));
  printf("%-40s %12s %12s %8s %10s\n", "program (accepted by both)", "userbpf us", "kernel us", "ratio", "insns");
  double sum_u = 0, sum_k = 0, insns_total = 0;
  int n = 0;
  std::vector<double> ratios; // per program, userbpf / kernel
  for (const auto &f : files) {
    Case c;
    if (!parse(f, &c)) continue;
    // The two sides take turns, load by load, so that whatever else the
    // machine does in those milliseconds falls on both; each side's median.
    uint32_t vu = 0, vk = 0;
    Loader lu(userbpf_bpf, c), lk(kernel_bpf, c);
    std::vector<double> tu, tk;
    bool rejected = false;
    for (int i = 0; i < repeats && !rejected; i++) {
      const bool last = i + 1 == repeats;
      double t = lu.once(last ? &vu : nullptr);
      rejected = t < 0;
      tu.push_back(t);
      if (kernel && !rejected) {
        t = lk.once(last ? &vk : nullptr);
        rejected = t < 0;
        tk.push_back(t);
      }
    }
    if (rejected) continue;
    const double u = median(tu), k = kernel ? median(tk) : 0;
    printf("%-40s %12.1f %12.1f %8.2f %10u\n", c.name.c_str(), u / 1000, k / 1000, kernel ? u / k : 0.0, vu);
    sum_u += u;
    sum_k += k;
    insns_total += vu;
    n++;
    if (kernel) ratios.push_back(u / k);
  }
  // The fixed cost of a load: the smallest program, loaded and closed again
  // and again (verification is negligible here; the program object is not).
  auto tiny = [](Fn fn) {
    const userbpf::vm::RawInsn insns[2] = {{0xb7, 0, 0, 0, 0}, {0x95, 0, 0, 0, 0}};
    const int n = 2000;
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; i++) {
      union bpf_attr a;
      memset(&a, 0, sizeof a);
      a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
      a.insns = reinterpret_cast<uintptr_t>(insns);
      a.insn_cnt = 2;
      a.license = reinterpret_cast<uintptr_t>("GPL");
      int fd = static_cast<int>(fn(BPF_PROG_LOAD, &a, sizeof a));
      if (fd < 0) return -1.0;
      close(fd);
    }
    return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() / n;
  };
  const double tiny_u = tiny(userbpf_bpf), tiny_k = kernel ? tiny(kernel_bpf) : 0;
  printf("\nload + close of a 2-insn program: userbpf %.1f us, kernel %.1f us\n", tiny_u, tiny_k);
  if (!ratios.empty()) {
    std::sort(ratios.begin(), ratios.end());
    auto at = [&](double q) { return ratios[static_cast<size_t>(q * static_cast<double>(ratios.size() - 1))]; };
    const auto slower = std::count_if(ratios.begin(), ratios.end(), [](double r) { return r > 1.0; });
    printf("\nper-program userbpf/kernel: median %.2fx, p10 %.2fx, p90 %.2fx; %ld of %zu slower than the kernel\n",
           at(0.5), at(0.1), at(0.9), static_cast<long>(slower), ratios.size());
  }
  printf("\n%d programs: userbpf %.1f ms in all, kernel %.1f ms (userbpf/kernel %.2fx); userbpf verified %.0f insns at %.0f insns/s\n",
         n, sum_u / 1e6, sum_k / 1e6, kernel && sum_k > 0 ? sum_u / sum_k : 0.0, insns_total, insns_total / (sum_u / 1e9));
  return 0;
}
