#include "object/fd_table.h"

#include <cstddef>

namespace userbpf {

std::atomic<std::atomic<Handle *> *> g_fd_chunks[kFdChunks];

Handle *fd_table_exchange(int fd, Handle *h) {
  if (fd < 0) return nullptr;
  unsigned chunk = static_cast<unsigned>(fd) >> kFdChunkBits;
  if (chunk >= static_cast<unsigned>(kFdChunks)) return nullptr;
  std::atomic<Handle *> *c = g_fd_chunks[chunk].load(std::memory_order_acquire);
  if (!c) {
    if (!h) return nullptr;
    auto *fresh = new std::atomic<Handle *>[kFdChunkSize]();
    if (g_fd_chunks[chunk].compare_exchange_strong(c, fresh, std::memory_order_acq_rel)) {
      c = fresh;
    } else {
      delete[] fresh; // another thread won; c now holds its chunk
    }
  }
  return c[fd & (kFdChunkSize - 1)].exchange(h, std::memory_order_acq_rel);
}

} // namespace userbpf
