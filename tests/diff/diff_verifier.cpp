// Differential test of the verifier: the kernel's verdicts are the oracle.
//
// The corpus (tests/verifier, described in its README.md):
//   asm/*.s   one hand-written program per file, in the assembler's syntax
//             (src/vm/assembler.h), with header comments giving its program
//             type, maps, license and the kernel's verdict in both privilege
//             modes (`# priv:` root, `# unpriv:` CAP_BPF + CAP_NET_ADMIN only);
//   c/*.c     C programs compiled at build time with clang -target bpf -O2 -g
//             and loaded through libbpf; `// verdict:` lines per program.
//
// For every program and both modes the test loads it into userbpf and
// compares the verdict (accept, or reject with an errno) with the recorded
// one; where the kernel's bpf() works it loads it into the kernel too and
// checks that the recorded verdict is still the kernel's (and that a recorded
// rejection reason still appears in the kernel's log). A userbpf verdict that
// differs fails unless tests/verifier/known-differences.md lists it. On a
// rejection userbpf's log must be non-empty and name an instruction.
//
// The kernel side runs unprivileged by dropping CAP_SYS_ADMIN and
// CAP_PERFMON from the effective set (capset) and restoring them afterwards.
// C objects are loaded by libbpf in a child process per (backend, mode,
// object): libbpf caches its feature probes per process, and this binary's
// syscall() routes __NR_bpf to the kernel or to userbpf_bpf() by a switch.
//
// Environment:
//   UBT_VERIFIER_RECORD=1   rewrite the verdict lines of the corpus files from
//                           the kernel (both modes) instead of checking; for
//                           new cases. Needs the kernel's bpf().
//   UBT_VERIFIER_FILTER=s   only corpus entries whose name contains s.
//   UBT_VERIFIER_VERBOSE=1  print both sides' logs for every disagreement.
//   UBT_VERIFIER_LIBBPF_DEBUG=1  keep libbpf's debug messages in the C logs.
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include "bpf_router.h"
#include "bpf_test_util.h"
#include "capabilities.h"
#include "vm/assembler.h"

#if __has_include(<userbpf/userbpf.hpp>)
#include <userbpf/userbpf.hpp>
#define UBT_HAVE_PRIVILEGE_API 1
#endif

#ifndef UBT_VERIFIER_CORPUS_DIR
#error "UBT_VERIFIER_CORPUS_DIR must name tests/verifier"
#endif
#ifndef UBT_VERIFIER_C_OBJ_DIR
#define UBT_VERIFIER_C_OBJ_DIR ""
#endif

namespace fs = std::filesystem;
namespace vm = userbpf::vm;

// ------------------------------------------------ syscall(): bpf() routing
// (tests/common/bpf_router.h: __NR_bpf to ubt::t_backend, the rest to libc)

using ubt::Backend;
using ubt::t_backend;

