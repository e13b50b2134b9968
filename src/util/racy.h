// Copies of map values that other threads (or processes) may be reading or
// writing at the same time.
//
// The kernel copies map values with plain memcpy while programs and syscalls
// race on them: a reader can see a torn value, and that is the documented
// behaviour (use BPF_F_LOCK or atomics for consistency). In C++ a plain racy
// memcpy is undefined behaviour and ThreadSanitizer reports it, so userbpf
// copies with relaxed atomic accesses instead. On x86-64 a relaxed atomic load
// or store is an ordinary mov: the cost is only that the compiler will not
// vectorise the loop. Torn values remain possible, exactly as in the kernel.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace userbpf {

namespace racy_detail {

inline uint8_t load_byte(const void *p) {
  return __atomic_load_n(static_cast<const uint8_t *>(p), __ATOMIC_RELAXED);
}
inline void store_byte(void *p, uint8_t v) {
  __atomic_store_n(static_cast<uint8_t *>(p), v, __ATOMIC_RELAXED);
}

// One 8-byte word from src, whatever its alignment.
inline uint64_t load_word(const uint8_t *src) {
  if ((reinterpret_cast<uintptr_t>(src) & 7) == 0)
    return __atomic_load_n(reinterpret_cast<const uint64_t *>(src), __ATOMIC_RELAXED);
  uint8_t bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = load_byte(src + i);
  uint64_t word;
  memcpy(&word, bytes, sizeof(word));
  return word;
}

} // namespace racy_detail

// memcpy(dst, src, n) where either side may be concurrently accessed by
// others. The buffers must not overlap. No ordering is implied.
inline void racy_copy(void *dst, const void *src, size_t n) {
  using namespace racy_detail;
  auto *d = static_cast<uint8_t *>(dst);
  auto *s = static_cast<const uint8_t *>(src);
  // Align the destination so that every word store is one atomic store.
  while (n > 0 && (reinterpret_cast<uintptr_t>(d) & 7) != 0) {
    store_byte(d++, load_byte(s++));
    --n;
  }
  for (; n >= 8; n -= 8, d += 8, s += 8)
    __atomic_store_n(reinterpret_cast<uint64_t *>(d), load_word(s), __ATOMIC_RELAXED);
  while (n > 0) {
    store_byte(d++, load_byte(s++));
    --n;
  }
}

// memset(dst, 0, n) for memory others may be reading.
inline void racy_zero(void *dst, size_t n) {
  using namespace racy_detail;
  auto *d = static_cast<uint8_t *>(dst);
  while (n > 0 && (reinterpret_cast<uintptr_t>(d) & 7) != 0) {
    store_byte(d++, 0);
    --n;
  }
  for (; n >= 8; n -= 8, d += 8) __atomic_store_n(reinterpret_cast<uint64_t *>(d), uint64_t{0}, __ATOMIC_RELAXED);
  while (n > 0) {
    store_byte(d++, 0);
    --n;
  }
}

} // namespace userbpf
