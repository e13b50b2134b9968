// The C ABI entry to a loaded program's JIT code (userbpf_prog_jited in
// <userbpf/bpf.h>), for tools that use only the public library: the CLI's
// `prog dump jited`.
#include <errno.h>
#include <string.h>

#include <algorithm>

#include <userbpf/bpf.h>

#include "alloc/rcu.h"
#include "object/handle.h"
#include "prog/program.h"
#include "vm/jit_x86_64.h"

extern "C" __attribute__((visibility("default"))) long userbpf_prog_jited(int prog_fd, void *code, size_t code_len,
                                                                         unsigned int *offsets, size_t offsets_count,
                                                                         unsigned long long *address) {
  userbpf::RcuReadGuard guard;
  int err = 0;
  const userbpf::Handle *h = userbpf::handle_get(prog_fd, &err);
  if (!h) {
    errno = -err;
    return -1;
  }
  const userbpf::vm::Program *prog = userbpf::prog_runtime(*h->obj, &err);
  if (!prog) {
    errno = -err;
    return -1;
  }
  const userbpf::vm::JitImage *jit = prog->jit();
  if (!jit) {
    errno = EOPNOTSUPP;
    return -1;
  }
  if (code && code_len) memcpy(code, jit->code(), std::min(code_len, jit->code_size()));
  for (size_t i = 0; offsets && i < offsets_count && i <= jit->insn_count(); i++)
    offsets[i] = static_cast<unsigned int>(jit->insn_begin(i));
  if (address) *address = reinterpret_cast<uintptr_t>(jit->code());
  return static_cast<long>(jit->code_size());
}