namespace {

// ---------------------------------------------------------------- verdicts

struct Verdict {
  bool known = false;
  int err = 0; // 0: accepted; else the positive errno
  bool operator==(const Verdict &o) const { return known == o.known && err == o.err; }
};

std::string errno_name(int e) {
  if (e == 524) return "ENOTSUPP"; // kernel-internal errno that reaches user space
  const char *n = strerrorname_np(e);
  return n ? n : "errno" + std::to_string(e);
}

std::optional<int> errno_from_name(const std::string &name) {
  if (name == "ENOTSUPP") return 524;
  for (int e = 1; e < 600; e++)
    if (const char *n = strerrorname_np(e); n && name == n) return e;
  return std::nullopt;
}

std::string verdict_text(const Verdict &v) {
  if (!v.known) return "?";
  return v.err == 0 ? "accept" : "reject " + errno_name(v.err);
}

// "accept" or "reject ENAME" (or "reject:ENAME").
std::optional<Verdict> parse_verdict(std::string s) {
  std::replace(s.begin(), s.end(), ':', ' ');
  std::istringstream in(s);
  std::string word, name;
  in >> word;
  if (word == "accept") return Verdict{true, 0};
  if (word == "reject" && (in >> name)) {
    if (auto e = errno_from_name(name)) return Verdict{true, *e};
  }
  if (word == "?") return Verdict{};
  return std::nullopt;
}

// Does a log name an instruction ("12: (85) call ..." or "... insn 12 ...")?
bool log_names_insn(const std::string &log) {
  static const std::regex re(R"((^|\n)[0-9]+: |insn)");
  return std::regex_search(log, re);
}

// The line of a rejection log that says why: the last one that is not a
// statistics line.
std::string log_reason(const std::string &log) {
  std::istringstream in(log);
  std::string line, reason;
  while (std::getline(in, line)) {
    // Some kernel messages lack their newline: "...for tail callprocessed 3 insns".
    if (size_t p = line.find("processed "); p != std::string::npos && p > 0 && line[p - 1] != ' ')
      line.resize(p);
    if (line.empty() || line.rfind("processed ", 0) == 0 || line.rfind("verification time", 0) == 0 ||
        line.rfind("stack depth", 0) == 0 || line.rfind("-- ", 0) == 0 || line.rfind("cur state:", 0) == 0 ||
        line.rfind("old state:", 0) == 0)
      continue;
    reason = line;
  }
  return reason;
}

std::string first_lines(const std::string &log, size_t max_lines = 40) {
  std::istringstream in(log);
  std::string line, out;
  std::vector<std::string> lines;
  while (std::getline(in, line)) lines.push_back(line);
  size_t start = lines.size() > max_lines ? lines.size() - max_lines : 0;
  if (start) out += "    ... (" + std::to_string(start) + " lines)\n";
  for (size_t i = start; i < lines.size(); i++) out += "    " + lines[i] + "\n";
  return out;
}

bool env_set(const char *name) {
  const char *v = getenv(name);
  return v && *v && strcmp(v, "0") != 0;
}
bool recording() { return env_set("UBT_VERIFIER_RECORD"); }
bool verbose() { return env_set("UBT_VERIFIER_VERBOSE"); }

// ---------------------------------------------------------------- privilege

enum class Mode { kPriv, kUnpriv };
const char *mode_name(Mode m) { return m == Mode::kPriv ? "priv" : "unpriv"; }

using KernelUnprivileged = ubt::KernelWithoutPerfmon;

// userbpf's unprivileged loader mode, for the scope of this object.
class UserbpfUnprivileged {
 public:
  UserbpfUnprivileged() {
#ifdef UBT_HAVE_PRIVILEGE_API
    userbpf::set_loader_privilege(userbpf::LoaderPrivilege::kUnprivileged);
#else
    // TODO(issue 4): the C++ API <userbpf/userbpf.hpp> is not there yet; the
    // environment variable is what the library reads for the whole process.
    setenv("USERBPF_UNPRIVILEGED", "1", 1);
#endif
  }
  ~UserbpfUnprivileged() {
#ifdef UBT_HAVE_PRIVILEGE_API
    userbpf::set_loader_privilege(userbpf::LoaderPrivilege::kPrivileged);
#else
    unsetenv("USERBPF_UNPRIVILEGED");
#endif
  }
};

// ---------------------------------------------------------------- corpus

struct MapDecl {
  std::string name;
  uint32_t type = 0, key = 0, value = 0, entries = 0, flags = 0;
};

struct AsmCase {
  std::string name; // file stem
  fs::path path;
  uint32_t prog_type = 0;
  uint32_t prog_flags = 0;
  std::string license = "GPL";
  std::vector<MapDecl> maps;
  Verdict expect[2];
  std::string expect_reason[2]; // a substring of the kernel's log, recorded
  std::string why;
  std::string text;
  std::string parse_error;
};

std::optional<uint32_t> prog_type_from_name(const std::string &s) {
  static const std::map<std::string, uint32_t> kTypes = {
      {"socket_filter", BPF_PROG_TYPE_SOCKET_FILTER}, {"xdp", BPF_PROG_TYPE_XDP},
      {"sched_cls", BPF_PROG_TYPE_SCHED_CLS},         {"sched_act", BPF_PROG_TYPE_SCHED_ACT},
      {"kprobe", BPF_PROG_TYPE_KPROBE},               {"tracepoint", BPF_PROG_TYPE_TRACEPOINT},
      {"cgroup_skb", BPF_PROG_TYPE_CGROUP_SKB},       {"raw_tracepoint", BPF_PROG_TYPE_RAW_TRACEPOINT},
      {"perf_event", BPF_PROG_TYPE_PERF_EVENT},       {"syscall", BPF_PROG_TYPE_SYSCALL},
  };
  auto it = kTypes.find(s);
  if (it == kTypes.end()) return std::nullopt;
  return it->second;
}

std::optional<uint32_t> map_type_from_name(const std::string &s) {
  static const std::map<std::string, uint32_t> kTypes = {
      {"hash", BPF_MAP_TYPE_HASH},
      {"array", BPF_MAP_TYPE_ARRAY},
      {"percpu_hash", BPF_MAP_TYPE_PERCPU_HASH},
      {"percpu_array", BPF_MAP_TYPE_PERCPU_ARRAY},
      {"lru_hash", BPF_MAP_TYPE_LRU_HASH},
      {"lru_percpu_hash", BPF_MAP_TYPE_LRU_PERCPU_HASH},
      {"prog_array", BPF_MAP_TYPE_PROG_ARRAY},
      {"stack_trace", BPF_MAP_TYPE_STACK_TRACE},
      {"ringbuf", BPF_MAP_TYPE_RINGBUF},
      {"perf_event_array", BPF_MAP_TYPE_PERF_EVENT_ARRAY},
      {"queue", BPF_MAP_TYPE_QUEUE},
      {"stack", BPF_MAP_TYPE_STACK},
      {"bloom_filter", BPF_MAP_TYPE_BLOOM_FILTER},
  };
  auto it = kTypes.find(s);
  if (it == kTypes.end()) return std::nullopt;
  return it->second;
}

std::string trim(std::string s) {
  size_t b = s.find_first_not_of(" \t\r");
  size_t e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::string read_file(const fs::path &p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

AsmCase parse_asm_case(const fs::path &path) {
  AsmCase c;
  c.path = path;
  c.name = path.stem().string();
  c.text = read_file(path);
  std::istringstream in(c.text);
  std::string line;
  bool have_type = false;
  auto error = [&](const std::string &e) {
    if (c.parse_error.empty()) c.parse_error = e;
  };
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.rfind("#", 0) != 0) continue;
    line = trim(line.substr(1));
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon), value = trim(line.substr(colon + 1));
    if (key == "type") {
      auto t = prog_type_from_name(value);
      if (!t) error("unknown program type '" + value + "'");
      else c.prog_type = *t;
      have_type = true;
    } else if (key == "map") {
      MapDecl m;
      std::istringstream words(value);
      std::string w;
      while (words >> w) {
        size_t eq = w.find('=');
        if (eq == std::string::npos) { error("bad map word '" + w + "'"); continue; }
        std::string k = w.substr(0, eq), v = w.substr(eq + 1);
        auto num = [&](uint32_t *out) { *out = static_cast<uint32_t>(strtoul(v.c_str(), nullptr, 0)); };
        if (k == "name") m.name = v;
        else if (k == "type") {
          auto t = map_type_from_name(v);
          if (!t) error("unknown map type '" + v + "'");
          else m.type = *t;
        } else if (k == "key") num(&m.key);
        else if (k == "value") num(&m.value);
        else if (k == "entries") num(&m.entries);
        else if (k == "flags") num(&m.flags);
        else error("unknown map word '" + k + "'");
      }
      if (m.name.empty()) error("map without a name");
      c.maps.push_back(m);
    } else if (key == "license") {
      c.license = value;
    } else if (key == "flags") {
      std::istringstream words(value);
      std::string w;
      while (words >> w) {
        if (w == "strict_alignment") c.prog_flags |= BPF_F_STRICT_ALIGNMENT;
        else if (w == "any_alignment") c.prog_flags |= BPF_F_ANY_ALIGNMENT;
        else if (w == "sleepable") c.prog_flags |= BPF_F_SLEEPABLE;
        else if (w == "|") continue;
        else error("unknown prog flag '" + w + "'");
      }
    } else if (key == "priv" || key == "unpriv") {
      auto v = parse_verdict(value);
      if (!v) error("bad verdict '" + value + "'");
      else c.expect[key == "priv" ? 0 : 1] = *v;
    } else if (key == "priv-log" || key == "unpriv-log") {
      c.expect_reason[key == "priv-log" ? 0 : 1] = value;
    } else if (key == "why") {
      c.why = value;
    }
  }
  if (!have_type) error("no '# type:' line");
  if (c.why.empty()) error("no '# why:' line");
  return c;
}

