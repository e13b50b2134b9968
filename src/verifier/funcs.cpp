// Global functions (the kernel's check_btf_func linkage, btf_prepare_func_args
// and btf_is_prog_ctx_type / btf_validate_prog_ctx_type): which subprograms
// are global, and what their BTF prototype lets them assume about their
// arguments. The analysis (analysis.cpp) verifies a global function once, on
// its own, with those arguments, and checks each call against them.
//
// Without BTF and func_info (raw instructions) every subprogram is static and
// verified in its caller's context, as in the kernel.
#include <cerrno>
#include <cstring>

#include <linux/bpf.h>
#include <linux/btf.h>

#include "btf/btf.h"
#include "helpers/helpers.h"
#include "verifier/env.h"

namespace userbpf::verifier {

namespace {

constexpr uint32_t kMaxFuncArgs = 5; // MAX_BPF_FUNC_REG_ARGS

bool is_modifier(const struct btf_type *t) {
  switch (btf::kind_of(t)) {
  case BTF_KIND_TYPEDEF: case BTF_KIND_VOLATILE: case BTF_KIND_CONST: case BTF_KIND_RESTRICT: case BTF_KIND_TYPE_TAG:
    return true;
  default:
    return false;
  }
}

// The kernel's tests on a type; void (id 0) is none of them.
bool is_kind(const struct btf_type *t, uint32_t kind) { return t && !btf::Btf::is_void(t) && btf::kind_of(t) == kind; }
bool is_scalar_type(const struct btf_type *t) {
  return is_kind(t, BTF_KIND_INT) || is_kind(t, BTF_KIND_ENUM) || is_kind(t, BTF_KIND_ENUM64);
}

// Follow typedef/const/volatile/restrict/type_tag; nullptr on a bad id. The
// BTF was validated at load (no modifier loops), the bound is a safety net.
const struct btf_type *skip_modifiers(const btf::Btf &b, uint32_t id, uint32_t *out_id = nullptr) {
  const struct btf_type *t = b.type_by_id(id);
  for (int depth = 0; t && is_modifier(t) && depth < 64; depth++) {
    id = t->type;
    t = b.type_by_id(id);
  }
  if (out_id) *out_id = id;
  return t;
}

const char *name_of(const btf::Btf &b, const struct btf_type *t) {
  const char *name = t && !btf::Btf::is_void(t) ? b.name_by_offset(t->name_off) : "";
  return name ? name : "";
}

// btf_resolve_size(): bytes of a pointee (modifiers followed; arrays are
// element size times count); false for void, FWD, FUNC, FUNC_PROTO and VAR.
bool resolve_size(const btf::Btf &b, uint32_t id, uint32_t *size) {
  uint32_t resolved = 0;
  const struct btf_type *t = skip_modifiers(b, id, &resolved);
  if (!t || btf::Btf::is_void(t) || is_kind(t, BTF_KIND_VAR)) return false;
  return b.type_id_size(&resolved, size) != nullptr;
}

// The context struct the program type's uapi names (and the kernel struct
// behind it, which 6.18 also takes: btf_is_projection_of), as bpf_types.h.
struct CtxNames {
  const char *uapi;
  const char *kernel;
};
CtxNames ctx_names(uint32_t prog_type) {
  switch (prog_type) {
  case BPF_PROG_TYPE_SOCKET_FILTER: case BPF_PROG_TYPE_SCHED_CLS: case BPF_PROG_TYPE_SCHED_ACT:
  case BPF_PROG_TYPE_CGROUP_SKB:
    return {"__sk_buff", "sk_buff"};
  case BPF_PROG_TYPE_XDP: return {"xdp_md", "xdp_buff"};
  case BPF_PROG_TYPE_KPROBE: return {"pt_regs", nullptr}; // bpf_user_pt_regs_t on x86-64
  case BPF_PROG_TYPE_PERF_EVENT: return {"bpf_perf_event_data", nullptr};
  case BPF_PROG_TYPE_RAW_TRACEPOINT: return {"bpf_raw_tracepoint_args", nullptr};
  default: return {nullptr, nullptr}; // tracepoint (__u64), syscall (void *): no named struct
  }
}

// btf_is_prog_ctx_type(): is this pointer argument the program's context?
bool is_prog_ctx_type(const btf::Btf &b, const struct btf_type *ptr, uint32_t prog_type) {
  const struct btf_type *t = b.type_by_id(ptr->type);
  // kprobe contexts are often spelled through the typedef.
  if (prog_type == BPF_PROG_TYPE_KPROBE) {
    for (int depth = 0; t && is_modifier(t) && !is_kind(t, BTF_KIND_TYPEDEF) && depth < 64; depth++)
      t = b.type_by_id(t->type);
    if (is_kind(t, BTF_KIND_TYPEDEF) && strcmp(name_of(b, t), "bpf_user_pt_regs_t") == 0) return true;
  }
  for (int depth = 0; t && is_modifier(t) && depth < 64; depth++) t = b.type_by_id(t->type);
  if (!is_kind(t, BTF_KIND_STRUCT)) return false;
  const CtxNames names = ctx_names(prog_type);
  const char *name = name_of(b, t);
  if (!names.uapi || !*name) return false;
  return strcmp(name, names.uapi) == 0 || (names.kernel && strcmp(name, names.kernel) == 0);
}

// btf_validate_prog_ctx_type(): what an arg:ctx argument may point to.
int validate_tagged_ctx(Env &env, const btf::Btf &b, const struct btf_type *ptr, uint32_t arg) {
  const uint32_t prog_type = env.options.prog_type;
  const struct btf_type *t = b.type_by_id(ptr->type);
  if (prog_type == BPF_PROG_TYPE_KPROBE || prog_type == BPF_PROG_TYPE_PERF_EVENT) {
    for (int depth = 0; t && is_modifier(t) && !is_kind(t, BTF_KIND_TYPEDEF) && depth < 64; depth++)
      t = b.type_by_id(t->type);
    if (is_kind(t, BTF_KIND_TYPEDEF) && strcmp(name_of(b, t), "bpf_user_pt_regs_t") == 0) return 0;
  }
  for (int depth = 0; t && is_modifier(t) && depth < 64; depth++) t = b.type_by_id(t->type);
  if (!t || btf::Btf::is_void(t)) return 0; // `void *ctx __arg_ctx` always works
  const char *name = name_of(b, t);
  switch (prog_type) {
  case BPF_PROG_TYPE_KPROBE: case BPF_PROG_TYPE_PERF_EVENT:
    if (is_kind(t, BTF_KIND_STRUCT) && strcmp(name, "pt_regs") == 0) return 0;
    break;
  case BPF_PROG_TYPE_RAW_TRACEPOINT:
    if (is_kind(t, BTF_KIND_INT) && t->size == 8) return 0; // u64 *
    break;
  case BPF_PROG_TYPE_TRACEPOINT: case BPF_PROG_TYPE_SYSCALL:
    return 0; // anything goes
  default:
    break;
  }
  const CtxNames names = ctx_names(prog_type);
  if (!names.uapi) {
    env.log.printf("arg#%u should be void pointer\n", arg);
    return -EINVAL;
  }
  if (!is_kind(t, BTF_KIND_STRUCT) || strcmp(name, names.uapi) != 0) {
    env.log.printf("arg#%u should be `struct %s *`\n", arg, names.uapi);
    return -EINVAL;
  }
  return 0;
}

// The "arg:..." decl tags on argument `arg` of FUNC `func_id`.
enum : uint32_t {
  kTagCtx = 1,
  kTagNonnull = 2,
  kTagNullable = 4,
  kTagTrusted = 8,
  kTagUntrusted = 16,
  kTagArena = 32,
};
int arg_tags(Env &env, const btf::Btf &b, uint32_t func_id, uint32_t arg, uint32_t *tags) {
  *tags = 0;
  for (uint32_t id = 1; id < b.nr_types(); id++) {
    const struct btf_type *t = b.type_by_id(id);
    if (!is_kind(t, BTF_KIND_DECL_TAG) || t->type != func_id) continue;
    const auto *tag = reinterpret_cast<const struct btf_decl_tag *>(t + 1);
    if (tag->component_idx != static_cast<int32_t>(arg)) continue;
    const char *name = name_of(b, t);
    if (strncmp(name, "arg:", 4) != 0) continue;
    name += 4;
    if (strcmp(name, "ctx") == 0) *tags |= kTagCtx;
    else if (strcmp(name, "nonnull") == 0) *tags |= kTagNonnull;
    else if (strcmp(name, "nullable") == 0) *tags |= kTagNullable;
    else if (strcmp(name, "trusted") == 0) *tags |= kTagTrusted;
    else if (strcmp(name, "untrusted") == 0) *tags |= kTagUntrusted;
    else if (strcmp(name, "arena") == 0) *tags |= kTagArena;
    else {
      env.log.printf("arg#%u has unsupported set of tags\n", arg);
      return -EOPNOTSUPP;
    }
  }
  return 0;
}

} // namespace

namespace {
// A subprogram with LD_ABS / LD_IND may return before its exit (a load
// outside the packet returns 0 at once): the kernel's has_ld_abs.
bool has_ld_abs(const Env &env, const Subprog &sp) {
  for (uint32_t pc = sp.start; pc < sp.end; pc++)
    if (!env.insn(pc).ld_imm64_tail && vm::is_ld_packet(env.insn(pc).info().shape)) return true;
  return false;
}
} // namespace

int read_func_info(Env &env) {
  const Options &o = env.options;
  if (!o.btf || o.func_info.empty()) {
    // Raw instructions: every subprogram is static. check_abnormal_return:
    // without BTF a callee may not return early.
    for (size_t i = 1; i < env.subprogs.size(); i++)
      if (has_ld_abs(env, env.subprogs[i])) {
        env.log.printf("LD_ABS is not allowed in subprogs without BTF\n");
        return -EINVAL;
      }
    return 0;
  }
  if (o.func_info.size() != env.subprogs.size()) {
    env.log.printf("number of funcs in func_info doesn't match number of subprogs\n");
    return -EINVAL;
  }
  for (size_t i = 0; i < env.subprogs.size(); i++) {
    Subprog &sp = env.subprogs[i];
    const FuncInfo &fi = o.func_info[i];
    const struct btf_type *t = o.btf->type_by_id(fi.type_id);
    if (fi.insn_off != sp.start || !is_kind(t, BTF_KIND_FUNC)) {
      env.log.printf("func_info BTF section doesn't match subprog layout in BPF program\n");
      return -EINVAL;
    }
    sp.btf_id = fi.type_id;
    sp.name = name_of(*o.btf, t);
    // A FUNC's vlen is its linkage. The main program is verified as the
    // main program whatever its linkage.
    sp.global = i > 0 && btf::vlen_of(t) == BTF_FUNC_GLOBAL;
    // Its early return gives 0: the function must return an integer.
    if (i > 0 && has_ld_abs(env, sp)) {
      const struct btf_type *proto = o.btf->type_by_id(t->type);
      if (!is_kind(proto, BTF_KIND_FUNC_PROTO) || !is_scalar_type(skip_modifiers(*o.btf, proto->type))) {
        env.log.printf("LD_ABS is only allowed in functions that return 'int'.\n");
        return -EINVAL;
      }
    }
  }
  // A call to a global function makes the caller forget its packet pointers
  // when the function, or anything it calls, may move the packet.
  for (Subprog &sp : env.subprogs)
    for (uint32_t pc = sp.start; pc < sp.end; pc++) {
      const vm::Insn &insn = env.insn(pc);
      if (insn.ld_imm64_tail || insn.info().shape != vm::Shape::kCall) continue;
      const helpers::HelperProto *proto = helpers::find_helper(insn.imm);
      if (proto && proto->changes_packet_data) sp.changes_packet_data = true;
    }
  for (bool changed = true; changed;) {
    changed = false;
    for (Subprog &sp : env.subprogs) {
      if (sp.changes_packet_data) continue;
      for (uint32_t pc = sp.start; pc < sp.end && !sp.changes_packet_data; pc++) {
        const vm::Insn &insn = env.insn(pc);
        if (insn.ld_imm64_tail || insn.info().shape != vm::Shape::kCallLocal) continue;
        if (env.subprogs[env.subprog_of(static_cast<uint32_t>(insn.jump_target(pc)))].changes_packet_data)
          sp.changes_packet_data = changed = true;
      }
    }
  }
  return 0;
}

int prepare_func_args(Env &env, uint32_t subprog) {
  Subprog &sp = env.subprogs[subprog];
  if (sp.args_ready) return 0;
  const btf::Btf &b = *env.options.btf;
  const struct btf_type *proto = b.type_by_id(b.type_by_id(sp.btf_id)->type);
  const char *name = sp.name.c_str();
  if (!is_kind(proto, BTF_KIND_FUNC_PROTO)) {
    env.log.printf("Invalid type of function %s()\n", name);
    return -EFAULT;
  }
  const uint32_t nargs = btf::vlen_of(proto);
  if (nargs > kMaxFuncArgs) {
    env.log.printf("Global function %s() with %u > %u args. Buggy compiler.\n", name, nargs, kMaxFuncArgs);
    return -EINVAL;
  }
  // 6.18 takes int and enum returns only (not void).
  if (!is_scalar_type(skip_modifiers(b, proto->type))) {
    env.log.printf("Global function %s() doesn't return scalar. Only those are supported.\n", name);
    return -EINVAL;
  }
  const auto *params = reinterpret_cast<const struct btf_param *>(proto + 1);
  for (uint32_t i = 0; i < nargs; i++) {
    FuncArg &arg = sp.args[i];
    uint32_t tags = 0;
    if (int err = arg_tags(env, b, sp.btf_id, i, &tags)) return err;
    const struct btf_type *t = skip_modifiers(b, params[i].type);
    if (is_kind(t, BTF_KIND_PTR)) {
      if ((tags & kTagCtx) || is_prog_ctx_type(b, t, env.options.prog_type)) {
        if (tags & ~kTagCtx) {
          env.log.printf("arg#%u has invalid combination of tags\n", i);
          return -EINVAL;
        }
        if ((tags & kTagCtx) && validate_tagged_ctx(env, b, t, i)) return -EINVAL;
        arg.kind = ArgKind::kCtx;
        continue;
      }
      if (tags & (kTagTrusted | kTagUntrusted | kTagArena)) {
        // These point into the kernel's own objects (its BTF) or a BPF
        // arena, neither of which userbpf has.
        env.log.printf("arg#%u: arg:trusted, arg:untrusted and arg:arena pointers need kernel BTF or arena maps, "
                       "which userbpf does not have\n", i);
        return -EOPNOTSUPP;
      }
      if (tags & kTagNullable) {
        env.log.printf("arg#%u has invalid combination of tags\n", i);
        return -EINVAL;
      }
      uint32_t pointee_id = 0;
      const struct btf_type *pointee = skip_modifiers(b, t->type, &pointee_id);
      uint32_t size = 0;
      if (!resolve_size(b, pointee_id, &size)) {
        env.log.printf("arg#%u reference type('%s %s') size cannot be determined: %d\n", i, btf::kind_str(pointee),
                       name_of(b, pointee), -EINVAL);
        return -EINVAL;
      }
      arg.kind = ArgKind::kMem;
      arg.mem_size = size;
      arg.nullable = !(tags & kTagNonnull);
      continue;
    }
    if (tags) {
      env.log.printf("arg#%u has pointer tag, but is not a pointer type\n", i);
      return -EINVAL;
    }
    if (is_scalar_type(t)) {
      arg.kind = ArgKind::kScalar;
      continue;
    }
    env.log.printf("Arg#%u type %s in %s() is not supported yet.\n", i, btf::kind_str(t), name);
    return -EINVAL;
  }
  sp.arg_count = nargs;
  sp.args_ready = true;
  return 0;
}

} // namespace userbpf::verifier
