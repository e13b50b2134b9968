// libFuzzer target over the VM's front end: the decoder and disassembler on
// the input as raw instructions, the interpreter's translation (helper and
// LD_IMM64 checks), and the assembler on the input as text. None may crash,
// leak or read out of bounds, whatever the bytes; a program the decoder
// accepts must disassemble, and re-encoding what it decoded must give back
// the same instructions.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "vm/assembler.h"
#include "vm/decoder.h"
#include "vm/disasm.h"
#include "vm/interpreter.h"

using namespace userbpf::vm;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  DecodedProgram decoded;
  std::string error;
  int err = decode_bytes(data, size, &decoded, &error);
  if (err == 0) {
    if (decoded.insns.size() != size / 8) abort();
    std::string text = disassemble(decoded);
    if (text.empty()) abort();
    // Every decoded field is the raw one.
    for (size_t i = 0; i < decoded.insns.size(); i++) {
      RawInsn raw;
      std::memcpy(&raw, data + 8 * i, 8);
      const Insn &d = decoded.insns[i];
      if (d.ld_imm64_tail) continue;
      if (d.opcode != raw.code || d.dst != raw.dst || d.src != raw.src || d.off != raw.off || d.imm != raw.imm)
        abort();
    }
    std::unique_ptr<Program> prog;
    (void)Program::create(decoded, &prog, &error);
  } else if (error.empty()) {
    abort(); // every rejection says why
  }

  std::vector<RawInsn> assembled;
  if (assemble(std::string_view(reinterpret_cast<const char *>(data), size), &assembled, &error) == 0 &&
      !assembled.empty()) {
    DecodedProgram again;
    (void)decode(assembled.data(), assembled.size(), &again, &error);
  }
  return 0;
}
