#include "prog_commands.h"

#include <errno.h>
#include <string.h>

#include <cctype>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include <userbpf/bpf.h>

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

} // namespace

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
