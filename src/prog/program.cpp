#include "prog/program.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <atomic>

#include <userbpf/userbpf.hpp>

#include "object/handle.h"
#include "object/store.h"

namespace userbpf {
namespace {

// 0: not decided yet; else 1 + LoaderPrivilege.
std::atomic<int> g_privilege{0};

int privilege_from_env() {
  const char *env = getenv("USERBPF_UNPRIVILEGED");
  bool unpriv = env && strcmp(env, "1") == 0;
  return 1 + static_cast<int>(unpriv ? LoaderPrivilege::kUnprivileged : LoaderPrivilege::kPrivileged);
}

constexpr uint8_t kLdImm64 = BPF_LD | BPF_IMM | BPF_DW;

} // namespace

void set_loader_privilege(LoaderPrivilege privilege) {
  g_privilege.store(1 + static_cast<int>(privilege));
}

LoaderPrivilege loader_privilege() {
  int v = g_privilege.load();
  if (v == 0) {
    // Read the environment once; a concurrent set_loader_privilege() wins.
    int expected = 0;
    g_privilege.compare_exchange_strong(expected, privilege_from_env());
    v = g_privilege.load();
  }
  return static_cast<LoaderPrivilege>(v - 1);
}

verifier::Privilege loader_verifier_privilege() {
  return loader_privilege() == LoaderPrivilege::kUnprivileged ? verifier::Privilege::unprivileged()
                                                             : verifier::Privilege::privileged();
}

std::vector<vm::RawInsn> xlated_dump_form(const vm::RawInsn *raw, size_t count,
                                          const vm::DecodedProgram &accepted, const MapIdAt &map_id_at) {
  std::vector<vm::RawInsn> out(raw, raw + count);
  // Slots other than LD_IMM64 come from the accepted program when it has one
  // slot per loaded instruction (the verifier rewrote nothing's length).
  bool same_shape = accepted.insns.size() == count;
  for (size_t pc = 0; pc < count; pc++) {
    vm::RawInsn &r = out[pc];
    if (r.code == kLdImm64 && pc + 1 < count) {
      uint32_t id = map_id_at(pc);
      if (id) {
        bool value = r.src == BPF_PSEUDO_MAP_VALUE || r.src == BPF_PSEUDO_MAP_IDX_VALUE;
        int32_t off = value ? out[pc + 1].imm : 0;
        r.src = value ? BPF_PSEUDO_MAP_VALUE : BPF_PSEUDO_MAP_FD;
        r.imm = static_cast<int32_t>(id);
        out[pc + 1].imm = off;
      }
      pc++; // the second slot stays as loaded
      continue;
    }
    if (!same_shape) continue;
    const vm::Insn &d = accepted.insns[pc];
    if (d.ld_imm64_tail) continue;
    r.code = d.opcode;
    r.dst = d.dst & 0xf;
    r.src = d.src & 0xf;
    r.off = d.off;
    r.imm = d.imm;
  }
  return out;
}

int prog_create(const ProgSpec &spec) {
  if (spec.map_ids.size() > kMaxUsedMaps) return -E2BIG;
  uint64_t data_size = spec.insns.size() * sizeof(vm::RawInsn);
  return object_create(ObjectKind::kProg, data_size, data_size, kHeaderSize + data_size, kModeRead | kModeWrite,
                       [&](Object &obj) {
                         ProgHeader &ph = obj.hdr->prog;
                         ph.prog_type = spec.prog_type;
                         ph.expected_attach_type = spec.expected_attach_type;
                         ph.prog_flags = spec.prog_flags;
                         ph.gpl_compatible = spec.gpl_compatible ? 1 : 0;
                         ph.insn_cnt = static_cast<uint32_t>(spec.insns.size());
                         ph.verified_insns = spec.verified_insns;
                         ph.stack_depth = spec.stack_depth;
                         memcpy(ph.name, spec.name, sizeof(ph.name));
                         ph.nr_map_ids = static_cast<uint32_t>(spec.map_ids.size());
                         std::copy(spec.map_ids.begin(), spec.map_ids.end(), ph.map_ids);
                         if (data_size)
                           memcpy(reinterpret_cast<uint8_t *>(obj.hdr) + obj.hdr->data_offset, spec.insns.data(),
                                  data_size);
                         return 0;
                       });
}

const vm::RawInsn *prog_runtime_insns(const ObjectHeader &hdr, uint32_t *count) {
  *count = hdr.kind == ObjectKind::kProg ? hdr.prog.insn_cnt : 0;
  return reinterpret_cast<const vm::RawInsn *>(reinterpret_cast<const uint8_t *>(&hdr) + hdr.data_offset);
}

} // namespace userbpf
