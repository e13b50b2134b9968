// Object open+load time through Debian's libbpf: the same clang-built
// objects (tests/libbpf) opened, loaded and closed, into userbpf and, side by
// side in the same run, into the kernel (where bpf() works). One iteration
// is bpf_object__open_file + bpf_object__load + bpf_object__close: BTF load,
// map creation (global data maps filled and .rodata frozen), verification of
// every program. Rerun:
//   cmake --build build --target libbpf_bench && build/bench/libbpf_bench
// libbpf caches its feature probes per process: a first userbpf load fills
// the cache, so both sides load the same way (the kernel has every feature
// userbpf reports).
//
// `libbpf_bench --breakdown [N]` instead runs N (default 200) open+load+close
// of each object on each side and prints where the time goes: the three
// phases, and every bpf() command libbpf issued (calls per load, failures,
// time), userbpf beside the kernel.
//
// `libbpf_bench --oneshot [N]` times the first open+load of a process, as a
// test that loads its object once sees it: N (default 30) fresh processes
// (this program exec'd again) per object and side, each probing libbpf's
// features and, on userbpf, setting up its store and threads, with nothing
// recycled or made ahead yet. It prints the medians. With ONESHOT_TRACE=1
// in the environment, `libbpf_bench --oneshot-child OBJECT userbpf|kernel`
// (one such process) prints every bpf() command it makes, its result and
// its time, to stderr.
//
// `libbpf_bench --verifier-c [N]` times the BPF_PROG_LOAD of every program of
// the verifier's C corpus (tests/verifier/c, clang -O2 as people build), one
// program per object load, the two sides taking turns N times (31 by
// default): per program the median of each side, as verifier_bench does for
// the assembly corpus (issue 4's speed target).
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <benchmark/benchmark.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "bpf_router.h"
#include "bpf_test_util.h"

