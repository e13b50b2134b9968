// userbpf-conformance-plugin: runs one eBPF program for the bpf_conformance
// suite (github.com/Alan-Jowett/bpf_conformance), speaking its plugin protocol:
//
//   userbpf-conformance-plugin [--interpret|--jit [--blind]|--verify] [--budget N] [MEMORY_HEX]
//   userbpf-conformance-plugin --disassemble     (prints the program, kernel syntax)
//
// MEMORY_HEX: the program's memory as hex bytes ("01 02 ff" or "0102ff"),
// absent when empty; r1 points to a copy of it and r2 holds its length. The
// program comes as hex bytes on stdin (8 per instruction, little-endian).
// On success r0 is printed in hex and the exit status is 0; on failure the
// error text goes to stderr and the exit status is non-zero.
//
// --verify runs the verifier first, as BPF_PROG_LOAD would, with userbpf's
// "memory" program type (verifier::kProgTypeMemory: r1 = the memory, readable
// and writable for its length, r2 = the length); a rejected program prints
// the verifier's log and exits 1 without running.
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "verifier/prog_types.h"
#include "verifier/verifier.h"
#include "vm/decoder.h"
#include "vm/disasm.h"
#include "vm/interpreter.h"

namespace {

// Hex bytes, with or without separating whitespace; false on a stray character.
bool parse_hex(const std::string &text, std::vector<uint8_t> *out) {
  int high = -1;
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == ',') {
      if (high >= 0) return false; // an odd digit count inside a byte
      continue;
    }
    int v;
    if (c >= '0' && c <= '9') v = c - '0';
    else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    else return false;
    if (high < 0) {
      high = v;
    } else {
      out->push_back(static_cast<uint8_t>(high << 4 | v));
      high = -1;
    }
  }
  return high < 0;
}

int usage() {
  fprintf(stderr, "usage: userbpf-conformance-plugin [--interpret|--jit [--blind]|--verify] [--budget N] [MEMORY_HEX] "
                  "< PROGRAM_HEX\n");
  return 2;
}

} // namespace

int main(int argc, char **argv) {
  std::string memory_hex;
  bool have_memory = false;
  uint64_t budget = 0;
  bool disassemble_only = false;
  bool verify = false;
  userbpf::vm::ProgramOptions options; // the interpreter unless --jit
  for (int i = 1; i < argc; i++) {
    std::string arg = argv[i];
    if (arg == "--interpret") {
      options.engine = userbpf::vm::Engine::kInterpreter;
      continue;
    }
    if (arg == "--disassemble") {
      disassemble_only = true;
      continue;
    }
    if (arg == "--jit") {
      options.engine = userbpf::vm::Engine::kJit;
      continue;
    }
    if (arg == "--blind") { // constant blinding (with --jit), as bpf_jit_harden
      options.jit.blind_constants = true;
      continue;
    }
    if (arg == "--verify") {
      verify = true;
      continue;
    }
    if (arg == "--budget" && i + 1 < argc) {
      char *end;
      budget = strtoull(argv[++i], &end, 0);
      if (*end || budget == 0) return usage();
      continue;
    }
    if (arg == "-h" || arg == "--help") return usage(), 0;
    if (arg.rfind("--", 0) == 0 || have_memory) return usage();
    memory_hex = arg;
    have_memory = true;
  }

  std::vector<uint8_t> memory;
  if (!parse_hex(memory_hex, &memory)) {
    fprintf(stderr, "userbpf-conformance-plugin: the memory argument is not hex bytes\n");
    return 1;
  }
  std::string program_hex((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  std::vector<uint8_t> program;
  if (!parse_hex(program_hex, &program)) {
    fprintf(stderr, "userbpf-conformance-plugin: the program on stdin is not hex bytes\n");
    return 1;
  }

  userbpf::vm::DecodedProgram decoded;
  std::string error;
  if (int err = userbpf::vm::decode_bytes(program.data(), program.size(), &decoded, &error)) {
    fprintf(stderr, "%s (%s)\n", error.c_str(), strerror(-err));
    return 1;
  }
  if (disassemble_only) {
    fputs(userbpf::vm::disassemble(decoded).c_str(), stdout);
    return 0;
  }
  if (verify) {
    // The verifier takes the raw words; it decodes them itself.
    std::vector<userbpf::vm::RawInsn> raw(program.size() / 8);
    memcpy(raw.data(), program.data(), raw.size() * 8);
    userbpf::verifier::Options options;
    options.prog_type = userbpf::verifier::kProgTypeMemory;
    options.ctx_mem_size = static_cast<uint32_t>(memory.size());
    options.gpl_compatible = true;
    options.log_level = 1;
    // The protocol has no maps: every map reference is a bad fd.
    auto no_maps = [](int, userbpf::verifier::MapInfo *) { return -EBADF; };
    userbpf::verifier::Result result = userbpf::verifier::verify(raw.data(), raw.size(), options, no_maps);
    if (result.err) {
      fputs(result.log.c_str(), stderr);
      fprintf(stderr, "userbpf-conformance-plugin: rejected by the verifier (%s)\n", strerror(-result.err));
      return 1;
    }
    decoded = std::move(result.program);
  }
  std::unique_ptr<userbpf::vm::Program> prog;
  if (int err = userbpf::vm::Program::create(decoded, &prog, &error, options)) {
    fprintf(stderr, "%s (%s)\n", error.c_str(), strerror(-err));
    return 1;
  }
  // The program gets its own heap copy of exactly the memory's size, so a
  // sanitizer build catches any access outside it.
  std::unique_ptr<uint8_t[]> buffer(memory.empty() ? nullptr : new uint8_t[memory.size()]);
  if (!memory.empty()) memcpy(buffer.get(), memory.data(), memory.size());
  // A budget counts instructions: those runs are the interpreter's even with --jit.
  userbpf::vm::RunResult result =
      prog->run(reinterpret_cast<uintptr_t>(buffer.get()), memory.size(), budget);
  if (result.err) {
    fprintf(stderr, "%s (%s)\n", result.error.c_str(), strerror(-result.err));
    return 1;
  }
  printf("%" PRIx64 "\n", result.r0);
  return 0;
}
