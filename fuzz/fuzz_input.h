// The fuzzer's input read as a stream of values, big-endian, for the
// program generators of the fuzz targets. Past the end every read gives 0,
// so any input, even a short one, makes a whole program.
#pragma once

#include <cstddef>
#include <cstdint>

namespace userbpf::fuzz {

class InputReader {
public:
  InputReader(const uint8_t *p, size_t n) : p_(p), n_(n) {}
  bool empty() const { return n_ == 0; }
  uint8_t u8() {
    if (n_ == 0) return 0;
    n_--;
    return *p_++;
  }
  // The next `bytes` bytes (at most 8) as one number.
  uint64_t u64(int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) v = v << 8 | u8();
    return v;
  }
  uint32_t u32() { return static_cast<uint32_t>(u64(4)); }

private:
  const uint8_t *p_;
  size_t n_;
};

} // namespace userbpf::fuzz