std::vector<fs::path> corpus_files(const fs::path &dir, const std::string &ext, bool filtered = true) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto &e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file() && e.path().extension() == ext) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  if (const char *f = getenv("UBT_VERIFIER_FILTER"); filtered && f && *f)
    out.erase(std::remove_if(out.begin(), out.end(),
                             [&](const fs::path &p) { return p.stem().string().find(f) == std::string::npos; }),
              out.end());
  return out;
}

// ------------------------------------------------ known differences (md file)

// Lines "- `asm/NAME` priv|unpriv|both: reason" or "- `c/FILE:PROG` ...".
struct KnownDifferences {
  std::map<std::string, std::string> reasons; // "asm/NAME priv" -> reason
  std::string error;

  static KnownDifferences load() {
    KnownDifferences k;
    std::ifstream in(fs::path(UBT_VERIFIER_CORPUS_DIR) / "known-differences.md");
    std::string line;
    static const std::regex re(R"(^- `([^`]+)` (priv|unpriv|both): (.+)$)");
    while (std::getline(in, line)) {
      std::smatch m;
      if (line.rfind("- `", 0) != 0) continue;
      if (!std::regex_match(line, m, re)) {
        k.error += "malformed entry: " + line + "\n";
        continue;
      }
      for (const char *mode : {"priv", "unpriv"})
        if (m[2] == "both" || m[2] == mode) k.reasons[m[1].str() + " " + mode] = m[3];
    }
    return k;
  }
  const std::string *find(const std::string &entry, Mode mode) const {
    auto it = reasons.find(entry + " " + mode_name(mode));
    return it == reasons.end() ? nullptr : &it->second;
  }
};

const KnownDifferences &known() {
  static const KnownDifferences k = KnownDifferences::load();
  return k;
}

// ---------------------------------------------------------------- summary

struct Summary {
  std::mutex mu;
  int agree = 0, listed = 0, disagree = 0, reason_differs = 0, kernel_checked = 0, kernel_stale = 0;
  std::vector<std::string> lines;
  struct Timing {
    double userbpf_ms, kernel_ms; // kernel_ms < 0: not loaded on the kernel
    std::string where;
  };
  std::vector<Timing> timings; // assembly loads
  std::string kernel_skipped;  // why the kernel side did not run
  ~Summary() {
    if (agree + listed + disagree == 0) return;
    if (!kernel_skipped.empty())
      printf("\n[verifier corpus] kernel side skipped (%s): only userbpf against the recorded verdicts\n",
             kernel_skipped.c_str());
    printf("\n[verifier corpus] %d agree, %d listed differences, %d disagreements"
           " (%d kernel checks, %d stale expectations; %d rejections with another reason than the kernel's)\n",
           agree, listed, disagree, kernel_checked, kernel_stale, reason_differs);
    for (const std::string &l : lines) printf("  %s\n", l.c_str());
    if (!timings.empty()) {
      double u = 0, k = 0;
      for (const Timing &t : timings) u += t.userbpf_ms, k += t.kernel_ms > 0 ? t.kernel_ms : 0;
      std::sort(timings.begin(), timings.end(),
                [](const Timing &a, const Timing &b) { return a.userbpf_ms > b.userbpf_ms; });
      printf("[verifier corpus] assembly loads with log_level 1 (not a speed benchmark): userbpf %.0f ms, kernel %.0f ms in all; slowest on userbpf:\n", u, k);
      for (size_t i = 0; i < timings.size() && i < 5; i++)
        printf("  %s: userbpf %.1f ms, kernel %.1f ms\n", timings[i].where.c_str(), timings[i].userbpf_ms,
               timings[i].kernel_ms);
    }
    fflush(stdout);
  }
};
Summary g_summary;

