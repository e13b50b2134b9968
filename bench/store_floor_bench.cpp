// What one map object costs the file system, step by step: the system calls
// a userbpf MAP_CREATE and its release make on the store's tmpfs (create the
// named file, take the handle lock, record the mode, open our own
// description, fstat, fallocate, mmap, fault the pages in; at the end unlink,
// close both, munmap), each timed alone, against the kernel's whole
// BPF_MAP_CREATE + close of an array of the same size. A second variant
// reuses one file by renaming it in and out of the object's name (what
// recycling released files within a process would cost). This is the floor
// under userbpf's MAP_CREATE while every map has a file of its own; see
// docs/DESIGN-NOTES.md "What an object still costs". Rerun:
//   cmake --build build --target store_floor_bench && build/bench/store_floor_bench [ITERATIONS] [REGION_BYTES]
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace {

double now_ns() {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<double>(t.tv_sec) * 1e9 + static_cast<double>(t.tv_nsec);
}

struct Step {
  const char *name;
  double ns = 0;
};

// Time `fn` into steps[i].
template <typename F> void timed(std::vector<Step> &steps, size_t i, F &&fn) {
  const double t = now_ns();
  fn();
  steps[i].ns += now_ns() - t;
}

void print(const char *title, const std::vector<Step> &steps, int n) {
  printf("%s\n", title);
  double total = 0;
  for (const Step &s : steps) {
    printf("  %-28s %8.0f ns\n", s.name, s.ns / n);
    total += s.ns;
  }
  printf("  %-28s %8.0f ns\n\n", "total", total / n);
}

// A handle's lock, as the store takes it (one byte past 2^40).
struct flock handle_lock() {
  struct flock fl = {};
  fl.l_type = F_RDLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = off_t{1} << 40;
  fl.l_len = 1;
  return fl;
}

bool fail(const char *what) {
  fprintf(stderr, "store_floor_bench: %s: %s\n", what, strerror(errno));
  return false;
}

// The steps of a map's life with a file of its own.
bool own_file(const std::string &dir, int n, size_t region) {
  std::vector<Step> steps = {{"create (O_CREAT|O_EXCL)"}, {"handle lock (F_OFD_SETLK)"}, {"mode (lseek)"},
                             {"own description (open)"}, {"fstat"}, {"fallocate"}, {"mmap"},
                             {"first touch of each page"}, {"release: unlink"}, {"close both"},
                             {"munmap (frees the pages)"}};
  for (int i = 0; i < n; i++) {
    const std::string path = dir + "/own-" + std::to_string(i);
    int fd = -1, own = -1;
    void *p = MAP_FAILED;
    struct stat sb;
    timed(steps, 0, [&] { fd = open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600); });
    if (fd < 0) return fail("create");
    struct flock fl = handle_lock();
    timed(steps, 1, [&] { fcntl(fd, F_OFD_SETLK, &fl); });
    timed(steps, 2, [&] { lseek(fd, 259, SEEK_SET); });
    timed(steps, 3, [&] { own = open(path.c_str(), O_RDWR | O_CLOEXEC); });
    if (own < 0) return fail("open");
    timed(steps, 4, [&] { fstat(own, &sb); });
    timed(steps, 5, [&] { (void)fallocate(own, 0, 0, static_cast<off_t>(region)); });
    timed(steps, 6, [&] { p = mmap(nullptr, region, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, own, 0); });
    if (p == MAP_FAILED) return fail("mmap");
    timed(steps, 7, [&] {
      for (size_t off = 0; off < region; off += 4096) static_cast<volatile char *>(p)[off] = 1;
    });
    timed(steps, 8, [&] { unlink(path.c_str()); });
    timed(steps, 9, [&] {
      close(fd);
      close(own);
    });
    timed(steps, 10, [&] { munmap(p, region); });
  }
  print("a file of its own per map (today's MAP_CREATE and release, system calls only):", steps, n);
  return true;
}

// One file reused: renamed in under the object's name, renamed out at release.
bool renamed_file(const std::string &dir, int n, size_t region) {
  const std::string spare = dir + "/spare";
  int own = open(spare.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (own < 0) return fail("spare");
  if (fallocate(own, 0, 0, static_cast<off_t>(region)) != 0) return fail("fallocate");
  void *p = mmap(nullptr, region, PROT_READ | PROT_WRITE, MAP_SHARED, own, 0);
  if (p == MAP_FAILED) return fail("mmap");
  std::vector<Step> steps = {{"claim the name (renameat2)"}, {"handle's description (open)"},
                             {"handle lock (F_OFD_SETLK)"}, {"mode (lseek)"}, {"zero the region"},
                             {"release: rename out"}, {"close"}};
  for (int i = 0; i < n; i++) {
    const std::string path = dir + "/reused-" + std::to_string(i);
    int fd = -1;
    timed(steps, 0, [&] { syscall(SYS_renameat2, AT_FDCWD, spare.c_str(), AT_FDCWD, path.c_str(), 1 /* NOREPLACE */); });
    timed(steps, 1, [&] { fd = open(path.c_str(), O_RDWR | O_CLOEXEC); });
    if (fd < 0) return fail("open");
    struct flock fl = handle_lock();
    timed(steps, 2, [&] { fcntl(fd, F_OFD_SETLK, &fl); });
    timed(steps, 3, [&] { lseek(fd, 259, SEEK_SET); });
    timed(steps, 4, [&] { memset(p, 0, region); });
    timed(steps, 5, [&] { rename(path.c_str(), spare.c_str()); });
    timed(steps, 6, [&] { close(fd); });
  }
  print("one file per process, renamed in and out (recycling):", steps, n);
  munmap(p, region);
  close(own);
  unlink(spare.c_str());
  return true;
}

// The kernel's BPF_MAP_CREATE + close of an array whose values fill the region.
void kernel_map(int n, size_t region) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.map_type = BPF_MAP_TYPE_ARRAY;
  a.key_size = 4;
  a.value_size = 8;
  a.max_entries = static_cast<uint32_t>(region / 8);
  std::vector<Step> steps = {{"BPF_MAP_CREATE"}, {"close"}};
  for (int i = 0; i < n; i++) {
    long fd = -1;
    timed(steps, 0, [&] { fd = syscall(__NR_bpf, BPF_MAP_CREATE, &a, sizeof(a)); });
    if (fd < 0) {
      printf("the kernel: skipped (bpf(): %s)\n", strerror(errno));
      return;
    }
    timed(steps, 1, [&] { close(static_cast<int>(fd)); });
  }
  print("the kernel, an array of the same size:", steps, n);
}

} // namespace

int main(int argc, char **argv) {
  const int n = argc > 1 ? atoi(argv[1]) : 20000;
  const long region_arg = argc > 2 ? atol(argv[2]) : 16384;
  if (n <= 0 || region_arg < 4096 || region_arg % 4096) {
    fprintf(stderr, "usage: %s [ITERATIONS] [REGION_BYTES, a multiple of 4096]\n", argv[0]);
    return 2;
  }
  const size_t region = static_cast<size_t>(region_arg);
  char tmpl[] = "/dev/shm/userbpf-store-floor-XXXXXX";
  if (!mkdtemp(tmpl)) return fail("mkdtemp") ? 0 : 1;
  const std::string dir = tmpl;
  printf("%d iterations, a %zu-byte region, on %s (tmpfs), one thread\n\n", n, region, dir.c_str());
  bool ok = own_file(dir, n, region) && renamed_file(dir, n, region);
  kernel_map(n, region);
  rmdir(dir.c_str());
  return ok ? 0 : 1;
}
