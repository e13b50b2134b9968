// The C ABI entry to the disassembler (userbpf_disassemble in <userbpf/bpf.h>),
// for tools that use only the public library, such as the CLI.
#include <errno.h>
#include <string.h>

#include <string>

#include <userbpf/bpf.h>

#include "vm/decoder.h"
#include "vm/disasm.h"

extern "C" __attribute__((visibility("default"))) long userbpf_disassemble(const void *insns, size_t insn_bytes,
                                                                          char *buf, size_t len) {
  std::string error, text;
  userbpf::vm::DecodedProgram program;
  int err = insns ? userbpf::vm::decode_bytes(static_cast<const uint8_t *>(insns), insn_bytes, &program, &error)
                  : -EFAULT;
  if (err == 0) text = userbpf::vm::disassemble(program);
  const std::string &out = err ? error : text;
  if (buf && len) {
    size_t n = out.size() < len - 1 ? out.size() : len - 1;
    memcpy(buf, out.data(), n);
    buf[n] = '\0';
  }
  if (err) {
    errno = -err;
    return -1;
  }
  return static_cast<long>(text.size());
}