// Compares userbpf's outcome with the expectation; returns a failure text or "".
// On an agreed rejection userbpf's log must say something when the kernel's
// does (kernel_logs; it does not for some attr errors, e.g. no instructions)
// and name the instruction, unless the kernel's names none either: its full
// log when the kernel ran (kernel_log), else the recorded reason found
// verbatim in userbpf's log (errors found before verification, such as a bad
// map fd, name no instruction in the kernel's log).
std::string judge_userbpf(const std::string &entry, Mode mode, const Verdict &expect, const std::string &reason,
                          const Verdict &got, const std::string &log, bool kernel_logs = true,
                          const std::string *kernel_log = nullptr) {
  std::lock_guard<std::mutex> lock(g_summary.mu);
  std::string where = entry + " (" + mode_name(mode) + ")";
  if (got == expect) {
    g_summary.agree++;
    if (expect.err != 0 && kernel_logs) {
      if (log.empty()) return where + ": userbpf rejected with an empty log";
      bool kernel_names_insn = kernel_log ? log_names_insn(*kernel_log)
                                          : reason.empty() || log.find(reason) == std::string::npos;
      if (kernel_names_insn && !log_names_insn(log))
        return where + ": userbpf's log names no instruction:\n" + first_lines(log);
      if (!reason.empty() && log.find(reason) == std::string::npos) {
        g_summary.reason_differs++;
        g_summary.lines.push_back("reason differs: " + where + ": kernel '" + reason + "', userbpf '" +
                                  log_reason(log) + "'");
      }
    }
    return "";
  }
  if (const std::string *why = known().find(entry, mode)) {
    g_summary.listed++;
    g_summary.lines.push_back("listed: " + where + ": userbpf " + verdict_text(got) + ", kernel " +
                              verdict_text(expect) + " (" + *why + ")");
    return "";
  }
  g_summary.disagree++;
  g_summary.lines.push_back("DISAGREE: " + where + ": userbpf " + verdict_text(got) + ", kernel " +
                            verdict_text(expect) + (log_reason(log).empty() ? "" : " [userbpf: " + log_reason(log) + "]") +
                            (reason.empty() ? "" : " [kernel: " + reason + "]"));
  return where + ": userbpf " + verdict_text(got) + ", the kernel " + verdict_text(expect) +
         (reason.empty() ? "" : " (" + reason + ")") + "\n  userbpf log:\n" + first_lines(log, verbose() ? 200 : 12);
}

// Checks the kernel's outcome against the recorded expectation.
std::string judge_kernel(const std::string &entry, Mode mode, const Verdict &expect, const std::string &reason,
                         const Verdict &got, const std::string &log) {
  std::lock_guard<std::mutex> lock(g_summary.mu);
  g_summary.kernel_checked++;
  std::string where = entry + " (" + mode_name(mode) + ")";
  std::string problem;
  if (!(got == expect))
    problem = where + ": the corpus says " + verdict_text(expect) + " but this kernel says " + verdict_text(got) +
              " (rerun with UBT_VERIFIER_RECORD=1 if the kernel is right)\n  kernel log:\n" + first_lines(log);
  else if (expect.err != 0 && !reason.empty() && log.find(reason) == std::string::npos)
    problem = where + ": the kernel rejects, but no longer with '" + reason + "':\n" + first_lines(log);
  if (!problem.empty()) {
    g_summary.kernel_stale++;
    g_summary.lines.push_back("STALE: " + where + ": corpus " + verdict_text(expect) + ", kernel " +
                              verdict_text(got));
  }
  return problem;
}

std::string kernel_unavailable_reason() {
  static const std::string why = [] {
    std::string w;
    t_backend = Backend::kKernel;
    if (ubt::kernel_bpf_available(&w)) return std::string();
    std::lock_guard<std::mutex> lock(g_summary.mu);
    g_summary.kernel_skipped = w;
    return w;
  }();
  return why;
}

// ---------------------------------------------------------------- asm loading

struct LoadOutcome {
  Verdict verdict;
  std::string log;
  double ms = 0; // wall time of the load(s)
  std::string setup_error; // maps could not be created, ...
};

// Loads on the current thread's backend, with a log_level 1 log.
LoadOutcome load_asm(const AsmCase &c, Backend backend) {
  LoadOutcome out;
  t_backend = backend;
  auto bpf = backend == Backend::kKernel ? ubt::kernel_call : ubt::userbpf_call;
  std::vector<vm::RawInsn> insns;
  std::vector<vm::MapRelocation> relocs;
  std::string error;
  if (vm::assemble(c.text, &insns, &error, &relocs) != 0) {
    out.setup_error = "assembler: " + error;
    return out;
  }
  std::map<std::string, int> fds;
  auto close_all = [&] {
    for (auto &[n, fd] : fds) close(fd);
  };
  for (const MapDecl &m : c.maps) {
    long fd = ubt::map_create(bpf, m.type, m.key, m.value, m.entries, m.flags, m.name.c_str());
    if (fd < 0) {
      out.setup_error = "creating map '" + m.name + "': " + errno_name(static_cast<int>(-fd));
      close_all();
      return out;
    }
    fds[m.name] = static_cast<int>(fd);
  }
  for (const vm::MapRelocation &r : relocs) {
    auto it = fds.find(r.map);
    if (it == fds.end()) {
      out.setup_error = "map '" + r.map + "' is used but not declared";
      close_all();
      return out;
    }
    insns[r.insn].imm = it->second;
  }
  // One buffer for every load of the thread: 64 MiB holds the level-1 log of
  // a program that runs into the 1M-instruction limit, so a rejection needs
  // one load. Only when the log did not fit (ENOSPC) is the program loaded
  // again without a log, for the verdict a too-small log cannot change.
  constexpr size_t kLogSize = 64u << 20;
  thread_local std::unique_ptr<char[]> logbuf(new char[kLogSize]); // not zeroed: pages stay untouched
  auto start = std::chrono::steady_clock::now();
  for (int pass = 0; pass < 2; pass++) {
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.prog_type = c.prog_type;
    a.insns = reinterpret_cast<uintptr_t>(insns.data());
    a.insn_cnt = static_cast<uint32_t>(insns.size());
    a.license = reinterpret_cast<uintptr_t>(c.license.c_str());
    a.prog_flags = c.prog_flags;
    if (pass == 0) {
      logbuf[0] = 0;
      a.log_level = 1;
      a.log_buf = reinterpret_cast<uintptr_t>(logbuf.get());
      a.log_size = static_cast<uint32_t>(kLogSize);
    }
    long fd = ubt::call(bpf, BPF_PROG_LOAD, a);
    if (fd >= 0) close(static_cast<int>(fd));
    out.verdict = {true, fd >= 0 ? 0 : static_cast<int>(-fd)};
    if (pass == 0) {
      logbuf[kLogSize - 1] = 0;
      out.log = fd >= 0 ? std::string() : std::string(logbuf.get());
      if (fd != -ENOSPC) break;
    }
  }
  out.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  close_all();
  return out;
}