namespace {

std::string obj_path(const char *name) { return std::string(USERBPF_LIBBPF_OBJ_DIR) + "/" + name + ".bpf.o"; }

uint64_t now_ns() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

// Nanoseconds spent in each phase of open_load_close(), summed.
struct Phases {
  uint64_t open = 0, load = 0, close = 0;
};

bool open_load_close(const std::string &path, Phases *phases = nullptr) {
  uint64_t t0 = now_ns();
  struct bpf_object *obj = bpf_object__open_file(path.c_str(), nullptr);
  if (!obj) return false;
  uint64_t t1 = now_ns();
  int err = bpf_object__load(obj);
  uint64_t t2 = now_ns();
  bpf_object__close(obj);
  if (phases) {
    phases->open += t1 - t0;
    phases->load += t2 - t1;
    phases->close += now_ns() - t2;
  }
  return err == 0;
}

// ---- --breakdown

struct CommandStats {
  uint64_t calls = 0, fails = 0, ns = 0;
};
std::map<int, CommandStats> g_commands[2]; // per backend: bpf() command -> stats

const char *command_name(int cmd) {
  switch (cmd) {
    case BPF_MAP_CREATE: return "MAP_CREATE";
    case BPF_MAP_LOOKUP_ELEM: return "MAP_LOOKUP_ELEM";
    case BPF_MAP_UPDATE_ELEM: return "MAP_UPDATE_ELEM";
    case BPF_MAP_FREEZE: return "MAP_FREEZE";
    case BPF_PROG_LOAD: return "PROG_LOAD";
    case BPF_BTF_LOAD: return "BTF_LOAD";
    case BPF_OBJ_GET_INFO_BY_FD: return "OBJ_GET_INFO_BY_FD";
    case BPF_PROG_BIND_MAP: return "PROG_BIND_MAP";
    default: return nullptr;
  }
}

// N loads of `name` on each side; false if a side failed to load it.
bool breakdown(const char *name, int loads) {
  std::string path = obj_path(name);
  const ubt::Backend backends[2] = {ubt::Backend::kUserbpf, ubt::Backend::kKernel};
  const char *labels[2] = {"userbpf", "kernel"};
  std::string why;
  bool kernel = ubt::kernel_bpf_available(&why);
  Phases phases[2];
  for (int side = 0; side < (kernel ? 2 : 1); side++) {
    g_commands[side].clear();
    ubt::bpf_observer = side == 0 ? [](ubt::Backend, int cmd, long ret, uint64_t ns) {
      CommandStats &s = g_commands[0][cmd];
      s.calls++, s.fails += ret < 0, s.ns += ns;
    } : [](ubt::Backend, int cmd, long ret, uint64_t ns) {
      CommandStats &s = g_commands[1][cmd];
      s.calls++, s.fails += ret < 0, s.ns += ns;
    };
    for (int i = 0; i < loads; i++) {
      if (!ubt::with_backend(backends[side], [&] { return open_load_close(path, &phases[side]); })) {
        fprintf(stderr, "%s: load failed on %s: %s\n", name, labels[side], strerror(errno));
        ubt::bpf_observer = nullptr;
        return false;
      }
    }
    ubt::bpf_observer = nullptr;
  }
  auto us = [&](uint64_t ns) { return static_cast<double>(ns) / loads / 1000; };
  printf("%s: %d open+load+close per side, mean per load (bpf() commands: calls x time each = time)%s\n", name, loads,
         kernel ? "" : (" (kernel side skipped: " + why + ")").c_str());
  int sides = kernel ? 2 : 1;
  printf("  %-20s", "");
  for (int side = 0; side < sides; side++) printf(" %-38s", labels[side]);
  printf("\n");
  const char *phase_names[3] = {"open", "load", "close"};
  uint64_t Phases::*const fields[3] = {&Phases::open, &Phases::load, &Phases::close};
  for (int p = 0; p < 3; p++) {
    printf("  %-20s", phase_names[p]);
    for (int side = 0; side < sides; side++) {
      char cell[32];
      snprintf(cell, sizeof(cell), "%.1f us", us(phases[side].*fields[p]));
      printf(" %-38s", cell);
    }
    printf("\n");
  }
  std::map<int, bool> seen;
  for (const auto &side : g_commands)
    for (const auto &entry : side) seen[entry.first] = true;
  for (const auto &entry : seen) {
    int cmd = entry.first;
    const char *known = command_name(cmd);
    printf("  %-20s", known ? known : ("cmd " + std::to_string(cmd)).c_str());
    for (int side = 0; side < sides; side++) {
      const CommandStats &st = g_commands[side][cmd];
      char cell[96];
      int n = snprintf(cell, sizeof(cell), "%.1f x %.1f us = %.1f us", static_cast<double>(st.calls) / loads,
                       st.calls ? static_cast<double>(st.ns) / static_cast<double>(st.calls) / 1000 : 0.0, us(st.ns));
      if (st.fails && n > 0)
        snprintf(cell + n, sizeof(cell) - static_cast<size_t>(n), " (%llu failed)",
                 static_cast<unsigned long long>(st.fails));
      printf(" %-38s", cell);
    }
    printf("\n");
  }
  return true;
}

// ---- --oneshot

// In a fresh process: one open+load+close on `side`; prints the open+load
// microseconds.
int oneshot_child(const char *name, const char *side) {
  const ubt::Backend backend = strcmp(side, "kernel") == 0 ? ubt::Backend::kKernel : ubt::Backend::kUserbpf;
  Phases phases;
  if (getenv("ONESHOT_TRACE"))
    ubt::bpf_observer = [](ubt::Backend, int cmd, long ret, uint64_t ns) {
      fprintf(stderr, "%-20s %6ld %8.1f us\n", command_name(cmd) ? command_name(cmd) : std::to_string(cmd).c_str(), ret,
              static_cast<double>(ns) / 1000);
    };
  if (!ubt::with_backend(backend, [&] { return open_load_close(obj_path(name), &phases); })) return 1;
  printf("%.1f\n", static_cast<double>(phases.open + phases.load) / 1000);
  return 0;
}

// The median open+load of `runs` fresh processes, or a negative number if one failed.
double oneshot_median(const char *name, const char *side, int runs) {
  std::vector<double> us;
  for (int i = 0; i < runs; i++) {
    int out[2];
    if (pipe(out) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
      dup2(out[1], STDOUT_FILENO);
      close(out[0]);
      close(out[1]);
      execl("/proc/self/exe", "libbpf_bench", "--oneshot-child", name, side, static_cast<char *>(nullptr));
      _exit(127);
    }
    close(out[1]);
    char buf[64] = {};
    ssize_t n = read(out[0], buf, sizeof(buf) - 1);
    close(out[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (pid < 0 || n <= 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return -1;
    us.push_back(atof(buf));
  }
  std::sort(us.begin(), us.end());
  return us[us.size() / 2];
}

bool oneshot(int runs) {
  std::string why;
  const bool kernel = ubt::kernel_bpf_available(&why);
  printf("first open+load of a fresh process, median of %d processes per side%s\n", runs,
         kernel ? "" : (" (kernel side skipped: " + why + ")").c_str());
  bool ok = true;
  for (const char *name : {"globals", "typed_maps", "calls"}) {
    const double u = oneshot_median(name, "userbpf", runs);
    const double k = kernel ? oneshot_median(name, "kernel", runs) : 0;
    if (u < 0 || k < 0) {
      fprintf(stderr, "%s: a fresh process failed to load it\n", name);
      ok = false;
      continue;
    }
    if (kernel)
      printf("  %-12s userbpf %8.1f us   kernel %8.1f us   userbpf/kernel %.2fx\n", name, u, k, u / k);
    else
      printf("  %-12s userbpf %8.1f us\n", name, u);
  }
  return ok;
}

// ---- --verifier-c

#ifdef USERBPF_VERIFIER_C_OBJ_DIR
uint64_t g_prog_load_ns = 0; // of the last BPF_PROG_LOAD (libbpf loads the chosen program last)
long g_prog_load_ret = 0;

// Load only program `prog` of the object at `path` on `backend`; the time of
// its BPF_PROG_LOAD, or -1 if it was not loaded.
double prog_load_ns(const std::string &path, const std::string &prog, ubt::Backend backend) {
  return ubt::with_backend(backend, [&]() -> double {
    struct bpf_object *obj = bpf_object__open_file(path.c_str(), nullptr);
    if (!obj) return -1;
    struct bpf_program *p;
    bpf_object__for_each_program(p, obj) bpf_program__set_autoload(p, prog == bpf_program__name(p));
    g_prog_load_ret = -1;
    const int err = bpf_object__load(obj);
    bpf_object__close(obj);
    return err == 0 && g_prog_load_ret >= 0 ? static_cast<double>(g_prog_load_ns) : -1;
  });
}

bool verifier_c(int repeats) {
  std::string why;
  if (!ubt::kernel_bpf_available(&why)) {
    printf("kernel bpf() unavailable (%s): nothing to compare\n", why.c_str());
    return true;
  }
  ubt::bpf_observer = [](ubt::Backend, int cmd, long ret, uint64_t ns) {
    if (cmd == BPF_PROG_LOAD) g_prog_load_ns = ns, g_prog_load_ret = ret;
  };
  std::vector<std::string> objects; // every object the corpus builds, in name order
  for (const auto &e : std::filesystem::directory_iterator(USERBPF_VERIFIER_C_OBJ_DIR))
    if (e.path().extension() == ".o") objects.push_back(e.path().string());
  std::sort(objects.begin(), objects.end());
  printf("%-40s %12s %12s %8s\n", "program (loaded by both)", "userbpf us", "kernel us", "ratio");
  std::vector<double> ratios;
  for (const std::string &path : objects) {
    std::vector<std::string> progs;
    if (struct bpf_object *obj = bpf_object__open_file(path.c_str(), nullptr)) {
      struct bpf_program *p;
      bpf_object__for_each_program(p, obj) progs.push_back(bpf_program__name(p));
      bpf_object__close(obj);
    }
    for (const std::string &prog : progs) {
      std::vector<double> tu, tk;
      for (int i = 0; i < repeats; i++) {
        const double u = prog_load_ns(path, prog, ubt::Backend::kUserbpf);
        const double k = prog_load_ns(path, prog, ubt::Backend::kKernel);
        if (u < 0 || k < 0) break; // rejected (a corpus case of a refusal), or not loadable here
        tu.push_back(u);
        tk.push_back(k);
      }
      if (static_cast<int>(tu.size()) != repeats) continue;
      std::sort(tu.begin(), tu.end());
      std::sort(tk.begin(), tk.end());
      const double u = tu[tu.size() / 2], k = tk[tk.size() / 2];
      ratios.push_back(u / k);
      const std::string label = path.substr(path.rfind('/') + 1, path.size() - path.rfind('/') - 7) + ":" + prog;
      printf("%-40s %12.1f %12.1f %8.2f\n", label.c_str(), u / 1000, k / 1000, u / k);
    }
  }
  ubt::bpf_observer = nullptr;
  if (ratios.empty()) return false;
  std::sort(ratios.begin(), ratios.end());
  const auto slower = std::count_if(ratios.begin(), ratios.end(), [](double r) { return r > 1.0; });
  printf("per-program userbpf/kernel: median %.2fx, p90 %.2fx, max %.2fx; %ld of %zu slower than the kernel\n",
         ratios[ratios.size() / 2], ratios[ratios.size() * 9 / 10], ratios.back(), static_cast<long>(slower),
         ratios.size());
  return true;
}
#endif

void BM_OpenLoad(benchmark::State &state, const char *name, ubt::Backend backend) {
  std::string path = obj_path(name);
  if (backend == ubt::Backend::kKernel && !ubt::kernel_bpf_available(nullptr)) {
    state.SkipWithError("kernel bpf() unavailable");
    return;
  }
  for (auto _ : state) {
    bool ok = ubt::with_backend(backend, [&] { return open_load_close(path); });
    if (!ok) {
      state.SkipWithError(("load failed: " + std::string(strerror(errno))).c_str());
      break;
    }
  }
}

// A mode's count argument: `argv[1] flag [N]`. -1 if argv[1] is not flag,
// 0 after a usage line if N is not a positive number, else N (dflt if none).
int mode_count(int argc, char **argv, const char *flag, const char *what, int dflt) {
  if (argc < 2 || strcmp(argv[1], flag) != 0) return -1;
  const int n = argc >= 3 ? atoi(argv[2]) : dflt;
  if (n <= 0) fprintf(stderr, "usage: %s %s [%s]\n", argv[0], flag, what);
  return n > 0 ? n : 0;
}

} // namespace

int main(int argc, char **argv) {
  libbpf_set_print([](enum libbpf_print_level, const char *, va_list) { return 0; });
  // (In the parent's private root, inherited through the environment.)
  if (argc == 4 && strcmp(argv[1], "--oneshot-child") == 0) return oneshot_child(argv[2], argv[3]);
  ubt::use_private_fs_root();
  if (int runs = mode_count(argc, argv, "--oneshot", "PROCESSES", 30); runs >= 0) return !runs ? 2 : oneshot(runs) ? 0 : 1;
  ubt::with_backend(ubt::Backend::kUserbpf, [] { return open_load_close(obj_path("globals")); });
#ifdef USERBPF_VERIFIER_C_OBJ_DIR
  if (int repeats = mode_count(argc, argv, "--verifier-c", "REPEATS", 31); repeats >= 0)
    return !repeats ? 2 : verifier_c(repeats) ? 0 : 1;
#endif
  if (int loads = mode_count(argc, argv, "--breakdown", "LOADS", 200); loads >= 0) {
    if (!loads) return 2;
    bool ok = true;
    for (const char *name : {"globals", "typed_maps", "calls"}) ok = breakdown(name, loads) && ok;
    return ok ? 0 : 1;
  }
  for (const char *name : {"globals", "typed_maps", "calls"}) {
    benchmark::RegisterBenchmark((std::string("OpenLoad/") + name + "/userbpf").c_str(), BM_OpenLoad, name,
                                 ubt::Backend::kUserbpf)
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark((std::string("OpenLoad/") + name + "/kernel").c_str(), BM_OpenLoad, name,
                                 ubt::Backend::kKernel)
        ->Unit(benchmark::kMicrosecond);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
