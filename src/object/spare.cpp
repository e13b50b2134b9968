#include "object/spare.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <vector>

#include "object/store.h"

namespace userbpf {
namespace {

// How many spares to keep ready: enough for a burst of loads while the
// thread makes more, few enough not to weigh on the process's fd budget
// (two fds each).
constexpr size_t kSpareTarget = 3;

// Our own fds and mappings bypass the close()/mmap() interposers.
void raw_close(int fd) { syscall(SYS_close, fd); }

// pthread primitives rather than std:: ones: the fork handlers re-create
// them in the child.
struct Pool {
  pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  pthread_cond_t wanted = PTHREAD_COND_INITIALIZER; // the filler waits here
  std::vector<SpareRegion> ready;
  bool filler_running = false;
  bool failing = false; // the last attempt failed: wait for the next take
  bool forked = false;  // a forked child: no spares (see after_fork_child)
};

Pool &pool() {
  static Pool *p = new Pool; // never destroyed: the filler may outlive exit()
  return *p;
}

void discard(const SpareRegion &s) {
  syscall(SYS_munmap, s.base, kSpareRegionSize);
  raw_close(s.handle_fd);
  raw_close(s.internal_fd);
}

// The work object_create() would otherwise do on the caller's time.
bool make_spare(SpareRegion *s) {
  int fd = open((store_dir() + "/obj").c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  struct stat sb;
  char proc[64];
  snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
  int hfd = -1;
  long base = -1;
  struct flock fl = {};
  fl.l_type = F_RDLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = kHandleLockBase + 1;
  fl.l_len = 1;
  if (fallocate(fd, 0, 0, static_cast<off_t>(kSpareRegionSize)) == 0 && fstat(fd, &sb) == 0 &&
      (base = syscall(SYS_mmap, nullptr, kSpareRegionSize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd,
                      off_t{0})) != -1 &&
      (hfd = open(proc, O_RDWR | O_CLOEXEC)) >= 0 && fcntl(hfd, F_OFD_SETLK, &fl) == 0 &&
      lseek(hfd, static_cast<off_t>(handle_file_offset(1, kModeRead | kModeWrite)), SEEK_SET) >= 0) {
    *s = SpareRegion{fd, hfd, reinterpret_cast<void *>(base), sb.st_ino, sb.st_dev};
    return true;
  }
  if (base != -1) syscall(SYS_munmap, base, kSpareRegionSize);
  if (hfd >= 0) raw_close(hfd);
  raw_close(fd);
  return false;
}

void *filler(void *) {
  Pool &p = pool();
  pthread_mutex_lock(&p.mu);
  for (;;) {
    while (p.ready.size() >= kSpareTarget || p.failing) pthread_cond_wait(&p.wanted, &p.mu);
    pthread_mutex_unlock(&p.mu);
    SpareRegion s;
    bool ok = make_spare(&s);
    pthread_mutex_lock(&p.mu);
    if (ok) p.ready.push_back(s);
    else p.failing = true;
  }
  return nullptr;
}

// Caller holds p.mu.
void start_filler(Pool &p) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  // The thread takes no signals: the program's handlers never run on it.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_t t;
  p.filler_running = pthread_create(&t, &attr, filler, nullptr) == 0;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  pthread_attr_destroy(&attr);
}

// fork(): the child shares the parent's spares' open file descriptions; it
// drops them. It does not start a filler of its own: a thread started after
// fork() in a multi-threaded process is what ThreadSanitizer refuses and
// POSIX leaves undefined, and children are mostly short-lived. It creates
// its objects' files itself, as without spares.
void before_fork() { pthread_mutex_lock(&pool().mu); }
void after_fork_parent() { pthread_mutex_unlock(&pool().mu); }
void after_fork_child() {
  Pool &p = pool();
  for (const SpareRegion &s : p.ready) discard(s);
  p.ready.clear();
  p.filler_running = false;
  p.forked = true;
  pthread_mutex_init(&p.mu, nullptr);
  pthread_cond_init(&p.wanted, nullptr);
}

// Both fds still ours: the program may have closed or replaced them.
bool still_ours(const SpareRegion &s, bool *internal_ok, bool *handle_ok) {
  struct stat a, b;
  *internal_ok = fstat(s.internal_fd, &a) == 0 && a.st_ino == s.ino && a.st_dev == s.dev && a.st_nlink == 0;
  *handle_ok = fstat(s.handle_fd, &b) == 0 && b.st_ino == s.ino && b.st_dev == s.dev;
  return *internal_ok && *handle_ok;
}

} // namespace

bool spare_take(SpareRegion *out) {
  static const bool registered = [] {
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
    return true;
  }();
  (void)registered;
  Pool &p = pool();
  pthread_mutex_lock(&p.mu);
  if (p.forked) {
    pthread_mutex_unlock(&p.mu);
    return false;
  }
  if (!p.filler_running) start_filler(p);
  bool got = !p.ready.empty();
  if (got) {
    *out = p.ready.back();
    p.ready.pop_back();
  }
  p.failing = false;
  pthread_cond_signal(&p.wanted);
  pthread_mutex_unlock(&p.mu);
  if (!got) return false;
  bool internal_ok, handle_ok;
  if (still_ours(*out, &internal_ok, &handle_ok)) return true;
  // Close only what is still ours; a replaced fd number now belongs to the program.
  syscall(SYS_munmap, out->base, kSpareRegionSize);
  if (internal_ok) raw_close(out->internal_fd);
  if (handle_ok) raw_close(out->handle_fd);
  return false;
}

} // namespace userbpf
