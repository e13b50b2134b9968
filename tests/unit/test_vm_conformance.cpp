// The bpf_conformance suite (tests/conformance/data) through our assembler,
// the interpreter and the JIT: each program's "-- asm" must assemble to
// exactly the suite's own bytes (bytecode/NAME.hex) and, run, give the
// "-- result" in r0; the JIT (plain and blinded) the same r0 and memory.
// (tests/conformance runs the same programs through the plugin binary.)
#include <gtest/gtest.h>

#include <dirent.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "vm/assembler.h"
#include "vm/decoder.h"
#include "vm/interpreter.h"

namespace {

using namespace userbpf::vm;

std::string data_dir() {
  std::string here = __FILE__;
  return here.substr(0, here.rfind('/')) + "/../conformance/data";
}

std::string read_file(const std::string &path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Sections of a .data file, by name ("asm", "raw", "mem", "result").
std::map<std::string, std::string> sections(const std::string &text) {
  std::map<std::string, std::string> out;
  std::string current;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("--", 0) == 0) {
      std::istringstream words(line.substr(2));
      words >> current;
      out[current];
      continue;
    }
    if (!current.empty()) out[current] += line + "\n";
  }
  return out;
}

std::string strip_comments(const std::string &text) {
  std::string out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out += line.substr(0, line.find('#')) + "\n";
  return out;
}

std::vector<uint8_t> hex_bytes(const std::string &text) {
  std::vector<uint8_t> out;
  std::istringstream in(strip_comments(text));
  std::string byte;
  while (in >> byte) out.push_back(static_cast<uint8_t>(std::stoul(byte, nullptr, 16)));
  return out;
}

std::vector<std::string> test_names() {
  std::vector<std::string> names;
  DIR *dir = opendir((data_dir() + "/tests").c_str());
  if (!dir) return names;
  while (dirent *e = readdir(dir)) {
    std::string n = e->d_name;
    if (n.size() > 5 && n.compare(n.size() - 5, 5, ".data") == 0) names.push_back(n.substr(0, n.size() - 5));
  }
  closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

class Conformance : public ::testing::TestWithParam<std::string> {};

TEST_P(Conformance, AssemblesToTheSuiteBytesAndRuns) {
  const std::string name = GetParam();
  auto sec = sections(read_file(data_dir() + "/tests/" + name + ".data"));
  std::vector<uint8_t> expected_bytes = hex_bytes(read_file(data_dir() + "/bytecode/" + name + ".hex"));

  std::vector<uint8_t> program;
  if (sec.count("raw")) {
    // One little-endian 64-bit word per line.
    std::istringstream in(strip_comments(sec["raw"]));
    std::string word;
    while (in >> word) {
      uint64_t v = std::stoull(word, nullptr, 16);
      for (int i = 0; i < 8; i++) program.push_back(static_cast<uint8_t>(v >> (8 * i)));
    }
  }
  ASSERT_TRUE(sec.count("asm")) << name;
  std::vector<RawInsn> assembled;
  std::string error;
  ASSERT_EQ(assemble(sec["asm"], &assembled, &error), 0) << name << ": " << error;
  std::vector<uint8_t> asm_bytes(assembled.size() * sizeof(RawInsn));
  if (!assembled.empty()) std::memcpy(asm_bytes.data(), assembled.data(), asm_bytes.size());
  EXPECT_EQ(asm_bytes, expected_bytes) << name << ": our assembler's bytes differ from the suite's";
  if (program.empty()) program = asm_bytes;

  DecodedProgram decoded;
  ASSERT_EQ(decode_bytes(program.data(), program.size(), &decoded, &error), 0) << name << ": " << error;
  std::unique_ptr<Program> prog;
  ASSERT_EQ(Program::create(decoded, &prog, &error), 0) << name << ": " << error;

  std::vector<uint8_t> mem = hex_bytes(sec["mem"]);
  std::unique_ptr<uint8_t[]> buffer(mem.empty() ? nullptr : new uint8_t[mem.size()]);
  if (!mem.empty()) std::memcpy(buffer.get(), mem.data(), mem.size());
  // A budget: a wrong jump must fail the test, not hang it.
  RunResult result = prog->run(reinterpret_cast<uintptr_t>(buffer.get()), mem.size(), 10000000);
  ASSERT_EQ(result.err, 0) << name << ": " << result.error;
  std::istringstream rin(strip_comments(sec["result"]));
  std::string expected;
  rin >> expected;
  EXPECT_EQ(result.r0, std::stoull(expected, nullptr, 0)) << name;

  // The JIT, plain and with constant blinding: the same r0 and memory.
  if (!jit_supported()) return;
  std::vector<uint8_t> interpreted(buffer.get(), buffer.get() + mem.size());
  for (bool blind : {false, true}) {
    ProgramOptions options;
    options.engine = Engine::kJit;
    options.jit.blind_constants = blind;
    std::unique_ptr<Program> jitted;
    ASSERT_EQ(Program::create(decoded, &jitted, &error, options), 0) << name << ": " << error;
    ASSERT_NE(jitted->jit(), nullptr);
    std::unique_ptr<uint8_t[]> jit_buffer(mem.empty() ? nullptr : new uint8_t[mem.size()]);
    if (!mem.empty()) std::memcpy(jit_buffer.get(), mem.data(), mem.size());
    RunResult jit_result = jitted->run(reinterpret_cast<uintptr_t>(jit_buffer.get()), mem.size());
    ASSERT_EQ(jit_result.err, 0) << name << (blind ? " (JIT, blinded): " : " (JIT): ") << jit_result.error;
    EXPECT_EQ(jit_result.r0, result.r0) << name << (blind ? " (JIT, blinded)" : " (JIT)");
    EXPECT_EQ(std::vector<uint8_t>(jit_buffer.get(), jit_buffer.get() + mem.size()), interpreted) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(Suite, Conformance, ::testing::ValuesIn(test_names()),
                         [](const ::testing::TestParamInfo<std::string> &info) {
                           std::string n = info.param;
                           for (char &c : n)
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

TEST(ConformanceData, AllProgramsPresent) { EXPECT_EQ(test_names().size(), 313u); }

} // namespace
