#include "prog_commands.h"

#include <errno.h>
#include <string.h>

#include <cctype>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include <unistd.h>

#include <userbpf/bpf.h>
#include <userbpf/userbpf.hpp>

namespace ubcli {
namespace {

// Hex text ("b7 00 00 00 ...", whitespace anywhere) or raw bytes.
std::vector<uint8_t> read_program(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CliError("cannot open '" + path + "': " + strerror(errno));
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  bool is_hex = !data.empty();
  for (unsigned char c : data)
    if (!std::isxdigit(c) && !std::isspace(c)) {
      is_hex = false;
      break;
    }
  std::vector<uint8_t> bytes;
  if (!is_hex) return std::vector<uint8_t>(data.begin(), data.end());
  std::istringstream words(data);
  std::string word;
  while (words >> word) {
    if (word.size() % 2) throw CliError("'" + path + "': hex byte '" + word + "' has an odd number of digits");
    for (size_t i = 0; i < word.size(); i += 2) bytes.push_back(static_cast<uint8_t>(std::stoul(word.substr(i, 2), nullptr, 16)));
  }
  return bytes;
}

struct ProgTypeName {
  const char *name;
  uint32_t type;
};
// bpftool's names of the program types the verifier supports.
constexpr ProgTypeName kProgTypes[] = {
    {"socket_filter", BPF_PROG_TYPE_SOCKET_FILTER},
    {"socket", BPF_PROG_TYPE_SOCKET_FILTER},
    {"xdp", BPF_PROG_TYPE_XDP},
};

uint32_t parse_prog_type(const std::string &word) {
  for (const auto &t : kProgTypes)
    if (word == t.name) return t.type;
  if (!word.empty() && std::isdigit(static_cast<unsigned char>(word[0])))
    return static_cast<uint32_t>(parse_number(word, "program type", UINT32_MAX));
  throw CliError("unknown program type '" + word + "' (socket_filter, xdp, or a number)");
}

// "processed N insns" in the verifier's statistics line, or -1.
long processed_insns(const std::string &log) {
  size_t at = log.rfind("processed ");
  if (at == std::string::npos) return -1;
  char *end = nullptr;
  long n = strtol(log.c_str() + at + 10, &end, 10);
  return end && strncmp(end, " insns", 6) == 0 ? n : -1;
}

} // namespace

bool verify_file(const VerifyOptions &options, const OutputMode &mode, Json *out, std::string *error) {
  uint32_t type = parse_prog_type(options.type);
  if (options.log_level < -1 || options.log_level > 15)
    throw CliError("--log-level " + std::to_string(options.log_level) + ": expected 0..15 (BPF_LOG_* bits)");
  std::vector<uint8_t> bytes = read_program(options.path);
  if (bytes.size() >= 4 && memcmp(bytes.data(), "\x7f" "ELF", 4) == 0)
    throw CliError("'" + options.path + "': ELF objects are not supported yet; give raw instructions (8-byte words)");
  if (bytes.empty() || bytes.size() % 8)
    throw CliError("'" + options.path + "': " + std::to_string(bytes.size()) +
                   " bytes is not a whole number of 8-byte instructions");
  if (options.unprivileged) userbpf::set_loader_privilege(userbpf::LoaderPrivilege::kUnprivileged);

  // Always ask for a log (at least level 1: the statistics line says how
  // many instructions were processed); grow the buffer until it fits.
  uint32_t level = options.log_level > 0 ? static_cast<uint32_t>(options.log_level) : 1;
  std::string log;
  long fd = -1;
  int err = 0;
  for (uint32_t size = 1u << 20;; size *= 4) {
    std::vector<char> buf(size);
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.prog_type = type;
    attr.insns = reinterpret_cast<uintptr_t>(bytes.data());
    attr.insn_cnt = static_cast<uint32_t>(bytes.size() / 8);
    attr.license = reinterpret_cast<uintptr_t>("GPL");
    attr.log_level = level;
    attr.log_buf = reinterpret_cast<uintptr_t>(buf.data());
    attr.log_size = size;
    fd = userbpf_bpf(BPF_PROG_LOAD, &attr, sizeof(attr));
    err = fd < 0 ? errno : 0;
    log.assign(buf.data());
    if (!(fd < 0 && err == ENOSPC && size < (1u << 28))) break;
  }
  if (fd >= 0) close(static_cast<int>(fd));
  bool accepted = fd >= 0;
  long processed = processed_insns(log);
  bool show_log = !accepted || options.log_level > 0;
  if (mode.json) {
    *out = Json{{"file", options.path}, {"verified", accepted}};
    if (processed >= 0) (*out)["processed_insns"] = processed;
    if (!accepted) (*out)["error"] = errno_message("verifier", err);
    (*out)["log"] = log;
  } else {
    if (show_log) std::cout << log;
    if (accepted) std::cout << "verified: " << processed << " instructions processed\n";
  }
  if (!accepted) *error = errno_message("'" + options.path + "': rejected by the verifier", err);
  return accepted;
}

void prog_dump_xlated(const std::vector<std::string> &words, const OutputMode &mode, Json *out) {
  if (words.size() != 2 || words[0] != "file")
    throw CliError("usage: userbpf prog dump xlated file PATH  (loaded programs: not yet, BPF_PROG_LOAD comes later)");
  const std::string &path = words[1];
  std::vector<uint8_t> bytes = read_program(path);
  long need = userbpf_disassemble(bytes.data(), bytes.size(), nullptr, 0);
  std::string text(static_cast<size_t>(need < 0 ? 4096 : need + 1), '\0');
  long r = userbpf_disassemble(bytes.data(), bytes.size(), text.data(), text.size());
  if (r < 0) throw CliError("'" + path + "': " + std::string(text.c_str()));
  text.resize(static_cast<size_t>(r));
  if (!mode.json) {
    std::cout << text;
    return;
  }
  // bpftool's JSON shape for xlated dumps: one object per instruction.
  *out = Json::array();
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    size_t colon = line.find(": ");
    if (colon == std::string::npos) continue;
    out->push_back(Json{{"disasm", line.substr(colon + 2)}});
  }
}

} // namespace ubcli
