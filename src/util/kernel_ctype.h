// The kernel's character classes (lib/ctype.c): ASCII plus Latin-1, where
// 0xc0-0xff are letters except the signs 0xd7 and 0xf7, and 0xa0-0xff are
// printable. Names the kernel checks (object names, BTF names) use these,
// not the C library's locale-dependent ones.
#pragma once

namespace userbpf {

inline bool kernel_isalpha(unsigned char c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  return c >= 0xc0 && c != 0xd7 && c != 0xf7;
}
inline bool kernel_isdigit(unsigned char c) { return c >= '0' && c <= '9'; }
inline bool kernel_isalnum(unsigned char c) { return kernel_isalpha(c) || kernel_isdigit(c); }
inline bool kernel_isprint(unsigned char c) { return (c >= 0x20 && c < 0x7f) || c >= 0xa0; }

} // namespace userbpf