// Rewrites (or adds) the "# KEY: value" line of a corpus file.
void set_header(std::string *text, const std::string &key, const std::string &value, const std::string &after) {
  std::string prefix = "# " + key + ":";
  std::string line = value.empty() ? "" : prefix + " " + value + "\n";
  size_t pos = 0;
  while (pos < text->size()) {
    size_t nl = text->find('\n', pos);
    size_t end = nl == std::string::npos ? text->size() : nl + 1;
    if (text->compare(pos, prefix.size(), prefix) == 0) {
      text->replace(pos, end - pos, line);
      return;
    }
    pos = end;
  }
  if (line.empty()) return;
  size_t at = text->find("# " + after + ":");
  if (at == std::string::npos) {
    text->insert(0, line);
  } else {
    size_t nl = text->find('\n', at);
    text->insert(nl == std::string::npos ? text->size() : nl + 1, line);
  }
}

// ---------------------------------------------------------------- asm tests

class AsmCorpus : public ::testing::TestWithParam<fs::path> {};

TEST_P(AsmCorpus, Verdict) {
  AsmCase c = parse_asm_case(GetParam());
  ASSERT_TRUE(c.parse_error.empty()) << c.path << ": " << c.parse_error;
  std::string kernel_why = kernel_unavailable_reason();
  std::string entry = "asm/" + c.name;

  if (recording()) {
    if (!kernel_why.empty()) GTEST_SKIP() << "UBT_VERIFIER_RECORD needs the kernel: " << kernel_why;
    std::string text = read_file(c.path);
    for (Mode mode : {Mode::kPriv, Mode::kUnpriv}) {
      std::optional<KernelUnprivileged> drop;
      if (mode == Mode::kUnpriv) {
        drop.emplace();
        ASSERT_TRUE(drop->ok()) << "capset failed: " << strerror(errno);
      }
      LoadOutcome k = load_asm(c, Backend::kKernel);
      ASSERT_TRUE(k.setup_error.empty()) << entry << ": " << k.setup_error;
      std::string key = mode_name(mode);
      set_header(&text, key, verdict_text(k.verdict), mode == Mode::kPriv ? "type" : "priv");
      set_header(&text, key + "-log", k.verdict.err ? log_reason(k.log) : "", key);
      printf("record %-40s %-6s %s%s\n", entry.c_str(), key.c_str(), verdict_text(k.verdict).c_str(),
             k.verdict.err ? ("  [" + log_reason(k.log) + "]").c_str() : "");
    }
    std::ofstream(c.path, std::ios::binary) << text;
    return;
  }

  for (Mode mode : {Mode::kPriv, Mode::kUnpriv}) {
    int i = mode == Mode::kPriv ? 0 : 1;
    ASSERT_TRUE(c.expect[i].known) << entry << ": no recorded '# " << mode_name(mode)
                                   << ":' verdict (record it with UBT_VERIFIER_RECORD=1)";
    SCOPED_TRACE(entry + " " + mode_name(mode) + ": " + c.why);
    double kernel_ms = -1;
    std::optional<std::string> kernel_log;
    if (kernel_why.empty()) {
      std::optional<KernelUnprivileged> drop;
      if (mode == Mode::kUnpriv) drop.emplace();
      if (mode == Mode::kUnpriv && !drop->ok()) {
        printf("note: %s: kernel side skipped, capset failed (%s)\n", entry.c_str(), strerror(errno));
      } else {
        LoadOutcome k = load_asm(c, Backend::kKernel);
        kernel_ms = k.ms;
        kernel_log = k.log;
        ASSERT_TRUE(k.setup_error.empty()) << entry << " (kernel): " << k.setup_error;
        std::string p = judge_kernel(entry, mode, c.expect[i], c.expect_reason[i], k.verdict, k.log);
        EXPECT_TRUE(p.empty()) << p;
      }
    }
    LoadOutcome u;
    {
      std::optional<UserbpfUnprivileged> drop;
      if (mode == Mode::kUnpriv) drop.emplace();
      u = load_asm(c, Backend::kUserbpf);
      t_backend = Backend::kKernel;
    }
    {
      std::lock_guard<std::mutex> lock(g_summary.mu);
      g_summary.timings.push_back({u.ms, kernel_ms, entry + " (" + mode_name(mode) + ")"});
    }
    if (!u.setup_error.empty()) {
      // A map userbpf cannot create yet is a disagreement like any other.
      u.verdict = {};
      u.log = u.setup_error;
    }
    // A recorded rejection without a "-log" line: the kernel's log was empty.
    std::string p = judge_userbpf(entry, mode, c.expect[i], c.expect_reason[i], u.verdict, u.log,
                                  !c.expect_reason[i].empty(), kernel_log ? &*kernel_log : nullptr);
    EXPECT_TRUE(p.empty()) << p;
  }
}

