// This process's fd -> handle table: two levels of atomic pointers, so the
// lookup on every userbpf_bpf() call is two loads and no lock.
#pragma once

#include <atomic>

namespace userbpf {

struct Handle;

constexpr int kFdChunkBits = 10;
constexpr int kFdChunkSize = 1 << kFdChunkBits;
constexpr int kFdChunks = 4096; // covers fds below 4M; larger fds are identified each time

extern std::atomic<std::atomic<Handle *> *> g_fd_chunks[kFdChunks];

// Not instrumented by ThreadSanitizer: the close()/mmap() interposers call it
// while the sanitizer's runtime may still be starting.
__attribute__((no_sanitize("thread"))) inline Handle *fd_table_get(int fd) {
  unsigned chunk = static_cast<unsigned>(fd) >> kFdChunkBits;
  if (chunk >= static_cast<unsigned>(kFdChunks)) return nullptr;
  std::atomic<Handle *> *c = g_fd_chunks[chunk].load(std::memory_order_acquire);
  if (!c) return nullptr;
  return c[fd & (kFdChunkSize - 1)].load(std::memory_order_acquire);
}

// Swap the entry for fd; returns the previous one. For fds beyond the table,
// stores nothing and returns h itself when h is non-null (caller must not keep it).
Handle *fd_table_exchange(int fd, Handle *h);

// Forget fd (the close() interposer calls it before closing).
void handle_forget(int fd);
void handle_munmap(void *addr, size_t len);

} // namespace userbpf
