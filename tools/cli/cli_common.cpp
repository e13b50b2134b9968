#include "cli_common.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

namespace ubcli {

std::string errno_message(const std::string &what, int err) {
  // The kernel lets a few internal errnos (include/linux/errno.h) reach user
  // space; userbpf returns them too. Name the one users meet.
  if (err == 524) return what + ": Operation not supported (ENOTSUPP, kernel errno 524)";
  return what + ": " + strerror(err);
}

void fail_errno(const std::string &what) { throw CliError(errno_message(what, errno)); }

Fd &Fd::operator=(Fd &&other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = other.release();
  }
  return *this;
}

Fd::~Fd() {
  if (fd_ >= 0) close(fd_);
}

const std::string &Words::peek() const {
  static const std::string none;
  return empty() ? none : words_[pos_];
}

std::string Words::next(const std::string &what) {
  if (empty()) throw CliError(what + " expected");
  return words_[pos_++];
}

bool Words::accept(const std::string &keyword) {
  if (empty() || words_[pos_] != keyword) return false;
  ++pos_;
  return true;
}

void Words::expect_end() const {
  if (!empty()) throw CliError("unexpected argument '" + words_[pos_] + "'");
}

namespace {

// strtoull with the checks it lacks: the whole word must be a number, no
// sign, no overflow. Returns false instead of guessing.
bool to_number(const std::string &word, int base, uint64_t *out) {
  if (word.empty() || word[0] == '-' || word[0] == '+' || isspace(static_cast<unsigned char>(word[0])))
    return false;
  errno = 0;
  char *end = nullptr;
  unsigned long long v = strtoull(word.c_str(), &end, base);
  if (errno != 0 || end == word.c_str() || *end != '\0') return false;
  *out = v;
  return true;
}

} // namespace

uint64_t parse_number(const std::string &word, const std::string &what, uint64_t max) {
  uint64_t v = 0;
  if (!to_number(word, 0, &v)) throw CliError("cannot parse " + what + " '" + word + "': not a number");
  if (v > max) throw CliError(what + " " + word + " is too large (at most " + std::to_string(max) + ")");
  return v;
}

std::vector<uint8_t> parse_bytes(Words &words, const std::string &what, size_t size) {
  int base = words.accept("hex") ? 16 : 0;
  std::vector<uint8_t> bytes;
  bytes.reserve(size);
  while (bytes.size() < size && !words.empty()) {
    uint64_t v = 0;
    if (!to_number(words.peek(), base, &v)) {
      // A keyword such as "value" right after too few key bytes reads better
      // as a count mismatch than as an unparsable byte.
      bool looks_like_keyword = isalpha(static_cast<unsigned char>(words.peek()[0])) &&
                                (base == 0 || words.peek().size() > 2);
      if (looks_like_keyword) break;
      throw CliError("cannot parse " + what + " byte '" + words.peek() + "'" +
                     (base == 16 ? " as hex" : " (use 0x.. or 'hex' for hex bytes)"));
    }
    if (v > 0xff) throw CliError(what + " byte '" + words.peek() + "' does not fit in one byte");
    bytes.push_back(static_cast<uint8_t>(v));
    words.next(what);
  }
  if (bytes.size() != size)
    throw CliError(what + " expects " + std::to_string(size) + " bytes, got " + std::to_string(bytes.size()));
  return bytes;
}

std::string hex_string(const uint8_t *data, size_t len) {
  std::string s;
  s.reserve(len * 3);
  char buf[4];
  for (size_t i = 0; i < len; ++i) {
    snprintf(buf, sizeof(buf), "%02x", data[i]);
    if (i) s += ' ';
    s += buf;
  }
  return s;
}

Json hex_json(const uint8_t *data, size_t len) {
  Json arr = Json::array();
  char buf[8];
  for (size_t i = 0; i < len; ++i) {
    snprintf(buf, sizeof(buf), "0x%02x", data[i]);
    arr.push_back(buf);
  }
  return arr;
}

long bpf_call(int cmd, union bpf_attr &attr) { return userbpf_bpf(cmd, &attr, sizeof(attr)); }

int map_info_by_fd(int fd, bpf_map_info *info) {
  memset(info, 0, sizeof(*info));
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.info.bpf_fd = static_cast<uint32_t>(fd);
  attr.info.info_len = sizeof(*info);
  attr.info.info = reinterpret_cast<uintptr_t>(info);
  return static_cast<int>(bpf_call(BPF_OBJ_GET_INFO_BY_FD, attr));
}

} // namespace ubcli