std::string param_name(const ::testing::TestParamInfo<fs::path> &info) {
  std::string n = info.param.stem().string();
  for (char &ch : n)
    if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(Verifier, AsmCorpus,
                         ::testing::ValuesIn(corpus_files(fs::path(UBT_VERIFIER_CORPUS_DIR) / "asm", ".s")),
                         param_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(AsmCorpus);

TEST(VerifierCorpus, IsThereAndWellFormed) {
  auto files = corpus_files(fs::path(UBT_VERIFIER_CORPUS_DIR) / "asm", ".s", false);
  EXPECT_GE(files.size(), 120u) << "the assembly corpus shrank";
  EXPECT_TRUE(known().error.empty()) << known().error;
  // Every listed difference names an existing entry.
  for (const auto &[key, why] : known().reasons) {
    std::string entry = key.substr(0, key.find(' '));
    bool exists = false;
    if (entry.rfind("asm/", 0) == 0)
      exists = fs::exists(fs::path(UBT_VERIFIER_CORPUS_DIR) / "asm" / (entry.substr(4) + ".s"));
    else if (entry.rfind("c/", 0) == 0)
      exists = fs::exists(fs::path(UBT_VERIFIER_CORPUS_DIR) / "c" / (entry.substr(2, entry.find(':') - 2) + ".c"));
    EXPECT_TRUE(exists) << "known-differences.md lists '" << entry << "', which is not in the corpus";
  }
  // Twins: the corpus has both verdicts in each mode.
  int accepts[2] = {}, rejects[2] = {};
  for (const fs::path &p : files) {
    AsmCase c = parse_asm_case(p);
    for (int i = 0; i < 2; i++) (c.expect[i].err ? rejects : accepts)[i]++;
  }
  for (int i = 0; i < 2; i++) {
    EXPECT_GE(accepts[i], 40) << "accepted cases, mode " << i;
    EXPECT_GE(rejects[i], 40) << "rejected cases, mode " << i;
  }
}

// The assembler's loader-facing extensions the corpus relies on.
TEST(VerifierAssembler, SymbolicSources) {
  std::vector<vm::RawInsn> insns;
  std::vector<vm::MapRelocation> relocs;
  std::string error;
  ASSERT_EQ(vm::assemble("lddw %r1, map:m\nlddw %r2, mapvalue:v+12\nlddw %r3, func:f\n"
                         ".insn 0xb7, 11, 0, -1, 0x7fffffff\nexit\nf: mov %r0, 0\nexit\n",
                         &insns, &error, &relocs),
            0)
      << error;
  ASSERT_EQ(insns.size(), 10u);
  EXPECT_EQ(insns[0].code, 0x18);
  EXPECT_EQ(insns[0].src, 1); // BPF_PSEUDO_MAP_FD
  EXPECT_EQ(insns[0].dst, 1);
  EXPECT_EQ(insns[2].src, 2); // BPF_PSEUDO_MAP_VALUE
  EXPECT_EQ(insns[3].imm, 12);
  EXPECT_EQ(insns[4].src, 4); // BPF_PSEUDO_FUNC
  EXPECT_EQ(insns[4].imm, 3); // f is insn 8: 8 - 4 - 1
  EXPECT_EQ(insns[6].code, 0xb7);
  EXPECT_EQ(insns[6].dst, 11);
  EXPECT_EQ(insns[6].off, -1);
  EXPECT_EQ(insns[6].imm, 0x7fffffff);
  ASSERT_EQ(relocs.size(), 2u);
  EXPECT_EQ(relocs[0].insn, 0u);
  EXPECT_EQ(relocs[0].map, "m");
  EXPECT_EQ(relocs[1].insn, 2u);
  EXPECT_EQ(relocs[1].map, "v");
  // Maps need somewhere to put their relocations; bad .insn fields fail.
  EXPECT_EQ(vm::assemble("lddw %r1, map:m\nexit\n", &insns, &error), -EINVAL);
  EXPECT_EQ(vm::assemble(".insn 0x100, 0, 0, 0, 0\n", &insns, &error, &relocs), -EINVAL);
  EXPECT_EQ(vm::assemble(".insn 0xb7, 0, 0, 0\n", &insns, &error, &relocs), -EINVAL);
  EXPECT_EQ(vm::assemble("lddw %r1, func:nowhere\nexit\n", &insns, &error, &relocs), -EINVAL);
}

// ---------------------------------------------------------------- C corpus

// "// verdict: PROG priv=accept unpriv=reject:EACCES" lines of a C file.
struct CExpect {
  std::string prog;
  Verdict expect[2];
};

std::vector<CExpect> parse_c_expectations(const std::string &text, std::string *error) {
  std::vector<CExpect> out;
  std::istringstream in(text);
  std::string line;
  static const std::regex re(R"(^// verdict: (\S+) priv=(\S+) unpriv=(\S+)\s*$)");
  while (std::getline(in, line)) {
    if (line.rfind("// verdict:", 0) != 0) continue;
    std::smatch m;
    std::optional<Verdict> p, u;
    if (!std::regex_match(line, m, re) || !(p = parse_verdict(m[2])) || !(u = parse_verdict(m[3]))) {
      *error += "bad line: " + line + "\n";
      continue;
    }
    out.push_back({m[1], {*p, *u}});
  }
  return out;
}

std::string verdict_word(const Verdict &v) {
  if (!v.known) return "?";
  return v.err == 0 ? "accept" : "reject:" + errno_name(v.err);
}

struct CLoad {
  std::string prog;
  Verdict verdict;
  std::string log;
};

// Child side: "BACKEND MODE OBJECT" -> for each program of the object, load
// it alone (autoload off for the others) and print "@@prog NAME ERR", its
// log, then "@@end".
std::string g_libbpf_log;
int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap) {
  if (level == LIBBPF_DEBUG && !env_set("UBT_VERIFIER_LIBBPF_DEBUG")) return 0;
  char buf[4096];
  vsnprintf(buf, sizeof(buf), fmt, ap);
  g_libbpf_log += buf;
  return 0;
}

int c_child(const char *spec) {
  std::istringstream in(spec);
  std::string backend, mode, path;
  in >> backend >> mode >> path;
  if (backend == "userbpf") {
    ubt::use_private_fs_root();
    if (mode == "unpriv") setenv("USERBPF_UNPRIVILEGED", "1", 1);
    t_backend = Backend::kUserbpf;
  } else if (mode == "unpriv") {
    static KernelUnprivileged drop; // whole (single-threaded) child
    if (!drop.ok()) {
      printf("@@error capset: %s\n", strerror(errno));
      return 0;
    }
  }
#ifdef UBT_HAVE_PRIVILEGE_API
  if (backend == "userbpf" && mode == "unpriv")
    userbpf::set_loader_privilege(userbpf::LoaderPrivilege::kUnprivileged);
#endif
  libbpf_set_print(libbpf_print);
  std::vector<std::string> names;
  {
    bpf_object *obj = bpf_object__open_file(path.c_str(), nullptr);
    if (!obj) {
      printf("@@error open %s: %s\n%s", path.c_str(), strerror(errno), g_libbpf_log.c_str());
      return 0;
    }
    bpf_program *p;
    bpf_object__for_each_program(p, obj) names.push_back(bpf_program__name(p));
    bpf_object__close(obj);
  }
  static char logbuf[64 << 20]; // as load_asm: a 1M-instruction log fits
  for (const std::string &name : names) {
    g_libbpf_log.clear();
    bpf_object *obj = bpf_object__open_file(path.c_str(), nullptr);
    if (!obj) {
      printf("@@prog %s %d\nopen failed\n@@end\n", name.c_str(), errno);
      continue;
    }
    bpf_program *p;
    bpf_object__for_each_program(p, obj) {
      bool mine = name == bpf_program__name(p);
      bpf_program__set_autoload(p, mine);
      if (mine) {
        logbuf[0] = 0;
        bpf_program__set_log_buf(p, logbuf, sizeof(logbuf));
        bpf_program__set_log_level(p, 1);
      }
    }
    int err = bpf_object__load(obj);
    logbuf[sizeof(logbuf) - 1] = 0;
    if (err == -ENOSPC) {
      // The log did not fit; a too-small log must not decide the verdict.
      bpf_object__close(obj);
      obj = bpf_object__open_file(path.c_str(), nullptr);
      if (!obj) {
        printf("@@prog %s %d\nreopen failed\n@@end\n", name.c_str(), errno);
        continue;
      }
      bpf_object__for_each_program(p, obj) bpf_program__set_autoload(p, name == bpf_program__name(p));
      err = bpf_object__load(obj);
      snprintf(logbuf, sizeof(logbuf), "(log of more than %zu bytes)\n", sizeof(logbuf));
    }
    // libbpf's own messages first, the verifier's log last (its last line says why).
    printf("@@prog %s %d\n%s%s\n@@end\n", name.c_str(), err < 0 ? -err : 0, err < 0 ? g_libbpf_log.c_str() : "",
           err < 0 ? logbuf : "");
    bpf_object__close(obj);
  }
  fflush(stdout);
  return 0;
}

// Parent side: runs this binary as a child and parses its report.
std::vector<CLoad> run_c_child(const std::string &backend, Mode mode, const fs::path &obj, std::string *error) {
  std::vector<CLoad> out;
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) {
    *error = "pipe failed";
    return out;
  }
  std::string spec = "UBT_VERIFIER_CHILD=" + backend + " " + mode_name(mode) + " " + obj.string();
  std::vector<std::string> envs;
  std::string asan = "ASAN_OPTIONS=detect_leaks=0";
  for (char **e = environ; *e; e++) {
    if (strncmp(*e, "ASAN_OPTIONS=", 13) == 0) asan = std::string(*e) + ":detect_leaks=0";
    else if (strncmp(*e, "UBT_VERIFIER_CHILD=", 19) != 0 && strncmp(*e, "USERBPF_UNPRIVILEGED=", 21) != 0)
      envs.push_back(*e);
  }
  envs.push_back(spec);
  // The child's job is its report; in the ASan build, LeakSanitizer would
  // judge libbpf's process-lifetime caches at its exit.
  envs.push_back(asan);
  std::vector<char *> envp;
  for (std::string &s : envs) envp.push_back(s.data());
  envp.push_back(nullptr);
  char self[] = "/proc/self/exe";
  char *argv[] = {self, nullptr};
  pid_t pid = fork();
  if (pid == 0) {
    dup2(pipefd[1], 1);
    execve("/proc/self/exe", argv, envp.data());
    _exit(127);
  }
  close(pipefd[1]);
  std::string text;
  char buf[65536];
  ssize_t n;
  while ((n = read(pipefd[0], buf, sizeof(buf))) > 0) text.append(buf, static_cast<size_t>(n));
  close(pipefd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    *error = "child (" + backend + ", " + mode_name(mode) + ") died: status " + std::to_string(status) + "\n" + text;
    return out;
  }
  std::istringstream in(text);
  std::string line;
  CLoad *cur = nullptr;
  while (std::getline(in, line)) {
    if (line.rfind("@@error", 0) == 0) {
      *error = line.substr(8) + "\n" + text;
      return out;
    }
    if (line.rfind("@@prog ", 0) == 0) {
      std::istringstream w(line.substr(7));
      CLoad l;
      int err = 0;
      w >> l.prog >> err;
      l.verdict = {true, err};
      out.push_back(l);
      cur = &out.back();
    } else if (line == "@@end") {
      cur = nullptr;
    } else if (cur) {
      cur->log += line + "\n";
    }
  }
  return out;
}

