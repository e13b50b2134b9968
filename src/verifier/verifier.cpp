// The verifier's pipeline (see verifier.h): decode, resolve maps, control
// flow, abstract interpretation, stack depth; then the accepted program.
#include "verifier/verifier.h"

#include <cerrno>
#include <cstdio>
#include <linux/bpf.h>

#include "verifier/env.h"
#include "vm/interpreter.h"

namespace userbpf::verifier {

namespace {

constexpr size_t kMaxUsedMaps = 64; // MAX_USED_MAPS

int fd_of_index(const Options &options, uint32_t idx, int *fd) {
  if (options.read_fd_array) return options.read_fd_array(idx, fd);
  if (idx >= options.fd_array.size()) return -EFAULT;
  *fd = options.fd_array[idx];
  return 0;
}

// The decoder names the instruction and the field ("insn 3: MOV64_IMM (0xb7)
// uses reserved field src_reg"); the kernel's log says it its own way
// ("BPF_MOV uses reserved fields"). Same errno, the kernel's words.
std::string kernel_decode_message(const vm::RawInsn *insns, size_t count, const std::string &error) {
  size_t pc = 0;
  if (sscanf(error.c_str(), "insn %zu:", &pc) != 1 || pc >= count) return error;
  const std::string reason = error.substr(error.find(':') + 2);
  const vm::RawInsn &r = insns[pc];
  const uint8_t cls = vm::op_class(r.code), op = r.code & 0xf0;
  if (reason.rfind("unknown opcode", 0) == 0) {
    char buf[32];
    snprintf(buf, sizeof buf, "unknown opcode %02x", r.code);
    return buf;
  }
  if (reason.find("uses reserved field") != std::string::npos) {
    const char *name = "BPF_ALU";
    switch (cls) {
    case vm::kClassAlu: case vm::kClassAlu64:
      name = op == BPF_NEG ? "BPF_NEG" : op == BPF_END ? "BPF_END" : op == BPF_MOV ? "BPF_MOV" : "BPF_ALU";
      break;
    case vm::kClassJmp: case vm::kClassJmp32:
      name = op == BPF_JA ? "BPF_JA" : op == BPF_CALL ? "BPF_CALL" : op == BPF_EXIT ? "BPF_EXIT" : "BPF_JMP/JMP32";
      break;
    case vm::kClassLdx: name = "BPF_LDX"; break;
    case vm::kClassStx: name = "BPF_STX"; break;
    case vm::kClassSt: name = "BPF_ST"; break;
    default: return error;
    }
    return std::string(name) + " uses reserved fields";
  }
  if (reason.find("truncated: no second half") != std::string::npos) return "last insn is not an exit or jmp";
  if (reason.rfind("jump out of range", 0) == 0 && r.code == (BPF_JMP | BPF_CALL)) return "call to invalid destination";
  return reason;
}

} // namespace

// resolve_pseudo_ldimm64: every LD_IMM64 naming a map gets the map's
// description (and an index in used_maps); MAP_VALUE offsets are checked.
int resolve_maps(Env &env, const MapResolver &maps) {
  env.insn_map.assign(env.size(), -1);
  std::vector<int> seen_fds; // fd -> index, parallel to env.maps
  for (size_t pc = 0; pc < env.size(); pc++) {
    vm::Insn &insn = env.prog.insns[pc];
    if (insn.ld_imm64_tail || insn.op != vm::Op::LD_IMM64) continue;
    switch (insn.pseudo) {
    case vm::Pseudo::kNone:
    case vm::Pseudo::kFunc:
      continue;
    case vm::Pseudo::kBtfId:
      env.log.printf("kernel is missing BTF, make sure CONFIG_DEBUG_INFO_BTF=y is specified in Kconfig.\n");
      return -EINVAL;
    case vm::Pseudo::kMapFd:
    case vm::Pseudo::kMapValue:
    case vm::Pseudo::kMapIdx:
    case vm::Pseudo::kMapIdxValue:
      break;
    }
    int fd = insn.imm;
    if (insn.pseudo == vm::Pseudo::kMapIdx || insn.pseudo == vm::Pseudo::kMapIdxValue) {
      if (!env.options.read_fd_array && env.options.fd_array.empty()) {
        env.log.printf("fd_idx without fd_array is invalid\n");
        return -EPROTO;
      }
      if (int err = fd_of_index(env.options, static_cast<uint32_t>(insn.imm), &fd)) return err;
    }
    MapInfo info;
    if (int err = maps ? maps(fd, &info) : -EBADF) {
      env.log.printf("fd %d is not pointing to valid bpf_map\n", fd);
      return err;
    }
    const bool value_ref = insn.pseudo == vm::Pseudo::kMapValue || insn.pseudo == vm::Pseudo::kMapIdxValue;
    if (value_ref) {
      if (!info.value_base) {
        env.log.printf("no direct value access support for this map type\n");
        return -EINVAL;
      }
      if (info.max_entries != 1) { // array_map_direct_value_addr: ENOTSUPP
        env.log.printf("invalid access to map value pointer, value_size=%u off=%u\n", info.value_size,
                       static_cast<uint32_t>(insn.imm_hi));
        return -524;
      }
      const uint32_t off = static_cast<uint32_t>(insn.imm_hi);
      if (off >= info.value_size) {
        env.log.printf("invalid access to map value pointer, value_size=%u off=%u\n", info.value_size, off);
        return -EINVAL;
      }
    }
    // One entry per map (the same map through two fds is one map).
    int index = -1;
    for (size_t i = 0; i < env.maps.size(); i++)
      if (env.maps[i].runtime_ptr == info.runtime_ptr && env.maps[i].id == info.id) index = static_cast<int>(i);
    if (index < 0) {
      if (env.maps.size() >= kMaxUsedMaps) {
        env.log.printf("too many maps: at most %zu\n", kMaxUsedMaps);
        return -E2BIG;
      }
      env.maps.push_back(info);
      index = static_cast<int>(env.maps.size() - 1);
    }
    env.insn_map[pc] = index;
  }
  return 0;
}

Result verify(const vm::RawInsn *insns, size_t count, const Options &options, const MapResolver &maps) {
  Result result;
  vm::DecodedProgram &prog = result.program;
  Env env(options, prog);
  auto finish = [&](int err) {
    result.err = err;
    // print_verification_stats: the last line of every log.
    env.log.printf("processed %u insns (limit 1000000) max_states_per_insn 0 total_states %u peak_states %u mark_read 0\n",
                   env.verified_insns, env.total_states, env.peak_states);
    result.log_len_max = env.log.len_max();
    result.log = std::move(env.log.text());
    result.verified_insns = env.verified_insns;
    if (err) {
      result.program.insns.clear();
      result.used_maps.clear();
    }
    return result;
  };
  env.type = prog_type_info(options.prog_type);
  if (!env.type) {
    env.log.printf("unsupported program type %u\n", options.prog_type);
    return finish(-EINVAL);
  }
  // check_attach_btf_id: syscall programs are always sleepable; of the types
  // userbpf knows, only kprobe (uprobe) programs may be sleepable too.
  const bool sleepable = options.prog_flags & BPF_F_SLEEPABLE;
  if (options.prog_type == BPF_PROG_TYPE_SYSCALL && !sleepable) {
    env.log.printf("Syscall programs can only be sleepable\n");
    return finish(-EINVAL);
  }
  if (sleepable && options.prog_type != BPF_PROG_TYPE_SYSCALL && options.prog_type != BPF_PROG_TYPE_KPROBE) {
    env.log.printf("Only fentry/fexit/fmod_ret, lsm, iter, uprobe, and struct_ops programs can be sleepable\n");
    return finish(-EINVAL);
  }
  if (count > 4096 && !options.privilege.bpf_capable) {
    env.log.printf("BPF program is too large: %zu insns (max 4096 without CAP_BPF)\n", count);
    return finish(-E2BIG);
  }
  std::string error;
  if (int err = vm::decode(insns, count, &prog, &error)) {
    env.log.printf("%s\n", kernel_decode_message(insns, count, error).c_str());
    return finish(err);
  }
  if (int err = resolve_maps(env, maps)) return finish(err);
  if (int err = check_cfg(env)) return finish(err);
  if (int err = read_func_info(env)) return finish(err);
  compute_liveness(env);
  if (int err = do_check(env)) return finish(err);
  if (int err = check_max_stack_depth(env)) return finish(err);

  // Accepted: context accesses as the run-time context has them. Loads of
  // the packet pointers read the 64-bit pointers behind the uapi struct
  // (prog_types.h, CtxPacketPointers); stores into 16-bit kernel fields keep
  // their low half. One instruction for one.
  for (size_t pc = 0; pc < env.size(); pc++) {
    const CtxField field = env.ctx_rewrite[pc];
    vm::Insn &insn = prog.insns[pc];
    if (field == CtxField::kScalar16) {
      const bool reg = insn.op == vm::Op::STXW;
      insn.op = reg ? vm::Op::STXH : vm::Op::STH;
      insn.opcode = (reg ? BPF_STX : BPF_ST) | BPF_MEM | BPF_H;
    } else if (field != CtxField::kInvalid) {
      insn.op = vm::Op::LDXDW;
      insn.opcode = BPF_LDX | BPF_MEM | BPF_DW;
      insn.off = static_cast<int16_t>(ctx_pointer_offset(*env.type, field));
    }
  }
  // Accepted: write the run-time values into the LD_IMM64s.
  for (size_t pc = 0; pc < env.size(); pc++) {
    vm::Insn &insn = prog.insns[pc];
    if (insn.ld_imm64_tail || insn.op != vm::Op::LD_IMM64 || env.insn_map[pc] < 0) continue;
    const MapInfo &m = env.maps[static_cast<size_t>(env.insn_map[pc])];
    if (insn.pseudo == vm::Pseudo::kMapValue || insn.pseudo == vm::Pseudo::kMapIdxValue)
      vm::resolve_ld_imm64(insn, m.value_base + static_cast<uint32_t>(insn.imm_hi));
    else
      vm::resolve_ld_imm64(insn, m.runtime_ptr);
  }
  result.used_maps = env.maps;
  result.stack_depth = env.subprogs.empty() ? 0 : env.subprogs[0].stack_depth;
  result.max_ctx_offset = env.max_ctx_offset;
  return finish(0);
}

} // namespace userbpf::verifier
