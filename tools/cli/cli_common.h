// Shared pieces of the userbpf CLI: errors, fd ownership, the bpftool-style
// word parser, hex formatting and thin wrappers over the C ABI.
//
// The CLI talks to userbpf only through <userbpf/bpf.h> (userbpf_bpf()), the
// same way any user program does, so it exercises the public ABI end to end.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <userbpf/bpf.h>

namespace ubcli {

// JSON that keeps keys in insertion order, so output reads as bpftool's
// ("id", "type", "name", ...) instead of sorted.
using Json = nlohmann::ordered_json;

// A failure to report to the user: "Error: <message>" and a non-zero exit.
class CliError : public std::runtime_error {
public:
  explicit CliError(const std::string &message) : std::runtime_error(message) {}
};

// "<what>: <strerror(err)>". Also names the kernel-internal errnos that leak
// to user space (ENOTSUPP 524 ...), which strerror() does not know.
std::string errno_message(const std::string &what, int err);

// Throws CliError("<what>: <strerror(errno)>"); call right after a failed bpf().
[[noreturn]] void fail_errno(const std::string &what);

// Owns one file descriptor; closes it when it goes out of scope.
class Fd {
public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd &&other) noexcept : fd_(other.release()) {}
  Fd &operator=(Fd &&other) noexcept;
  Fd(const Fd &) = delete;
  Fd &operator=(const Fd &) = delete;
  ~Fd();

  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

private:
  int fd_ = -1;
};

// The remaining command-line words of a verb, consumed left to right, as
// bpftool reads its "keyword value" grammar (`id 3 key hex 01 00 00 00 ...`).
class Words {
public:
  explicit Words(std::vector<std::string> words) : words_(std::move(words)) {}

  bool empty() const { return pos_ >= words_.size(); }
  const std::string &peek() const;
  // The next word; CliError("<what> expected") when there is none.
  std::string next(const std::string &what);
  // Consumes the next word when it equals keyword.
  bool accept(const std::string &keyword);
  // CliError when words are left over (a typo should not be silently ignored).
  void expect_end() const;

private:
  std::vector<std::string> words_;
  size_t pos_ = 0;
};

// Unsigned number in C notation (decimal, 0x hex, 0 octal) that fits in max.
uint64_t parse_number(const std::string &word, const std::string &what, uint64_t max);

// Reads exactly size bytes for `what` ("key", "value"): an optional leading
// "hex" keyword makes every byte base 16 (bpftool's `key hex 0a 00`);
// otherwise each byte is in C notation (`key 10 0 0x0 0`).
std::vector<uint8_t> parse_bytes(Words &words, const std::string &what, size_t size);

// "0a 00 ff" (plain output) and ["0x0a","0x00","0xff"] (JSON, as bpftool).
std::string hex_string(const uint8_t *data, size_t len);
Json hex_json(const uint8_t *data, size_t len);

// ---- thin wrappers over userbpf_bpf(): return -1 with errno like the ABI.
long bpf_call(int cmd, union bpf_attr &attr);
// BPF_OBJ_GET_INFO_BY_FD for a map: 0, or -1 with errno.
int map_info_by_fd(int fd, bpf_map_info *info);

} // namespace ubcli