class CCorpus : public ::testing::TestWithParam<fs::path> {};

TEST_P(CCorpus, Verdicts) {
  fs::path src = GetParam();
  std::string stem = src.stem().string();
  fs::path obj = fs::path(UBT_VERIFIER_C_OBJ_DIR) / (stem + ".bpf.o");
  ASSERT_TRUE(fs::exists(obj)) << obj << " was not built (clang -target bpf)";
  std::string text = read_file(src);
  std::string perr;
  std::vector<CExpect> expects = parse_c_expectations(text, &perr);
  ASSERT_TRUE(perr.empty()) << src << ": " << perr;
  std::string kernel_why = kernel_unavailable_reason();

  if (recording()) {
    if (!kernel_why.empty()) GTEST_SKIP() << "UBT_VERIFIER_RECORD needs the kernel: " << kernel_why;
    std::map<std::string, CExpect> rec;
    std::vector<std::string> order;
    for (Mode mode : {Mode::kPriv, Mode::kUnpriv}) {
      std::string error;
      auto loads = run_c_child("kernel", mode, obj, &error);
      ASSERT_TRUE(error.empty()) << error;
      for (const CLoad &l : loads) {
        if (!rec.count(l.prog)) order.push_back(l.prog);
        rec[l.prog].prog = l.prog;
        rec[l.prog].expect[mode == Mode::kPriv ? 0 : 1] = l.verdict;
        printf("record c/%s:%s %s %s%s\n", stem.c_str(), l.prog.c_str(), mode_name(mode),
               verdict_text(l.verdict).c_str(), l.verdict.err ? ("  [" + log_reason(l.log) + "]").c_str() : "");
      }
    }
    // Drop the old verdict lines, append the new ones at the end of the header.
    std::string kept, line;
    std::istringstream in(text);
    std::string lines;
    for (const std::string &p : order)
      lines += "// verdict: " + p + " priv=" + verdict_word(rec[p].expect[0]) + " unpriv=" +
               verdict_word(rec[p].expect[1]) + "\n";
    bool inserted = false;
    while (std::getline(in, line)) {
      if (line.rfind("// verdict:", 0) == 0) {
        if (!inserted) kept += lines;
        inserted = true;
        continue;
      }
      kept += line + "\n";
    }
    if (!inserted) kept = lines + kept;
    std::ofstream(src, std::ios::binary) << kept;
    return;
  }

  ASSERT_FALSE(expects.empty()) << src << " has no '// verdict:' lines (record them with UBT_VERIFIER_RECORD=1)";
  for (Mode mode : {Mode::kPriv, Mode::kUnpriv}) {
    int i = mode == Mode::kPriv ? 0 : 1;
    std::map<std::string, std::string> kernel_logs; // program -> the kernel's log
    if (kernel_why.empty()) {
      std::string error;
      auto loads = run_c_child("kernel", mode, obj, &error);
      ASSERT_TRUE(error.empty()) << error;
      for (const CExpect &e : expects) {
        auto it = std::find_if(loads.begin(), loads.end(), [&](const CLoad &l) { return l.prog == e.prog; });
        ASSERT_NE(it, loads.end()) << "program " << e.prog << " not in " << obj;
        std::string p = judge_kernel("c/" + stem + ":" + e.prog, mode, e.expect[i], "", it->verdict, it->log);
        EXPECT_TRUE(p.empty()) << p;
        kernel_logs[e.prog] = it->log;
      }
      EXPECT_EQ(loads.size(), expects.size()) << "the object's programs and the '// verdict:' lines differ";
    }
    std::string error;
    auto loads = run_c_child("userbpf", mode, obj, &error);
    ASSERT_TRUE(error.empty()) << error;
    for (const CExpect &e : expects) {
      auto it = std::find_if(loads.begin(), loads.end(), [&](const CLoad &l) { return l.prog == e.prog; });
      ASSERT_NE(it, loads.end()) << "program " << e.prog << " not in " << obj;
      auto k = kernel_logs.find(e.prog);
      std::string p = judge_userbpf("c/" + stem + ":" + e.prog, mode, e.expect[i], "", it->verdict, it->log, true,
                                    k == kernel_logs.end() ? nullptr : &k->second);
      EXPECT_TRUE(p.empty()) << p;
    }
  }
}

