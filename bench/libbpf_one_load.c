// One open+load of a libbpf object, as a program that loads it once does:
// prints the microseconds of bpf_object__open_file + bpf_object__load, and
// with --closes also how many close() calls libbpf made during the load and
// their mean time (libbpf closes its feature probes' and loading probe's
// fds there). It links libbpf only: its bpf() calls go to the kernel, or to
// userbpf under LD_PRELOAD=libuserbpf-preload.so. bench/ab_oneshot.py runs it
// in fresh processes, two userbpf builds and the kernel in turn.
//
// --processes N OBJECT: the whole process, N times: forks and execs itself
// (the environment, LD_PRELOAD included, goes with it) and prints the
// median microseconds of each phase: exec to main (the dynamic loader and
// the libraries' constructors), open+load, bpf_object__close, and from
// there to the parent's waitpid (exit handlers, teardown), and the whole.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int in_load, closes;
static double close_us;

// Ahead of libc's (and of the preloaded library's) close in the lookup
// order: time the calls libbpf makes while it loads.
int close(int fd) {
  static int (*next_close)(int);
  if (!next_close) next_close = (int (*)(int))dlsym(RTLD_NEXT, "close");
  double t = now_us();
  int r = next_close(fd);
  if (in_load) {
    close_us += now_us() - t;
    closes++;
  }
  return r;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof(*v), cmp_double);
  return v[n / 2];
}

// The parent of --processes: runs `self --phases-child OBJECT` n times.
static int whole_processes(const char *self, const char *object, int n) {
  enum { kExec, kLoad, kClose, kExit, kTotal, kPhases };
  static const char *names[kPhases] = {"exec->main", "open+load", "close", "exit", "total"};
  double *v[kPhases];
  for (int p = 0; p < kPhases; p++) v[p] = calloc((size_t)n, sizeof(double));
  for (int i = 0; i < n; i++) {
    int out[2];
    if (pipe(out) != 0) return 1;
    double start = now_us();
    pid_t pid = fork();
    if (pid == 0) {
      dup2(out[1], STDOUT_FILENO);
      close(out[0]);
      close(out[1]);
      execl(self, self, "--phases-child", object, (char *)NULL);
      _exit(127);
    }
    close(out[1]);
    char buf[256] = {0};
    size_t got = 0;
    for (ssize_t r; got < sizeof(buf) - 1 && (r = read(out[0], buf + got, sizeof(buf) - 1 - got)) > 0;) got += (size_t)r;
    close(out[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    double end = now_us();
    double main_at, load, closing, closed_at;
    if (pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
        sscanf(buf, "%lf %lf %lf %lf", &main_at, &load, &closing, &closed_at) != 4) {
      fprintf(stderr, "run %d failed: %s\n", i, buf);
      return 1;
    }
    v[kExec][i] = main_at - start;
    v[kLoad][i] = load;
    v[kClose][i] = closing;
    v[kExit][i] = end - closed_at;
    v[kTotal][i] = end - start;
  }
  for (int p = 0; p < kPhases; p++) printf("%s%s %.0f", p ? "  " : "", names[p], median(v[p], n));
  printf(" us (medians of %d)\n", n);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "--processes") == 0) return whole_processes("/proc/self/exe", argv[3], atoi(argv[2]) > 0 ? atoi(argv[2]) : 1);
  const int phases = argc == 3 && strcmp(argv[1], "--phases-child") == 0;
  const int with_closes = argc == 3 && strcmp(argv[2], "--closes") == 0;
  if (argc < 2 || argc > 3 || (argc == 3 && !phases && !with_closes)) {
    fprintf(stderr, "usage: %s OBJECT.bpf.o [--closes] | --processes N OBJECT.bpf.o\n", argv[0]);
    return 2;
  }
  const char *object = phases ? argv[2] : argv[1];
  double t0 = now_us();
  struct bpf_object *obj = bpf_object__open_file(object, NULL);
  if (!obj) return 1;
  in_load = 1;
  int err = bpf_object__load(obj);
  in_load = 0;
  double t1 = now_us();
  bpf_object__close(obj);
  double t2 = now_us();
  if (err) return 1;
  if (phases)
    printf("%.1f %.1f %.1f %.1f\n", t0, t1 - t0, t2 - t1, t2);
  else if (with_closes)
    printf("%.1f %d %.1f\n", t1 - t0, closes, closes ? close_us / closes : 0.0);
  else
    printf("%.1f\n", t1 - t0);
  return 0;
}
