// Bob Jenkins' lookup3 hash ("jhash"), as the Linux kernel's <linux/jhash.h>
// computes it. Hash maps must hash exactly as the kernel does: with
// BPF_F_ZERO_SEED the bucket of every key, and so the GET_NEXT_KEY walk order,
// is then the kernel's.
//
// Written from the algorithm's public description (lookup3.c, 2006): three
// 32-bit lanes a, b, c start at an initial value; each 12-byte block is added
// to them and stirred by mix(); the last, partial block is added and the lanes
// are finished by final(); c is the hash. The kernel's variants:
//   jhash(bytes, length, seed)  - any length, bytes read little-endian
//   jhash2(words, nwords, seed) - a key that is a whole number of u32 words
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace userbpf {

namespace jhash_detail {

constexpr uint32_t kInitVal = 0xdeadbeef; // lookup3's arbitrary starting value

constexpr uint32_t rol32(uint32_t word, unsigned shift) {
  return (word << shift) | (word >> ((32 - shift) & 31));
}

// Reversibly stir three lanes so that every input bit affects every output bit.
inline void mix(uint32_t &a, uint32_t &b, uint32_t &c) {
  a -= c; a ^= rol32(c, 4);  c += b;
  b -= a; b ^= rol32(a, 6);  a += c;
  c -= b; c ^= rol32(b, 8);  b += a;
  a -= c; a ^= rol32(c, 16); c += b;
  b -= a; b ^= rol32(a, 19); a += c;
  c -= b; c ^= rol32(b, 4);  b += a;
}

// Final avalanche of the three lanes into c.
inline void final(uint32_t &a, uint32_t &b, uint32_t &c) {
  c ^= b; c -= rol32(b, 14);
  a ^= c; a -= rol32(c, 11);
  b ^= a; b -= rol32(a, 25);
  c ^= b; c -= rol32(b, 16);
  a ^= c; a -= rol32(c, 4);
  b ^= a; b -= rol32(a, 14);
  c ^= b; c -= rol32(b, 24);
}

// A little-endian u32 at any alignment (the kernel's get_unaligned_cpu32 on x86).
inline uint32_t load_u32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, sizeof(v));
  return v;
}

} // namespace jhash_detail

// The kernel's jhash(key, length, initval).
[[gnu::always_inline]] inline uint32_t jhash(const void *key, uint32_t length, uint32_t initval) {
  using namespace jhash_detail;
  const auto *k = static_cast<const uint8_t *>(key);
  uint32_t a, b, c;
  a = b = c = kInitVal + length + initval;

  while (length > 12) {
    a += load_u32(k);
    b += load_u32(k + 4);
    c += load_u32(k + 8);
    mix(a, b, c);
    length -= 12;
    k += 12;
  }
  // The last 1..12 bytes; an empty tail (length 0) skips the final mix.
  switch (length) {
    case 12: c += uint32_t{k[11]} << 24; [[fallthrough]];
    case 11: c += uint32_t{k[10]} << 16; [[fallthrough]];
    case 10: c += uint32_t{k[9]} << 8;   [[fallthrough]];
    case 9:  c += k[8];                  [[fallthrough]];
    case 8:  b += uint32_t{k[7]} << 24;  [[fallthrough]];
    case 7:  b += uint32_t{k[6]} << 16;  [[fallthrough]];
    case 6:  b += uint32_t{k[5]} << 8;   [[fallthrough]];
    case 5:  b += k[4];                  [[fallthrough]];
    case 4:  a += uint32_t{k[3]} << 24;  [[fallthrough]];
    case 3:  a += uint32_t{k[2]} << 16;  [[fallthrough]];
    case 2:  a += uint32_t{k[1]} << 8;   [[fallthrough]];
    case 1:  a += k[0];
      final(a, b, c);
      break;
    case 0:
      break;
  }
  return c;
}

// The kernel's jhash2(k, length_in_words, initval). k need not be aligned.
[[gnu::always_inline]] inline uint32_t jhash2(const void *key, uint32_t nwords, uint32_t initval) {
  using namespace jhash_detail;
  const auto *k = static_cast<const uint8_t *>(key);
  uint32_t a, b, c;
  a = b = c = kInitVal + (nwords << 2) + initval;

  while (nwords > 3) {
    a += load_u32(k);
    b += load_u32(k + 4);
    c += load_u32(k + 8);
    mix(a, b, c);
    nwords -= 3;
    k += 12;
  }
  switch (nwords) {
    case 3: c += load_u32(k + 8); [[fallthrough]];
    case 2: b += load_u32(k + 4); [[fallthrough]];
    case 1: a += load_u32(k);
      final(a, b, c);
      break;
    case 0:
      break;
  }
  return c;
}

// The kernel's htab_map_hash(): jhash2 for keys made of whole u32 words,
// jhash otherwise.
[[gnu::always_inline]] inline uint32_t htab_hash(const void *key, uint32_t key_size, uint32_t seed) {
  // The usual key sizes get a copy with the length known, fully unrolled.
  if (key_size == 4) return jhash2(key, 1, seed);
  if (key_size == 8) return jhash2(key, 2, seed);
  if (key_size % 4 == 0) return jhash2(key, key_size / 4, seed);
  return jhash(key, key_size, seed);
}

} // namespace userbpf