std::vector<fs::path> c_corpus() {
  if (std::string(UBT_VERIFIER_C_OBJ_DIR).empty()) return {};
  return corpus_files(fs::path(UBT_VERIFIER_CORPUS_DIR) / "c", ".c");
}

INSTANTIATE_TEST_SUITE_P(Verifier, CCorpus, ::testing::ValuesIn(c_corpus()), param_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(CCorpus);

TEST(VerifierCorpus, CObjectsBuilt) {
  if (std::string(UBT_VERIFIER_C_OBJ_DIR).empty())
    GTEST_SKIP() << "clang with the BPF target was not found at configure time: the C corpus is not built";
  EXPECT_GE(corpus_files(fs::path(UBT_VERIFIER_CORPUS_DIR) / "c", ".c", false).size(), 6u);
}

} // namespace

int main(int argc, char **argv) {
  // userbpf charges map memory to RLIMIT_MEMLOCK (pre-5.11 style); this host's
  // hard limit is 8 MiB and cannot be raised without CAP_SYS_RESOURCE.
  setenv("USERBPF_MEMLOCK_LIMIT", "unlimited", 0);
  if (const char *spec = getenv("UBT_VERIFIER_CHILD")) return c_child(spec);
  ::testing::InitGoogleTest(&argc, argv);
  ubt::use_private_fs_root();
  return RUN_ALL_TESTS();
}
