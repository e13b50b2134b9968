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
#include <errno.h>
#include <string.h>

#include <bpf/libbpf.h>
#include <benchmark/benchmark.h>

#include <string>

#include "bpf_router.h"
#include "bpf_test_util.h"

namespace {

std::string obj_path(const char *name) { return std::string(USERBPF_LIBBPF_OBJ_DIR) + "/" + name + ".bpf.o"; }

bool open_load_close(const std::string &path) {
  struct bpf_object *obj = bpf_object__open_file(path.c_str(), nullptr);
  if (!obj) return false;
  int err = bpf_object__load(obj);
  bpf_object__close(obj);
  return err == 0;
}

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

} // namespace

int main(int argc, char **argv) {
  ubt::use_private_fs_root();
  libbpf_set_print([](enum libbpf_print_level, const char *, va_list) { return 0; });
  ubt::with_backend(ubt::Backend::kUserbpf, [] { return open_load_close(obj_path("globals")); });
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
