// One open+load of a libbpf object, as a program that loads it once does:
// prints the microseconds of bpf_object__open_file + bpf_object__load, and
// with --closes also how many close() calls libbpf made during the load and
// their mean time (libbpf closes its feature probes' and loading probe's
// fds there). It links libbpf only: its bpf() calls go to the kernel, or to
// userbpf under LD_PRELOAD=libuserbpf-preload.so. bench/ab_oneshot.py runs it
// in fresh processes, two userbpf builds and the kernel in turn.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

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

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s OBJECT.bpf.o [--closes]\n", argv[0]);
    return 2;
  }
  double t0 = now_us();
  struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
  if (!obj) return 1;
  in_load = 1;
  int err = bpf_object__load(obj);
  in_load = 0;
  double t1 = now_us();
  bpf_object__close(obj);
  if (err) return 1;
  if (argc > 2 && strcmp(argv[2], "--closes") == 0)
    printf("%.1f %d %.1f\n", t1 - t0, closes, closes ? close_us / closes : 0.0);
  else
    printf("%.1f\n", t1 - t0);
  return 0;
}
