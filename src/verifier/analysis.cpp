// The path-by-path abstract interpretation (the kernel's do_check): every
// path from the first instruction is followed with an abstract state
// (state.h); each instruction is checked against the rules and its effect
// applied. Conditional jumps whose outcome is unknown fork the state (one
// side is pushed on a stack and explored later). At prune points the state
// is compared with the states already explored there: a state contained in
// one whose exploration finished safely needs no further work (pruning);
// a state equal to one still being explored on the same path is a loop that
// makes no progress ("infinite loop detected"). 1M processed instructions
// is the complexity limit.
#include <cerrno>
#include <cinttypes>
#include <cstring>
#include <memory>
#include <algorithm>

#include <linux/bpf.h>

#include "helpers/helpers.h"
#include "verifier/env.h"
#include "verifier/state.h"
#include "vm/disasm.h"
#include "vm/interpreter.h"

namespace userbpf::verifier {

using vm::Op;
using vm::Shape;

namespace {

constexpr int64_t kMaxVarOff = 1 << 29;   // BPF_MAX_VAR_OFF
constexpr int kENOTSUPP = 524;            // the kernel's internal ENOTSUPP, which bpf() returns as is

// The kernel adds bounds and offsets in s64 and lets them wrap; so do we,
// without undefined behaviour (the checks that follow catch a wrapped value).
int64_t wrapping_add(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
constexpr uint64_t kMaxVarSize = 1 << 29; // BPF_MAX_VAR_SIZ
constexpr uint32_t kMaxPacketOff = 0xffff; // MAX_PACKET_OFF
constexpr uint32_t kComplexityLimit = 1000000;

// A state stored at a prune point, with the count of paths still being
// explored below it (the kernel's bpf_verifier_state.branches).
struct Checkpoint {
  State state;
  Checkpoint *parent = nullptr;
  uint32_t alive = 1;
  uint32_t insn = 0;
  uint32_t hits = 0, misses = 0; // for evicting states that never help
};

// Pairs of ids seen equal while comparing two states (the kernel's idmap):
// one old id must always correspond to the same current id.
class IdMap {
public:
  bool check(uint32_t old_id, uint32_t cur_id) {
    for (size_t i = 0; i < n_; i++)
      if (pairs_[i].first == old_id) return pairs_[i].second == cur_id;
    if (n_ == kMax) return false;
    pairs_[n_++] = {old_id, cur_id};
    return true;
  }

private:
  static constexpr size_t kMax = 64;
  std::pair<uint32_t, uint32_t> pairs_[kMax];
  size_t n_ = 0;
};

struct Pending {
  State state;
  uint32_t insn;
  uint32_t from;
  Checkpoint *parent;
  size_t log_pos; // the log's length when the branch was pushed
};

struct Error {
  int err;
};

class Checker {
public:
  // exact_iterations: how many iterations of a callback are explored exactly
  // before the scalars it changes are widened (widen_callback_state).
  Checker(Env &env, uint32_t exact_iterations)
      : env_(env), log_(env.log), priv_(env.options.privilege), exact_iterations_(exact_iterations) {}
  // The main program, then every global function a verified path calls.
  int run();
  void stats(uint32_t *total, uint32_t *peak) const {
    *total = total_states_;
    *peak = peak_states_;
  }

private:
  // ---- exploration
  int check_subprog(uint32_t subprog); // one do_check from the subprogram's first insn
  State entry_state(uint32_t subprog);
  int explore(State st, uint32_t insn);
  bool visit_prune_point(uint32_t insn, int *err);
  void path_done();
  void push_branch(const State &st, uint32_t insn, uint32_t from);

  // ---- one instruction; returns the next insn, or -1 at the end of a path
  int64_t step(uint32_t pc);
  void check_alu(uint32_t pc, const vm::Insn &insn);
  void check_ld_imm64(const vm::Insn &insn, uint32_t pc);
  void check_load_store(uint32_t pc, const vm::Insn &insn);
  void check_atomic(uint32_t pc, const vm::Insn &insn);
  int64_t check_cond_jump(uint32_t pc, const vm::Insn &insn);
  void check_helper_call(uint32_t pc, const vm::Insn &insn);
  void push_callback(uint32_t pc, uint32_t subprog, int32_t for_each_map);
  void widen_callback_state(uint32_t callsite);
  int64_t check_local_call(uint32_t pc, const vm::Insn &insn);
  void check_global_call(uint32_t subprog);
  void check_global_call_arg(uint32_t subprog, uint32_t arg);
  int64_t check_exit(uint32_t pc);
  int64_t check_ld_abs(uint32_t pc, const vm::Insn &insn);
  void check_return_code();
  void check_retval_range(const char *where, const Reg &r0, int64_t min, int64_t max);

  // ---- registers
  Reg &reg(int r) { return st_.cur().regs[r]; }
  void read_reg(int r);
  void write_reg_check(int r);
  void mark_unknown(Reg &r);
  void mark_known(Reg &r, uint64_t v);
  void mark_not_init(Reg &r) { r = Reg{}; }
  bool is_pointer_leak(const Reg &r) const { return !priv_.allow_ptr_leaks && r.is_pointer(); }
  void adjust_ptr_alu(uint32_t pc, const vm::Insn &insn, Reg &dst, const Reg &ptr, const Reg &off_reg, bool dst_is_ptr);

  // ---- memory
  void note_mem_ptr_kind(uint32_t pc, const Reg &ptr);
  void clear_all_packet_pointers();
  void check_mem_access(uint32_t pc, int regno, int off, int size, bool write, int value_regno, bool sign_extend,
                        bool strict_alignment_once = false);
  void check_alignment(int regno, const Reg &ptr, int off, int size, bool strict_once);
  bool const_stack_key(const Reg &ptr, int size, uint64_t *key);
  void check_stack_access(int regno, const Reg &ptr, int off, int size, bool write, int value_regno);
  void check_map_value_access(int regno, const Reg &ptr, int off, int size, bool zero_size_ok);
  void check_const_str(int regno, const Reg &r);
  void check_packet_access(int regno, const Reg &ptr, int off, int size, bool zero_size_ok);
  void check_mem_region(int regno, const Reg &ptr, int off, int size, uint32_t mem_size, bool zero_size_ok);
  void check_helper_mem(int regno, int64_t size, bool write, bool zero_size_ok);
  void check_stack_range(int regno, const Reg &ptr, int64_t off, int64_t size, bool write);
  Frame &stack_frame(const Reg &ptr) { return st_.frames[ptr.frameno]; }
  void grow_stack(Frame &f, int depth, uint32_t subprog);

  // ---- branches
  void refine(State &st, const vm::Insn &insn, bool taken);
  void mark_null_checked(State &st, uint32_t id, bool is_null);
  bool try_packet_compare(const vm::Insn &insn, State &taken, State &fall);

  // ---- states
  bool states_equal(const State &old, const State &cur, bool exact, uint32_t insn);
  bool reg_safe(const Reg &old, const Reg &cur, bool exact, IdMap &ids);
  bool stack_safe(const Frame &old, const Frame &cur, bool exact, IdMap &ids);

  [[noreturn]] void fail(int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
  std::string state_str(const Frame &f) const;
  std::string reg_str(const Reg &r) const;

  Env &env_;
  Log &log_;
  const Privilege &priv_;
  const uint32_t exact_iterations_;
  State st_;
  Checkpoint *parent_ = nullptr;
  std::vector<Pending> pending_;
  std::vector<std::unique_ptr<Checkpoint>> all_checkpoints_;
  std::vector<std::vector<Checkpoint *>> explored_;
  uint32_t id_gen_ = 0;
  uint32_t processed_ = 0;
  uint32_t jmps_processed_ = 0, prev_jmps_ = 0, prev_insns_ = 0;
  uint32_t total_states_ = 0, peak_states_ = 0;
  int64_t next_pc_ = 0;
  Reg imm_value_;                    // the value of a BPF_ST store (value_regno == kImmValue)
  // Per instruction, the masking the kernel would apply to `ptr += reg`
  // (bpf_insn_aux_data.alu_state/alu_limit): every path must agree.
  struct AluAux { uint32_t state = 0, limit = 0; };
  std::vector<AluAux> alu_aux_;
  bool explore_alu_limits_ = false;
  // Instructions where a mispredicted path failed: the kernel puts a
  // speculation barrier (nospec) there, which also ends later speculative
  // paths and makes the masking of pointer arithmetic there unnecessary.
  std::vector<uint8_t> nospec_;
  static constexpr int kImmValue = -2;
};

[[noreturn]] void Checker::fail(int err, const char *fmt, ...) {
  if (log_.enabled()) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    log_.text() += buf;
  }
  throw Error{err};
}

} // namespace

void Log::printf(const char *fmt, ...) {
  if (!enabled()) return;
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n > 0) text_.append(buf, std::min<size_t>(static_cast<size_t>(n), sizeof buf - 1));
}

const char *reg_type_name(const Reg &r) {
  switch (r.type) {
  case RegType::kNotInit: return "?";
  case RegType::kScalar: return "scalar";
  case RegType::kCtx: return "ctx";
  case RegType::kMapPtr: return "map_ptr";
  case RegType::kMapValue: return r.maybe_null ? "map_value_or_null" : "map_value";
  case RegType::kStack: return "fp";
  case RegType::kPacketMeta: return "pkt_meta";
  case RegType::kPacket: return "pkt";
  case RegType::kPacketEnd: return "pkt_end";
  case RegType::kMem: return r.maybe_null ? (r.rdonly ? "rdonly_mem_or_null" : "mem_or_null") : (r.rdonly ? "rdonly_mem" : "mem");
  case RegType::kSock: return r.maybe_null ? "sock_common_or_null" : "sock_common";
  case RegType::kFunc: return "func";
  case RegType::kMapKey: return "map_key";
  }
  return "?";
}

namespace {

std::string Checker::reg_str(const Reg &r) const {
  std::string out;
  if (r.type == RegType::kScalar) {
    if (r.s.is_const()) return std::to_string(static_cast<int64_t>(r.s.const_value()));
    out = "scalar(";
    if (r.id) out += "id=" + std::to_string(r.id) + ",";
    out += scalar_str(r.s) + ")";
    return out;
  }
  if (r.type == RegType::kStack) return "fp" + std::to_string(r.off);
  out = reg_type_name(r);
  out += "(";
  bool comma = false;
  auto add = [&](const std::string &s) {
    if (comma) out += ",";
    out += s;
    comma = true;
  };
  if (r.id) add("id=" + std::to_string(r.id));
  if (r.type == RegType::kMapValue || r.type == RegType::kMapPtr || r.type == RegType::kMapKey) {
    const MapInfo &m = env_.maps[static_cast<size_t>(r.map)];
    add("map=" + std::to_string(m.id));
    if (r.type == RegType::kMapKey) add("ks=" + std::to_string(m.key_size));
    if (r.type != RegType::kMapPtr) add("vs=" + std::to_string(m.value_size));
  }
  if (r.off) add("off=" + std::to_string(r.off));
  if (r.is_packet()) add("r=" + std::to_string(r.range));
  if (r.type == RegType::kMem) add("sz=" + std::to_string(r.mem_size));
  if (!r.s.is_const() || r.s.const_value() != 0) add(scalar_str(r.s));
  out += ")";
  return out;
}

std::string Checker::state_str(const Frame &f) const {
  std::string out;
  for (int i = 0; i < vm::kNumRegs; i++) {
    if (f.regs[i].type == RegType::kNotInit) continue;
    out += " R" + std::to_string(i) + "=" + reg_str(f.regs[i]);
  }
  for (size_t i = 0; i < f.slots.size(); i++) {
    const StackSlot &s = f.slots[i];
    std::string bytes;
    bool any = false;
    for (int b = 7; b >= 0; b--) {
      char c = "?mz"[0];
      switch (s.bytes[b]) {
      case StackByte::kInvalid: c = '?'; break;
      case StackByte::kMisc: c = 'm'; any = true; break;
      case StackByte::kZero: c = '0'; any = true; break;
      case StackByte::kSpill: c = 'r'; any = true; break;
      }
      bytes += c;
    }
    if (!any) continue;
    out += " fp-" + std::to_string((i + 1) * 8) + "=";
    out += s.bytes[0] == StackByte::kSpill ? reg_str(s.spilled) : bytes;
  }
  return out;
}

// The kernel's name of a helper (func_id_name): "bpf_map_lookup_elem", or
// "unknown" past the ids this system's <linux/bpf.h> knows.
std::string helper_name(int32_t id) {
#define USERBPF_HELPER_NAME(x, ...) "bpf_" #x
  static const char *const kNames[] = {__BPF_FUNC_MAPPER(USERBPF_HELPER_NAME)};
#undef USERBPF_HELPER_NAME
  if (id <= 0 || static_cast<size_t>(id) >= sizeof(kNames) / sizeof(kNames[0])) return "unknown";
  return kNames[id];
}

// ---------------------------------------------------------------- registers

void Checker::read_reg(int r) {
  if (reg(r).type == RegType::kNotInit) fail(-EACCES, "R%d !read_ok\n", r);
}

void Checker::write_reg_check(int r) {
  if (r == vm::kFrameReg) fail(-EACCES, "frame pointer is read only\n");
}

void Checker::mark_unknown(Reg &r) {
  r = Reg{};
  r.type = RegType::kScalar;
}

void Checker::mark_known(Reg &r, uint64_t v) {
  r = Reg{};
  r.type = RegType::kScalar;
  r.s = Scalar::constant(v);
}

// ------------------------------------------------------------------- stack

void Checker::grow_stack(Frame &f, int depth, uint32_t subprog) {
  size_t need = static_cast<size_t>((depth + 7) / 8);
  if (f.slots.size() < need) f.slots.resize(need);
  Subprog &sp = env_.subprogs[subprog];
  if (static_cast<uint32_t>(depth) > sp.stack_depth) sp.stack_depth = static_cast<uint32_t>(depth);
}

// A fixed-offset access to the stack (check_stack_read/write_fixed_off).
void Checker::check_stack_access(int regno, const Reg &ptr, int off, int size, bool write, int value_regno) {
  if (!ptr.s.is_const()) {
    // Variable offsets: allowed for privileged loaders (reads need every
    // byte initialized, or allow_uninit_stack); the result is unknown.
    if (!priv_.allow_ptr_leaks) fail(-EACCES, "R%d variable stack access prohibited for !root, var_off=%s off=%d\n", regno, tnum_str(ptr.s.var_off).c_str(), off);
    const char *what = write ? " write to" : " read from";
    if (ptr.s.smax >= kMaxVarOff || ptr.s.smin <= -kMaxVarOff)
      fail(-EACCES, "invalid unbounded variable-offset%s stack R%d\n", what, regno);
    const int64_t min_off = ptr.s.smin + off, max_off = ptr.s.smax + off;
    // check_stack_access_within_bounds: below the stack is EACCES, past its top EINVAL.
    if (min_off < -vm::kStackSize || max_off + size > 0)
      fail(min_off < -vm::kStackSize ? -EACCES : -EINVAL, "invalid variable-offset%s stack R%d var_off=%s off=%d size=%d\n", what, regno,
           tnum_str(ptr.s.var_off).c_str(), off, size);
    check_stack_range(regno, ptr, off, size, write);
    if (!write && value_regno >= 0) mark_unknown(reg(value_regno));
    return;
  }
  int64_t abs_off = wrapping_add(off, static_cast<int64_t>(ptr.s.const_value()));
  if (abs_off < -vm::kStackSize || abs_off > -static_cast<int64_t>(size) || size <= 0)
    fail(-EACCES, "invalid %s stack R%d off=%lld size=%d\n", write ? "write to" : "read from", regno,
         static_cast<long long>(abs_off), size);
  Frame &f = stack_frame(ptr);
  const int spi = static_cast<int>((-abs_off - 1) / 8);
  const int byte = static_cast<int>((abs_off % 8 + 8) % 8); // offset inside the slot
  if (write) {
    grow_stack(f, static_cast<int>(-abs_off), f.subprog);
    StackSlot &slot = f.slots[static_cast<size_t>(spi)];
    const Reg *value = value_regno >= 0 ? &reg(value_regno) : (value_regno == kImmValue ? &imm_value_ : nullptr);
    const bool was_spilled_ptr = slot.bytes[0] == StackByte::kSpill && slot.spilled.is_pointer();
    if (value && value->is_pointer() && size != 8) fail(-EACCES, "invalid size of register spill\n");
    if (was_spilled_ptr && size != 8 && !priv_.allow_ptr_leaks) fail(-EACCES, "attempt to corrupt spilled pointer on stack\n");
    // A frame's stack pointer must not outlive it in a caller's stack.
    if (value && value->type == RegType::kStack && ptr.frameno != st_.frames.size() - 1)
      fail(-EINVAL, "cannot spill pointers to stack into stack frame of the caller\n");
    const bool zero = value && value->type == RegType::kScalar && value->s.is_const() && value->s.const_value() == 0;
    if (value && byte == 0 && !zero && (size == 8 ? value->type != RegType::kNotInit : value->type == RegType::kScalar)) {
      // A spill: remember the register (narrow spills of scalars too; the
      // other bytes of the slot keep being uninitialized or zero).
      for (auto &b : slot.bytes)
        if (b != StackByte::kInvalid && b != StackByte::kZero) b = StackByte::kMisc;
      slot.spilled = *value;
      if (size < 8) slot.spilled.s.truncate(size);
      for (int i = 0; i < size; i++) slot.bytes[i] = StackByte::kSpill;
      return;
    }
    // Plain data: an old spill in the slot is gone.
    if (slot.bytes[0] == StackByte::kSpill) {
      for (auto &b : slot.bytes)
        if (b == StackByte::kSpill) b = StackByte::kMisc;
      slot.spilled = Reg{};
    }
    for (int i = 0; i < size; i++) slot.bytes[byte + i] = zero ? StackByte::kZero : StackByte::kMisc;
    return;
  }
  // read
  if (static_cast<size_t>(spi) >= f.slots.size()) {
    if (!priv_.allow_uninit_stack) fail(-EACCES, "invalid read from stack R%d off=%lld size=%d\n", regno, static_cast<long long>(abs_off), size);
    if (value_regno >= 0) mark_unknown(reg(value_regno));
    return;
  }
  const StackSlot &slot = f.slots[static_cast<size_t>(spi)];
  if (slot.bytes[0] == StackByte::kSpill) {
    int spill_size = 0;
    while (spill_size < 8 && slot.bytes[spill_size] == StackByte::kSpill) spill_size++;
    if (byte == 0 && size == spill_size) {
      if (value_regno >= 0) reg(value_regno) = slot.spilled;
      return;
    }
    if (slot.spilled.is_pointer()) fail(-EACCES, "invalid size of register fill\n");
    if (byte == 0 && size <= spill_size) {
      // The low bytes of a spilled scalar: the register, cut to size.
      if (value_regno >= 0) {
        Reg r = slot.spilled;
        r.id = 0;
        reg(value_regno) = r;
      }
      return;
    }
    for (int i = 0; i < size; i++) {
      StackByte b = slot.bytes[byte + i];
      if (b == StackByte::kInvalid && !priv_.allow_uninit_stack)
        fail(-EACCES, "invalid read from stack off %lld+%d size %d\n", static_cast<long long>(abs_off - byte), byte + i, size);
    }
    if (value_regno >= 0) mark_unknown(reg(value_regno));
    return;
  }
  bool all_zero = true;
  for (int i = 0; i < size; i++) {
    StackByte b = slot.bytes[byte + i];
    if (b == StackByte::kInvalid) {
      if (!priv_.allow_uninit_stack)
        fail(-EACCES, "invalid read from stack off %lld+%d size %d\n", static_cast<long long>(abs_off - byte), byte + i, size);
      all_zero = false;
    } else if (b != StackByte::kZero) {
      all_zero = false;
    }
  }
  if (value_regno >= 0) {
    if (all_zero) mark_known(reg(value_regno), 0);
    else mark_unknown(reg(value_regno));
  }
}

// A helper's access to [off, off+size) of the stack (check_stack_range_initialized).
void Checker::check_stack_range(int regno, const Reg &ptr, int64_t off, int64_t size, bool write) {
  int64_t min_off, max_off;
  if (ptr.s.is_const()) {
    min_off = max_off = wrapping_add(off, static_cast<int64_t>(ptr.s.const_value()));
  } else {
    if (!priv_.allow_ptr_leaks) fail(-EACCES, "R%d variable stack access prohibited for !root, var_off=%s off=%lld\n", regno, tnum_str(ptr.s.var_off).c_str(), static_cast<long long>(off));
    // check_stack_access_within_bounds: a helper does not say whether it reads or writes.
    if (ptr.s.smax >= kMaxVarOff || ptr.s.smin <= -kMaxVarOff)
      fail(-EACCES, "invalid unbounded variable-offset indirect access to stack R%d\n", regno);
    min_off = ptr.s.smin + off;
    max_off = ptr.s.smax + off;
  }
  if (min_off < -vm::kStackSize || max_off > -size || (size == 0 && max_off >= 0)) {
    const char *what = write ? "write to" : "read from";
    const int err = min_off < -vm::kStackSize ? -EACCES : -EINVAL; // as check_stack_access_within_bounds
    if (ptr.s.is_const()) fail(err, "invalid %s stack R%d off=%lld size=%lld\n", what, regno, static_cast<long long>(min_off), static_cast<long long>(size));
    fail(err, "invalid variable-offset %s stack R%d var_off=%s off=%lld size=%lld\n", what, regno, tnum_str(ptr.s.var_off).c_str(), static_cast<long long>(off), static_cast<long long>(size));
  }
  Frame &f = stack_frame(ptr);
  const size_t allocated = f.slots.size();
  if (size > 0) grow_stack(f, static_cast<int>(-min_off), f.subprog);
  for (int64_t i = min_off; i < max_off + size; i++) {
    int spi = static_cast<int>((-i - 1) / 8);
    int byte = static_cast<int>((i % 8 + 8) % 8);
    if (!write && static_cast<size_t>(spi) >= allocated && !priv_.allow_uninit_stack) {
      // Deeper than the program ever wrote.
      if (ptr.s.is_const())
        fail(-EACCES, "invalid read from stack R%d off=%lld size=%lld\n", regno, static_cast<long long>(min_off), static_cast<long long>(size));
      fail(-EACCES, "invalid indirect read from stack R%d var_off %s+%lld size %lld\n", regno, tnum_str(ptr.s.var_off).c_str(), static_cast<long long>(off), static_cast<long long>(size));
    }
    StackSlot &slot = f.slots[static_cast<size_t>(spi)];
    if (write) {
      if (slot.bytes[0] == StackByte::kSpill) {
        for (auto &b : slot.bytes) if (b == StackByte::kSpill) b = StackByte::kMisc;
        slot.spilled = Reg{};
      }
      slot.bytes[byte] = StackByte::kMisc;
      continue;
    }
    StackByte b = slot.bytes[byte];
    if (b == StackByte::kMisc || b == StackByte::kZero) continue;
    if (b == StackByte::kInvalid && priv_.allow_uninit_stack) continue;
    if (b == StackByte::kSpill && (slot.spilled.type == RegType::kScalar || priv_.allow_ptr_leaks)) continue;
    if (ptr.s.is_const()) fail(-EACCES, "invalid read from stack R%d off %lld+%lld size %lld\n", regno, static_cast<long long>(min_off), static_cast<long long>(i - min_off), static_cast<long long>(size));
    fail(-EACCES, "invalid indirect read from stack R%d var_off %s+%lld size %lld\n", regno, tnum_str(ptr.s.var_off).c_str(), static_cast<long long>(off), static_cast<long long>(size));
  }
}

// ----------------------------------------------------------- other memory

// __check_mem_access over a region [0, mem_size) given the pointer's bounds.
void Checker::check_mem_region(int regno, const Reg &ptr, int off, int size, uint32_t mem_size, bool zero_size_ok) {
  // __check_mem_access names the region by the pointer's type.
  const bool key = ptr.type == RegType::kMapKey;
  const char *region = key ? "map key" : "memory", *size_name = key ? "key_size" : "mem_size";
  // check_mem_region_access: smin + off must neither wrap nor leave 32 bits.
  const int64_t lo = wrapping_add(ptr.s.smin, off);
  if (ptr.s.smin < 0 && (ptr.s.smin == INT64_MIN || lo != static_cast<int32_t>(lo) || lo < 0)) {
    fail(-EACCES, "R%d min value is negative, either use unsigned index or do a if (index >=0) check.\n", regno);
  }
  // __check_mem_access's line, then which end of the range was outside.
  if (lo < 0 || (size == 0 && !zero_size_ok) || static_cast<uint64_t>(lo) + static_cast<uint64_t>(size) > mem_size) {
    log_.printf("invalid access to %s, %s=%u off=%lld size=%d\n", region, size_name, mem_size, static_cast<long long>(lo), size);
    fail(-EACCES, "R%d min value is outside of the allowed memory range\n", regno);
  }
  if (ptr.s.umax >= static_cast<uint64_t>(kMaxVarOff))
    fail(-EACCES, "R%d unbounded memory access, make sure to bounds check any such access\n", regno);
  uint64_t hi = ptr.s.umax + static_cast<uint64_t>(static_cast<int64_t>(off));
  if (static_cast<int64_t>(hi) < 0 || hi + static_cast<uint64_t>(size) > mem_size) {
    log_.printf("invalid access to %s, %s=%u off=%lld size=%d\n", region, size_name, mem_size, static_cast<long long>(hi), size);
    fail(-EACCES, "R%d max value is outside of the allowed memory range\n", regno);
  }
}

// check_reg_const_str: a string the program cannot change and user space
// no longer can (a frozen map programs may only read: .rodata), at a known
// place in a direct-value array, with its NUL inside the value. The verifier
// reads it now; the helper may then trust it at run time.
void Checker::check_const_str(int regno, const Reg &r) {
  if (r.type != RegType::kMapValue || r.maybe_null)
    fail(-EACCES, "R%d type=%s expected=map_value\n", regno, reg_type_name(r));
  const MapInfo &m = env_.maps[static_cast<size_t>(r.map)];
  if (!(m.map_flags & BPF_F_RDONLY_PROG) || !m.frozen) fail(-EACCES, "R%d does not point to a readonly map'\n", regno);
  if (!r.s.is_const()) fail(-EACCES, "R%d is not a constant address'\n", regno);
  if (!m.value_base) fail(-EACCES, "no direct value access support for this map type\n");
  check_map_value_access(regno, r, 0, static_cast<int>(m.value_size) - r.off, false);
  if (m.max_entries != 1) fail(-kENOTSUPP, "direct value access on string failed\n"); // array_map_direct_value_addr
  const uint64_t at = static_cast<uint64_t>(static_cast<int64_t>(r.off) + static_cast<int64_t>(r.s.const_value()));
  const auto *value = reinterpret_cast<const char *>(static_cast<uintptr_t>(m.value_base));
  if (at >= m.value_size || !memchr(value + at, 0, m.value_size - at))
    fail(-EINVAL, "string is not zero-terminated\n");
}

void Checker::check_map_value_access(int regno, const Reg &ptr, int off, int size, bool zero_size_ok) {
  const MapInfo &m = env_.maps[static_cast<size_t>(ptr.map)];
  const int64_t fixed = static_cast<int64_t>(ptr.off) + off;
  // check_mem_region_access: the smallest and the largest offset both inside.
  const int64_t lo = wrapping_add(ptr.s.smin, fixed);
  if (ptr.s.smin < 0 && (ptr.s.smin == INT64_MIN || lo < 0))
    fail(-EACCES, "R%d min value is negative, either use unsigned index or do a if (index >=0) check.\n", regno);
  if (lo < 0 || (size == 0 && !zero_size_ok) || lo + size > static_cast<int64_t>(m.value_size)) {
    if (log_.enabled())
      log_.printf("invalid access to map value, value_size=%u off=%lld size=%d\n", m.value_size, static_cast<long long>(lo), size);
    fail(-EACCES, "R%d min value is outside of the allowed memory range\n", regno);
  }
  if (ptr.s.umax >= static_cast<uint64_t>(kMaxVarOff))
    fail(-EACCES, "R%d unbounded memory access, make sure to bounds check any such access\n", regno);
  int64_t hi = static_cast<int64_t>(ptr.s.umax) + fixed;
  if (hi < 0 || hi + size > static_cast<int64_t>(m.value_size)) {
    if (log_.enabled())
      log_.printf("invalid access to map value, value_size=%u off=%lld size=%d\n", m.value_size, static_cast<long long>(hi), size);
    fail(-EACCES, "R%d max value is outside of the allowed memory range\n", regno);
  }
}

void Checker::check_packet_access(int regno, const Reg &ptr, int off, int size, bool zero_size_ok) {
  if (ptr.s.smin < 0) {
    fail(-EACCES, "R%d min value is negative, either use unsigned index or do a if (index >=0) check.\n", regno);
  }
  // The range was proven for pointers with this id, variable part
  // included: only the fixed part is checked against it.
  const int64_t fixed = static_cast<int64_t>(ptr.off) + off;
  if (fixed < 0 || (size == 0 && !zero_size_ok) || fixed + size > static_cast<int64_t>(ptr.range)) {
    if (log_.enabled())
      // (the kernel prints the access offset in both places)
      log_.printf("invalid access to packet, off=%lld size=%d, R%d(id=%u,off=%lld,r=%u)\n", static_cast<long long>(fixed), size,
                  regno, ptr.id, static_cast<long long>(fixed), ptr.range);
    fail(-EACCES, "R%d offset is outside of the packet\n", regno);
  }
}

// check_mem_access: a load or store of `size` bytes at R[regno] + off.
// value_regno: the register loaded into / stored from, or -1.
// check_ptr_alignment. Stack accesses are always aligned to their size (the
// spill tracking relies on it); others only with BPF_F_STRICT_ALIGNMENT (this
// machine has efficient unaligned access) or for atomics. Packets are checked
// as if 2 bytes (NET_IP_ALIGN) in, as the kernel does everywhere.
void Checker::check_alignment(int regno, const Reg &ptr, int off, int size, bool strict_once) {
  (void)regno;
  bool strict = strict_once || ((env_.options.prog_flags & BPF_F_STRICT_ALIGNMENT) && !(env_.options.prog_flags & BPF_F_ANY_ALIGNMENT));
  const char *desc = "";
  int ip_align = 0;
  switch (ptr.type) {
  case RegType::kPacket: case RegType::kPacketMeta: ip_align = 2; break;
  case RegType::kMapValue: desc = "value "; break;
  case RegType::kCtx: desc = "context "; break;
  case RegType::kStack: desc = "stack "; strict = true; break;
  default: break;
  }
  if (!strict || size == 1) return;
  Tnum at = tnum_add(ptr.s.var_off, Tnum::constant(static_cast<uint64_t>(static_cast<int64_t>(ip_align + ptr.off + off))));
  if (tnum_is_aligned(at, static_cast<uint64_t>(size))) return;
  std::string var = ptr.s.is_const() ? std::to_string(static_cast<int64_t>(ptr.s.const_value())) : tnum_str(ptr.s.var_off);
  if (ip_align) fail(-EACCES, "misaligned packet access off %d+%s+%d+%d size %d\n", ip_align, var.c_str(), ptr.off, off, size);
  fail(-EACCES, "misaligned %saccess off %s+%d+%d size %d\n", desc, var.c_str(), ptr.off, off, size);
}

void Checker::check_mem_access(uint32_t pc, int regno, int off, int size, bool write, int value_regno, bool sign_extend,
                               bool strict_alignment_once) {
  Reg ptr = reg(regno);
  if (ptr.is_pointer()) check_alignment(regno, ptr, off, size, strict_alignment_once);
  auto leak_check = [&](const char *into) {
    if (write && value_regno >= 0 && is_pointer_leak(reg(value_regno))) fail(-EACCES, "R%d leaks addr into %s\n", value_regno, into);
  };
  switch (ptr.type) {
  case RegType::kStack: {
    check_stack_access(regno, ptr, ptr.off + off, size, write, value_regno);
    if (!write && value_regno >= 0 && size < 8 && reg(value_regno).type == RegType::kScalar) {
      if (sign_extend) reg(value_regno).s.sign_extend64(size);
      else reg(value_regno).s.truncate(size);
    }
    return;
  }
  case RegType::kMapValue: {
    if (ptr.maybe_null) break;
    const MapInfo &m = env_.maps[static_cast<size_t>(ptr.map)];
    if (write && (m.map_flags & BPF_F_RDONLY_PROG))
      fail(-EACCES, "write into map forbidden, value_size=%u off=%d size=%d\n", m.value_size, ptr.off + off, size);
    if (!write && (m.map_flags & BPF_F_WRONLY_PROG))
      fail(-EACCES, "read from map forbidden, value_size=%u off=%d size=%d\n", m.value_size, ptr.off + off, size);
    leak_check("map");
    check_map_value_access(regno, ptr, off, size, false);
    if (!write && value_regno >= 0) {
      // A read-only (frozen, BPF_F_RDONLY_PROG) array's constant bytes
      // could be known; the kernel tracks them only with BTF-less .rodata
      // values it can read. Treat the value as unknown.
      mark_unknown(reg(value_regno));
    }
    break;
  }
  case RegType::kCtx: {
    leak_check("ctx");
    if (ptr.off < 0) fail(-EACCES, "negative offset ctx ptr R%d off=%d disallowed\n", regno, ptr.off);
    if (!ptr.s.is_const() || ptr.s.const_value() != 0)
      fail(-EACCES, "variable ctx access var_off=%s disallowed\n", tnum_str(ptr.s.var_off).c_str());
    if (ptr.off) fail(-EACCES, "dereference of modified ctx ptr R%d off=%d disallowed\n", regno, ptr.off);
    CtxField field = env_.type->ctx_access(off, size, write, env_.options);
    if (field == CtxField::kInvalid) fail(-EACCES, "invalid bpf_context access off=%d size=%d\n", off, size);
    env_.max_ctx_offset = std::max(env_.max_ctx_offset, static_cast<uint32_t>(off + size));
    if (!write && value_regno >= 0) {
      Reg &dst = reg(value_regno);
      switch (field) {
      case CtxField::kScalar: case CtxField::kScalar16: case CtxField::kInvalid: mark_unknown(dst); break;
      case CtxField::kPacket: mark_known(dst, 0); dst.type = RegType::kPacket; break;
      case CtxField::kPacketMeta: mark_known(dst, 0); dst.type = RegType::kPacketMeta; break;
      case CtxField::kPacketEnd: mark_known(dst, 0); dst.type = RegType::kPacketEnd; break;
      case CtxField::kSockOrNull: mark_known(dst, 0); dst.type = RegType::kSock; dst.maybe_null = true; dst.id = ++id_gen_; break;
      }
      if (field == CtxField::kPacket || field == CtxField::kPacketMeta || field == CtxField::kPacketEnd)
        env_.ctx_rewrite[pc] = field;
    }
    if (write && field == CtxField::kScalar16) env_.ctx_rewrite[pc] = field;
    break;
  }
  case RegType::kPacket:
  case RegType::kPacketMeta: {
    if (write && !env_.type->packet_writes) fail(-EACCES, "cannot write into packet\n");
    leak_check("packet");
    check_packet_access(regno, ptr, off, size, false);
    if (!write && value_regno >= 0) mark_unknown(reg(value_regno));
    break;
  }
  case RegType::kMem: {
    if (ptr.maybe_null) break;
    if (write && ptr.rdonly) fail(-EACCES, "R%d cannot write into %s\n", regno, reg_type_name(ptr));
    leak_check("mem");
    check_mem_region(regno, ptr, ptr.off + off, size, ptr.mem_size, false);
    if (!write && value_regno >= 0) mark_unknown(reg(value_regno));
    break;
  }
  case RegType::kMapKey: {
    // The element's own key: changing it would move the element to another bucket.
    if (write) fail(-EACCES, "write to change key R%d not allowed\n", regno);
    check_mem_region(regno, ptr, ptr.off + off, size, env_.maps[static_cast<size_t>(ptr.map)].key_size, false);
    if (value_regno >= 0) mark_unknown(reg(value_regno));
    break;
  }
  default:
    break;
  }
  if (ptr.type == RegType::kNotInit) fail(-EACCES, "R%d !read_ok\n", regno);
  bool handled = (ptr.type == RegType::kMapValue && !ptr.maybe_null) || ptr.type == RegType::kCtx ||
                 ptr.is_packet() || (ptr.type == RegType::kMem && !ptr.maybe_null) || ptr.type == RegType::kMapKey;
  if (!handled) fail(-EACCES, "R%d invalid mem access '%s'\n", regno, reg_type_name(ptr));
  if (!write && value_regno >= 0 && size < 8 && reg(value_regno).type == RegType::kScalar) {
    if (sign_extend) reg(value_regno).s.sign_extend64(size);
    else reg(value_regno).s.truncate(size);
  }
}

// The key a helper reads from the stack, when it is a known constant
// (a spilled constant, or zeroed bytes).
bool Checker::const_stack_key(const Reg &ptr, int size, uint64_t *key) {
  if (!ptr.s.is_const() || size > 8) return false;
  int64_t abs_off = wrapping_add(ptr.off, static_cast<int64_t>(ptr.s.const_value()));
  if (abs_off >= 0 || abs_off < -vm::kStackSize) return false;
  const Frame &f = st_.frames[ptr.frameno];
  size_t spi = static_cast<size_t>((-abs_off - 1) / 8);
  int byte = static_cast<int>((abs_off % 8 + 8) % 8);
  if (spi >= f.slots.size() || byte + size > 8) return false;
  const StackSlot &slot = f.slots[spi];
  if (byte == 0 && slot.bytes[0] == StackByte::kSpill) {
    if (slot.spilled.type != RegType::kScalar || !slot.spilled.s.is_const()) return false;
    int spill_size = 0;
    while (spill_size < 8 && slot.bytes[spill_size] == StackByte::kSpill) spill_size++;
    if (spill_size < size) return false;
    *key = size == 8 ? slot.spilled.s.const_value() : slot.spilled.s.const_value() & ((1ull << (8 * size)) - 1);
    return true;
  }
  for (int i = 0; i < size; i++)
    if (slot.bytes[byte + i] != StackByte::kZero) return false;
  *key = 0;
  return true;
}

// A helper reading or writing `size` bytes through R[regno]
// (check_helper_mem_access).
void Checker::check_helper_mem(int regno, int64_t size, bool write, bool zero_size_ok) {
  Reg ptr = reg(regno);
  switch (ptr.type) {
  case RegType::kStack:
    // check_stack_range_initialized (a map key of a keyless map, say).
    if (size == 0 && !zero_size_ok) fail(-EACCES, "invalid zero-sized read\n");
    check_stack_range(regno, ptr, ptr.off, size, write);
    return;
  case RegType::kMapValue: {
    const MapInfo &m = env_.maps[static_cast<size_t>(ptr.map)];
    if (write && (m.map_flags & BPF_F_RDONLY_PROG))
      fail(-EACCES, "write into map forbidden, value_size=%u off=%d size=%lld\n", m.value_size, ptr.off, static_cast<long long>(size));
    check_map_value_access(regno, ptr, 0, static_cast<int>(size), zero_size_ok);
    return;
  }
  case RegType::kPacket:
  case RegType::kPacketMeta:
    if (write && !env_.type->packet_writes) fail(-EACCES, "cannot write into packet\n");
    check_packet_access(regno, ptr, 0, static_cast<int>(size), zero_size_ok);
    return;
  case RegType::kMem:
    if (write && ptr.rdonly) fail(-EACCES, "R%d cannot write into %s\n", regno, reg_type_name(ptr));
    check_mem_region(regno, ptr, ptr.off, static_cast<int>(size), ptr.mem_size, zero_size_ok);
    return;
  case RegType::kMapKey:
    if (write) fail(-EACCES, "R%d cannot write into %s\n", regno, reg_type_name(ptr));
    check_mem_region(regno, ptr, ptr.off, static_cast<int>(size), env_.maps[static_cast<size_t>(ptr.map)].key_size,
                     zero_size_ok);
    return;
  default:
    if (zero_size_ok && size == 0 && ptr.type == RegType::kScalar && ptr.s.is_const() && ptr.s.const_value() == 0) return;
    fail(-EACCES, "R%d type=%s expected=fp\n", regno, reg_type_name(ptr));
  }
}

// --------------------------------------------------------------------- ALU

// BPF_OP of an ALU opcode (BPF_ADD, BPF_SUB, ...).
uint8_t alu_op(const vm::Insn &insn) { return insn.opcode & 0xf0; }

void Checker::adjust_ptr_alu(uint32_t pc, const vm::Insn &insn, Reg &dst, const Reg &ptr, const Reg &off_reg,
                             bool dst_is_ptr) {
  const uint8_t op = alu_op(insn);
  const int d = insn.dst;
  const char *sym = insn.info().symbol.data();
  if (vm::is_alu32(insn.opcode)) {
    if (op == BPF_SUB && priv_.allow_ptr_leaks) {
      mark_unknown(dst);
      dst.s.zext32();
      return;
    }
    fail(-EACCES, "R%d 32-bit pointer arithmetic prohibited\n", d);
  }
  if (ptr.maybe_null)
    fail(-EACCES, "R%d pointer arithmetic on %s prohibited, null-check it first\n", d, reg_type_name(ptr));
  const bool known = off_reg.s.is_const();
  const int64_t val = static_cast<int64_t>(off_reg.s.const_value());
  switch (ptr.type) {
  case RegType::kCtx: case RegType::kMapValue: case RegType::kStack: case RegType::kPacketMeta:
  case RegType::kPacket: case RegType::kMem: case RegType::kFunc: case RegType::kMapKey:
    break;
  case RegType::kMapPtr:
    if (known && val == 0 && op == BPF_ADD) break;
    [[fallthrough]];
  default:
    fail(-EACCES, "R%d pointer arithmetic on %s prohibited\n", d, reg_type_name(ptr));
  }
  // check_reg_sane_offset, for the offset and for the pointer
  auto sane = [&](const Reg &r, bool is_off) {
    if (is_off && r.s.is_const()) {
      int64_t v = static_cast<int64_t>(r.s.const_value());
      if (v >= kMaxVarOff || v <= -kMaxVarOff)
        fail(-EINVAL, "math between %s pointer and %lld is not allowed\n", reg_type_name(ptr), static_cast<long long>(v));
    }
    if (!is_off && (r.off >= kMaxVarOff || r.off <= -kMaxVarOff))
      fail(-EINVAL, "%s pointer offset %d is not allowed\n", reg_type_name(ptr), r.off);
    if (r.s.smin == INT64_MIN)
      fail(-EINVAL, "math between %s pointer and register with unbounded min value is not allowed\n", reg_type_name(ptr));
    if (r.s.smin >= kMaxVarOff || r.s.smin <= -kMaxVarOff)
      fail(-EINVAL, "value %lld makes %s pointer be out of bounds\n", static_cast<long long>(r.s.smin), reg_type_name(ptr));
  };
  sane(off_reg, true);
  sane(ptr, false);
  // Spectre v1 mitigation for loaders without CAP_PERFMON (sanitize_ptr_alu):
  // `ptr += reg` is masked at run time to the room left in the object, so
  // the offset must have one sign, the pointer a type with known limits, and
  // every path reaching the instruction must need the same mask.
  const bool sanitize = !priv_.bypass_spec_v1 && (insn.opcode & vm::kSrcX) && !st_.speculative &&
                        !nospec_[pc] && (op == BPF_ADD || op == BPF_SUB);
  const bool off_is_neg = off_reg.s.smin < 0;
  const bool mask_to_left = (op == BPF_ADD && off_is_neg) || (op == BPF_SUB && !off_is_neg);
  auto ptr_limit = [&](const Reg &p, uint32_t *limit) {
    int64_t max = 0, at = 0;
    if (p.type == RegType::kStack) {
      max = vm::kStackSize + (mask_to_left ? 1 : 0);
      at = -(static_cast<int64_t>(p.s.var_off.value) + p.off);
    } else if (p.type == RegType::kMapValue) {
      max = env_.maps[static_cast<size_t>(p.map)].value_size;
      at = (mask_to_left ? p.s.smin : static_cast<int64_t>(p.s.umax)) + p.off;
    } else {
      fail(-EACCES, "R%d has pointer with unsupported alu operation, pointer arithmetic with it prohibited for !root\n",
           dst_is_ptr ? d : insn.src);
    }
    if (static_cast<uint32_t>(at) >= static_cast<uint32_t>(max))
      fail(-EACCES, "R%d tried to %s beyond pointer bounds, pointer arithmetic with it prohibited for !root\n", d,
           op == BPF_ADD ? "add" : "sub");
    *limit = static_cast<uint32_t>(at);
  };
  uint32_t limit_before = 0;
  if (sanitize) {
    if (!off_reg.s.is_const() && (off_reg.s.smin < 0) != (off_reg.s.smax < 0))
      fail(-EACCES, "R%d has unknown scalar with mixed signed bounds, pointer arithmetic with it prohibited for !root\n",
           dst_is_ptr ? insn.src : d);
    ptr_limit(ptr, &limit_before);
    if (!off_reg.s.is_const()) {
      // From now on states are pruned only on exactly equal scalars, so
      // every path's mask is seen (the kernel's explore_alu_limits).
      explore_alu_limits_ = true;
      // Simulate the masked (zero) offset on a speculative path.
      State spec = st_;
      spec.speculative = true;
      spec.cur().regs[d] = ptr;
      push_branch(spec, pc + 1, pc);
    }
  }
  // The operator last, as the kernel's switch (after the offset checks).
  if (op == BPF_AND || op == BPF_OR || op == BPF_XOR)
    fail(-EACCES, "R%d bitwise operator %s on pointer prohibited\n", d, sym);
  if (op != BPF_ADD && op != BPF_SUB) fail(-EACCES, "R%d pointer arithmetic with %s operator prohibited\n", d, sym);
  if (op == BPF_SUB && !dst_is_ptr) fail(-EACCES, "R%d tried to subtract pointer from scalar\n", d);
  if (op == BPF_SUB && ptr.type == RegType::kStack) fail(-EACCES, "R%d subtraction from stack pointer prohibited\n", d);
  Reg result = ptr;
  result.s = ptr.s;
  if (op == BPF_ADD && known && ptr.off + val == static_cast<int64_t>(static_cast<int32_t>(ptr.off + val))) {
    result.off = static_cast<int32_t>(ptr.off + val);
  } else if (op == BPF_SUB && known && ptr.off - val == static_cast<int64_t>(static_cast<int32_t>(ptr.off - val))) {
    result.off = static_cast<int32_t>(ptr.off - val);
  } else {
    result.s = scalar_alu(op, false, ptr.s, off_reg.s);
    if (ptr.is_packet()) {
      result.id = ++id_gen_;
      if (op == BPF_ADD || off_reg.s.smin < 0) result.range = 0;
    }
  }
  if (result.off >= kMaxVarOff || result.off <= -kMaxVarOff)
    fail(-EACCES, "%s pointer offset %d is not allowed\n", reg_type_name(ptr), result.off);
  // sanitize_check_bounds
  if (!priv_.bypass_spec_v1) {
    if (result.type == RegType::kStack) {
      if (!result.s.is_const())
        fail(-EACCES, "R%d variable stack access prohibited for !root, var_off=%s off=%d\n", d, tnum_str(result.s.var_off).c_str(), result.off);
      int64_t o = wrapping_add(result.off, static_cast<int64_t>(result.s.const_value()));
      if (o >= 0 || o < -vm::kStackSize)
        fail(-EACCES, "R%d stack pointer arithmetic goes out of range, prohibited for !root; off=%lld\n", d, static_cast<long long>(o));
    } else if (result.type == RegType::kMapValue) {
      const MapInfo &m = env_.maps[static_cast<size_t>(result.map)];
      const int64_t lo = wrapping_add(result.s.smin, result.off);
      const int64_t hi = wrapping_add(static_cast<int64_t>(result.s.umax), result.off);
      if (result.s.umax >= static_cast<uint64_t>(kMaxVarOff) || result.s.smin < 0 || lo < 0 || hi + 1 > static_cast<int64_t>(m.value_size))
        fail(-EACCES, "R%d pointer arithmetic of map value goes out of range, prohibited for !root\n", d);
    }
  }
  if (sanitize) {
    uint32_t limit_after = 0;
    ptr_limit(result, &limit_after);
    const uint32_t state = (off_is_neg ? 1u : 0u) | (off_reg.s.is_const() ? 2u : 0u) | (dst_is_ptr ? 4u : 8u);
    const uint32_t limit = limit_before > limit_after ? limit_before - limit_after : limit_after - limit_before;
    AluAux &aux = alu_aux_[pc];
    if (aux.state && (aux.state != state || aux.limit != limit))
      fail(-EACCES, "R%d tried to %s from different maps, paths or scalars, pointer arithmetic with it prohibited for !root\n", d,
           op == BPF_ADD ? "add" : "sub");
    aux.state = state;
    aux.limit = limit;
  }
  dst = result;
}

void Checker::check_alu(uint32_t pc, const vm::Insn &insn) {
  const uint8_t op = alu_op(insn);
  const bool alu32 = vm::is_alu32(insn.opcode);
  const bool src_x = insn.info().shape == Shape::kAluReg;
  const int d = insn.dst, sreg = insn.src;
  if (insn.info().shape == Shape::kNeg || insn.info().shape == Shape::kEndian) {
    read_reg(d);
    if (is_pointer_leak(reg(d))) fail(-EACCES, "R%d pointer arithmetic prohibited\n", d);
    write_reg_check(d);
    Reg &r = reg(d);
    if (r.type != RegType::kScalar) {
      mark_unknown(r);
      return;
    }
    if (insn.info().shape == Shape::kEndian) {
      // le16/le32/le64 only truncate on this little-endian machine;
      // be* and bswap* swap bytes.
      const bool swap = insn.opcode != 0xd4;
      Scalar res = scalar_end(r.s, insn.imm, swap);
      mark_unknown(r);
      r.s = res;
      return;
    }
    Scalar res = scalar_alu(BPF_NEG, alu32, r.s, Scalar::constant(0));
    mark_unknown(r);
    r.s = res;
    return;
  }
  if (op == BPF_MOV) {
    if (src_x) read_reg(sreg);
    write_reg_check(d);
    if (!src_x) {
      Reg &r = reg(d);
      if (alu32) mark_known(r, static_cast<uint32_t>(insn.imm));
      else mark_known(r, static_cast<uint64_t>(static_cast<int64_t>(insn.imm)));
      return;
    }
    Reg src = reg(sreg);
    Reg &r = reg(d);
    const int sext = insn.off; // MOVSX: 8, 16, 32
    if (sext) {
      if (src.type != RegType::kScalar) {
        if (!priv_.allow_ptr_leaks) fail(-EACCES, "R%d partial copy of pointer\n", sreg);
        mark_unknown(r);
        if (alu32) r.s.zext32();
        return;
      }
      mark_unknown(r);
      r.s = src.s;
      if (alu32) r.s.sign_extend32(sext / 8);
      else r.s.sign_extend64(sext / 8);
      return;
    }
    if (!alu32) {
      if (src.type == RegType::kScalar && !src.s.is_const() && src.id == 0) {
        // Link the copies: a later bound check on one refines both.
        reg(sreg).id = ++id_gen_;
        src.id = reg(sreg).id;
      }
      r = src;
      return;
    }
    if (src.is_pointer()) {
      if (!priv_.allow_ptr_leaks) fail(-EACCES, "R%d partial copy of pointer\n", sreg);
      mark_unknown(r);
      r.s.zext32();
      return;
    }
    mark_unknown(r);
    r.s = src.s;
    r.s.truncate(4);
    return;
  }
  // Arithmetic and bitwise operations.
  if (src_x) read_reg(sreg);
  read_reg(d);
  if ((op == BPF_DIV || op == BPF_MOD) && !src_x && insn.imm == 0) fail(-EINVAL, "div by zero\n");
  if ((op == BPF_LSH || op == BPF_RSH || op == BPF_ARSH) && !src_x) {
    int size = alu32 ? 32 : 64;
    if (insn.imm < 0 || insn.imm >= size) fail(-EINVAL, "invalid shift %d\n", insn.imm);
  }
  write_reg_check(d);
  Reg off_reg;
  if (src_x) {
    off_reg = reg(sreg);
  } else {
    off_reg.type = RegType::kScalar;
    off_reg.s = Scalar::constant(static_cast<uint64_t>(static_cast<int64_t>(insn.imm)));
  }
  Reg &dst = reg(d);
  if (off_reg.is_pointer()) {
    if (dst.is_pointer()) {
      if (op == BPF_SUB && priv_.allow_ptr_leaks) {
        mark_unknown(dst);
        if (alu32) dst.s.zext32();
        return;
      }
      fail(-EACCES, "R%d pointer %s pointer prohibited\n", d, insn.info().symbol.data());
    }
    Reg ptr = off_reg, scalar = dst;
    adjust_ptr_alu(pc, insn, dst, ptr, scalar, false);
    return;
  }
  if (dst.is_pointer()) {
    Reg ptr = dst;
    adjust_ptr_alu(pc, insn, dst, ptr, off_reg, true);
    return;
  }
  // scalar op scalar
  if (op == BPF_AND || op == BPF_OR) {
    // maybe_fork_scalars: a [-1, 0] dst masked by a constant is explored as
    // -1 here and as 0 on a pushed path (which re-runs this instruction).
    Scalar minus1, zero;
    if (scalar_fork_minus1_or_0(dst.s, off_reg.s, &minus1, &zero)) {
      State other = st_;
      other.cur().regs[d].s = zero;
      other.cur().regs[d].id = 0;
      push_branch(other, pc, pc);
      dst.s = minus1;
      dst.id = 0;
    }
  }
  Scalar src_s = off_reg.s;
  if (!src_x && alu32) src_s = Scalar::constant(static_cast<uint32_t>(insn.imm));
  const bool signed_div = (op == BPF_DIV || op == BPF_MOD) && insn.off == 1;
  Scalar res = scalar_alu(op, alu32, dst.s, src_s, signed_div);
  mark_unknown(dst);
  dst.s = res;
}

// ----------------------------------------------------------------- LD_IMM64

void Checker::check_ld_imm64(const vm::Insn &insn, uint32_t pc) {
  write_reg_check(insn.dst);
  Reg &r = reg(insn.dst);
  switch (insn.pseudo) {
  case vm::Pseudo::kNone:
    mark_known(r, insn.imm64);
    return;
  case vm::Pseudo::kMapFd:
  case vm::Pseudo::kMapIdx:
    r = Reg{};
    r.type = RegType::kMapPtr;
    r.map = env_.insn_map[pc];
    r.s = Scalar::constant(0);
    return;
  case vm::Pseudo::kMapValue:
  case vm::Pseudo::kMapIdxValue:
    r = Reg{};
    r.type = RegType::kMapValue;
    r.map = env_.insn_map[pc];
    r.off = insn.imm_hi;
    r.s = Scalar::constant(0);
    return;
  case vm::Pseudo::kFunc: {
    // A callback's address (check_ld_imm for BPF_PSEUDO_FUNC): the kernel
    // wants func_info (so raw instructions cannot take a function's
    // address) and a static function; a global one is verified on its own
    // for calls, not as a callback.
    if (!env_.options.btf || env_.options.func_info.empty()) fail(-EINVAL, "missing btf func_info\n");
    const uint32_t subprog = env_.subprog_of(static_cast<uint32_t>(insn.jump_target(pc)));
    if (env_.subprogs[subprog].global) fail(-EINVAL, "callback function not static\n");
    r = Reg{};
    r.type = RegType::kFunc;
    r.subprog = subprog;
    r.s = Scalar::constant(0);
    return;
  }
  case vm::Pseudo::kBtfId:
    break;
  }
  fail(-EINVAL, "unrecognized bpf_ld_imm64 insn\n");
}

// ------------------------------------------------------------ loads, stores

// One load or store instruction goes through one kind of pointer on every
// path when that pointer is the context: its accesses are rewritten for the
// context layout, which would be wrong for any other memory (the kernel's
// reg_type_mismatch, "same insn cannot be used with different pointers").
void Checker::note_mem_ptr_kind(uint32_t pc, const Reg &ptr) {
  const uint8_t kind = ptr.type == RegType::kCtx ? 1 : 2;
  uint8_t &seen = env_.mem_ptr_kind[pc];
  if (seen == 0) seen = kind;
  else if (seen != kind) fail(-EINVAL, "same insn cannot be used with different pointers\n");
}

void Checker::check_load_store(uint32_t pc, const vm::Insn &insn) {
  const int size = vm::access_size(insn.opcode);
  switch (insn.info().shape) {
  case Shape::kLoad:
    read_reg(insn.src);
    write_reg_check(insn.dst);
    note_mem_ptr_kind(pc, reg(insn.src));
    check_mem_access(pc, insn.src, insn.off, size, false, insn.dst, (insn.opcode & 0xe0) == vm::kModeMemSx);
    return;
  case Shape::kStoreReg:
    read_reg(insn.src);
    read_reg(insn.dst);
    note_mem_ptr_kind(pc, reg(insn.dst));
    check_mem_access(pc, insn.dst, insn.off, size, true, insn.src, false);
    return;
  case Shape::kStoreImm:
    read_reg(insn.dst);
    note_mem_ptr_kind(pc, reg(insn.dst));
    mark_known(imm_value_, size == 8 ? static_cast<uint64_t>(static_cast<int64_t>(insn.imm))
                                     : static_cast<uint64_t>(static_cast<int64_t>(insn.imm)) & ((1ull << (8 * size)) - 1));
    check_mem_access(pc, insn.dst, insn.off, size, true, kImmValue, false);
    return;
  default:
    return;
  }
}

void Checker::check_atomic(uint32_t pc, const vm::Insn &insn) {
  const int size = vm::access_size(insn.opcode);
  read_reg(insn.src);
  read_reg(insn.dst);
  const bool cmpxchg = insn.imm == vm::kAtomicCmpXchg;
  if (cmpxchg) {
    read_reg(0);
    if (is_pointer_leak(reg(0))) fail(-EACCES, "R%d leaks addr into mem\n", 0);
  }
  if (is_pointer_leak(reg(insn.src))) fail(-EACCES, "R%d leaks addr into mem\n", insn.src);
  const Reg &dst = reg(insn.dst);
  if (dst.type == RegType::kCtx || dst.is_packet() || dst.type == RegType::kSock)
    fail(-EACCES, "BPF_ATOMIC stores into R%d %s is not allowed\n", insn.dst, reg_type_name(dst));
  int load_reg = -1;
  if (insn.imm & vm::kAtomicFetch) {
    load_reg = cmpxchg ? 0 : insn.src;
    write_reg_check(load_reg);
  }
  check_mem_access(pc, insn.dst, insn.off, size, false, -1, false, true);
  if (load_reg >= 0) check_mem_access(pc, insn.dst, insn.off, size, false, load_reg, false, true);
  check_mem_access(pc, insn.dst, insn.off, size, true, -1, false, true);
}

// ------------------------------------------------------------------ jumps

void Checker::mark_null_checked(State &st, uint32_t id, bool is_null) {
  auto fix = [&](Reg &r) {
    if (r.id != id || !r.maybe_null) return;
    if (is_null) {
      mark_known(r, 0);
    } else {
      r.maybe_null = false;
      if (r.type != RegType::kSock) r.id = 0;
    }
  };
  for (Frame &f : st.frames) {
    for (Reg &r : f.regs) fix(r);
    for (StackSlot &s : f.slots)
      if (s.bytes[0] == StackByte::kSpill) fix(s.spilled);
  }
}

// Packet bounds learnt from comparing a packet pointer with the packet's end
// (try_match_pkt_pointers / find_good_pkt_pointers): on the side where
// pkt + off <= end, every pointer of the same packet base may read off bytes.
bool Checker::try_packet_compare(const vm::Insn &insn, State &taken, State &fall) {
  if (vm::is_jmp32(insn.opcode) || insn.info().shape != Shape::kJumpReg) return false;
  const Reg &dst = reg(insn.dst), &src = reg(insn.src);
  auto data_vs_end = [](const Reg &a, const Reg &b) {
    return (a.type == RegType::kPacket && b.type == RegType::kPacketEnd) ||
           (a.type == RegType::kPacketMeta && b.type == RegType::kPacket && b.off == 0 && b.s.is_const() && b.s.const_value() == 0);
  };
  auto good = [&](State &st, const Reg &ptr, bool right_open) {
    if (ptr.off < 0 || (ptr.off == 0 && right_open)) return;
    if (ptr.s.umax > kMaxPacketOff || ptr.s.umax + static_cast<uint64_t>(ptr.off) > kMaxPacketOff) return;
    uint32_t range = static_cast<uint32_t>(ptr.off) + (right_open ? 1 : 0);
    for (Frame &f : st.frames) {
      for (Reg &r : f.regs)
        if (r.type == ptr.type && r.id == ptr.id && r.range < range) r.range = range;
      for (StackSlot &s : f.slots)
        if (s.bytes[0] == StackByte::kSpill && s.spilled.type == ptr.type && s.spilled.id == ptr.id && s.spilled.range < range)
          s.spilled.range = range;
    }
  };
  const uint8_t op = insn.opcode & 0xf0;
  const bool fwd = data_vs_end(dst, src), rev = data_vs_end(src, dst);
  if (!fwd && !rev) return false;
  switch (op) {
  case BPF_JGT: if (fwd) good(fall, dst, false); else good(taken, src, true); return true;
  case BPF_JLT: if (fwd) good(taken, dst, true); else good(fall, src, false); return true;
  case BPF_JGE: if (fwd) good(fall, dst, true); else good(taken, src, false); return true;
  case BPF_JLE: if (fwd) good(taken, dst, false); else good(fall, src, true); return true;
  default: return false;
  }
}

// Propagate a refined scalar to its linked copies (find_equal_scalars).
void propagate_scalar(State &st, const Reg &refined) {
  if (refined.id == 0 || refined.type != RegType::kScalar) return;
  for (Frame &f : st.frames) {
    for (Reg &r : f.regs)
      if (r.type == RegType::kScalar && r.id == refined.id) r.s = refined.s;
    for (StackSlot &s : f.slots)
      if (s.bytes[0] == StackByte::kSpill && s.spilled.type == RegType::kScalar && s.spilled.id == refined.id)
        s.spilled.s = refined.s;
  }
}

void Checker::refine(State &st, const vm::Insn &insn, bool taken) {
  const uint8_t op = insn.opcode & 0xf0;
  const bool jmp32 = vm::is_jmp32(insn.opcode);
  Frame &f = st.cur();
  Reg &dst = f.regs[insn.dst];
  Reg imm;
  imm.type = RegType::kScalar;
  imm.s = Scalar::constant(static_cast<uint64_t>(static_cast<int64_t>(insn.imm)));
  Reg &src = insn.info().shape == Shape::kJumpReg ? f.regs[insn.src] : imm;
  if (dst.type != RegType::kScalar || src.type != RegType::kScalar) return;
  Scalar a = dst.s, b = src.s;
  if (!scalar_refine(op, jmp32, taken, &a, &b)) {
    // Contradictory bounds on a side the kernel cannot rule out: it logs
    // the invariant violation, drops that register's bounds (keeping its
    // tnum) and explores the side anyway. So do we.
    for (Scalar *x : {&a, &b}) {
      if (x->consistent()) continue;
      if (log_.enabled())
        log_.printf("verifier bug: REG INVARIANTS VIOLATION (%s): %s\n", taken ? "true_reg" : "false_reg",
                    scalar_invariant_violation(*x).c_str());
      x->mark_unbounded();
    }
  }
  dst.s = a;
  propagate_scalar(st, dst);
  if (&src != &imm) {
    src.s = b;
    propagate_scalar(st, src);
  }
}

int64_t Checker::check_cond_jump(uint32_t pc, const vm::Insn &insn) {
  const uint8_t op = insn.opcode & 0xf0;
  const bool jmp32 = vm::is_jmp32(insn.opcode);
  const bool src_x = insn.info().shape == Shape::kJumpReg;
  read_reg(insn.dst);
  Reg imm;
  imm.type = RegType::kScalar;
  imm.s = Scalar::constant(static_cast<uint64_t>(static_cast<int64_t>(insn.imm)));
  if (src_x) {
    read_reg(insn.src);
    const Reg &d = reg(insn.dst), &sr = reg(insn.src);
    if (!(d.is_packet() || d.type == RegType::kPacketEnd) || !(sr.is_packet() || sr.type == RegType::kPacketEnd)) {
      if (is_pointer_leak(sr)) fail(-EACCES, "R%d pointer comparison prohibited\n", insn.src);
    }
  }
  const Reg &dst = reg(insn.dst);
  const Reg &src = src_x ? reg(insn.src) : imm;
  const uint32_t target = static_cast<uint32_t>(insn.jump_target(pc));

  // Known outcome?
  int pred = -1;
  if (dst.type == RegType::kScalar && src.type == RegType::kScalar) {
    pred = scalar_branch_taken(op, jmp32, dst.s, src.s);
  } else if (dst.is_pointer() != src.is_pointer()) {
    // A pointer against a constant (either side): only a pointer known not
    // to be NULL against 0 is decided (is_branch_taken). reg_not_null lists
    // map values and mem; ctx and stack pointers are not in it, so comparing
    // those is not predicted. The kernel decides 32-bit compares the same
    // way, but the low half of a non-NULL pointer can be 0 (an address on a
    // 4 GiB boundary), and the path it never explores then runs unchecked:
    // we decide 64-bit compares only (the soundness fuzzer found this; see
    // tests/verifier/known-differences.md).
    const Reg &ptr = dst.is_pointer() ? dst : src;
    const Reg &val = dst.is_pointer() ? src : dst;
    const bool not_null =
        (ptr.type == RegType::kMapValue || ptr.type == RegType::kMem || ptr.type == RegType::kMapKey) && !ptr.maybe_null;
    if (!jmp32 && val.type == RegType::kScalar && val.s.is_const() && val.s.const_value() == 0 && not_null &&
        (op == BPF_JEQ || op == BPF_JNE))
      pred = op == BPF_JNE ? 1 : 0;
  }
  if (pred >= 0) {
    if (!priv_.bypass_spec_v1) {
      // Explore the mispredicted side too, with the compared registers unknown
      // (sanitize_speculative_path).
      State spec = st_;
      spec.speculative = true;
      mark_unknown(spec.cur().regs[insn.dst]);
      if (src_x) mark_unknown(spec.cur().regs[insn.src]);
      push_branch(spec, pred ? pc + 1 : target, pc);
    }
    return pred ? target : pc + 1;
  }
  State other = st_;
  refine(other, insn, true);
  refine(st_, insn, false);
  // Null checks of pointers from map lookups.
  if (!jmp32 && !src_x && insn.imm == 0 && (op == BPF_JEQ || op == BPF_JNE) && dst.maybe_null) {
    uint32_t id = dst.id;
    mark_null_checked(other, id, op == BPF_JEQ);
    mark_null_checked(st_, id, op == BPF_JNE);
  } else {
    State &taken_state = other;
    if (!try_packet_compare(insn, taken_state, st_) && is_pointer_leak(reg(insn.dst)))
      fail(-EACCES, "R%d pointer comparison prohibited\n", insn.dst);
  }
  push_branch(other, target, pc);
  return pc + 1;
}

// ------------------------------------------------------------------ calls

// clear_all_pkt_pointers: after a helper that may move the packet, every
// packet pointer (in registers and spilled, in every frame) is stale:
// unknown to a privileged loader, unreadable to an unprivileged one
// (mark_reg_invalid).
void Checker::clear_all_packet_pointers() {
  auto invalid = [](const Reg &r) { return r.is_packet() || r.type == RegType::kPacketEnd; };
  for (Frame &frame : st_.frames) {
    for (Reg &r : frame.regs)
      if (invalid(r)) {
        if (priv_.allow_ptr_leaks) mark_unknown(r);
        else mark_not_init(r);
      }
    for (StackSlot &slot : frame.slots)
      if (invalid(slot.spilled)) mark_unknown(slot.spilled);
  }
}

void Checker::check_helper_call(uint32_t pc, const vm::Insn &insn) {
  (void)pc;
  const int32_t id = insn.imm;
  constexpr int32_t kMaxFuncId = 212; // __BPF_FUNC_MAX_ID in Linux 6.18
  if (id < 0 || id >= kMaxFuncId) fail(-EINVAL, "invalid func unknown#%d\n", id);
  const helpers::HelperProto *proto = helpers::find_helper(id);
  if (!proto || !helper_allowed(env_.options.prog_type, *proto, priv_))
    fail(-EINVAL, "program of this type cannot use helper %s#%d\n", helper_name(id).c_str(), id);
  if (proto->gpl_only && !env_.options.gpl_compatible)
    fail(-EINVAL, "cannot call GPL-restricted function from non-GPL compatible program\n");
  int map = -1;
  int32_t callback = -1; // the ARG_PTR_TO_FUNC argument's subprogram
  bool key_known = false;
  uint64_t key = 0;
  using helpers::ArgType;
  for (int i = 0; i < 5; i++) {
    const ArgType t = proto->args[i];
    const int regno = i + 1;
    if (t == ArgType::kDontCare) continue;
    read_reg(regno);
    const Reg &r = reg(regno);
    switch (t) {
    case ArgType::kDontCare:
      break;
    case ArgType::kAnything:
      if (is_pointer_leak(r)) fail(-EACCES, "R%d leaks addr into helper function\n", regno);
      break;
    case ArgType::kConstMapPtr:
      if (r.type != RegType::kMapPtr) fail(-EACCES, "R%d type=%s expected=map_ptr\n", regno, reg_type_name(r));
      map = r.map;
      break;
    case ArgType::kPtrToMapKey:
    case ArgType::kPtrToMapValue:
    case ArgType::kPtrToUninitMapValue: {
      bool ok = !r.maybe_null && (r.type == RegType::kStack || r.is_packet() || r.type == RegType::kMapValue ||
                                  r.type == RegType::kMapKey);
      if (!ok) fail(-EACCES, "R%d type=%s expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_\n", regno, reg_type_name(r));
      if (r.is_packet() && !env_.type->packet_writes) fail(-EACCES, "helper access to the packet is not allowed\n");
      if (map < 0) fail(-EACCES, "invalid map_ptr to access map->%s\n", t == ArgType::kPtrToMapKey ? "key" : "value");
      const MapInfo &m = env_.maps[static_cast<size_t>(map)];
      check_helper_mem(regno, t == ArgType::kPtrToMapKey ? m.key_size : m.value_size,
                       t == ArgType::kPtrToUninitMapValue, false);
      if (t == ArgType::kPtrToMapKey && r.type == RegType::kStack) key_known = const_stack_key(r, static_cast<int>(m.key_size), &key);
      break;
    }
    case ArgType::kPtrToMemReadOnly:
    case ArgType::kPtrToMemReadOnlyOrNull:
    case ArgType::kPtrToUninitMem: {
      if (t == ArgType::kPtrToMemReadOnlyOrNull && r.type == RegType::kScalar && r.s.is_const() && r.s.const_value() == 0)
        break; // NULL: allowed only with a zero size (checked with the size)
      bool ok = !r.maybe_null && (r.type == RegType::kStack || r.is_packet() || r.type == RegType::kMapValue ||
                                  (r.type == RegType::kMapKey && t != ArgType::kPtrToUninitMem) ||
                                  (r.type == RegType::kMem && (t != ArgType::kPtrToUninitMem || !r.rdonly)));
      if (!ok) fail(-EACCES, "R%d type=%s expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_\n", regno, reg_type_name(r));
      if (r.is_packet() && !env_.type->packet_writes) fail(-EACCES, "helper access to the packet is not allowed\n");
      break;
    }
    case ArgType::kConstSize:
    case ArgType::kConstSizeOrZero: {
      if (r.type != RegType::kScalar) fail(-EACCES, "R%d type=%s expected=scalar\n", regno, reg_type_name(r));
      const bool zero_ok = t == ArgType::kConstSizeOrZero;
      if (r.s.smin < 0) fail(-EACCES, "R%d min value is negative, either use unsigned or 'var &= const'\n", regno);
      if (r.s.umin == 0 && !zero_ok)
        fail(-EACCES, "R%d invalid zero-sized read: u64=[%" PRIu64 ",%" PRIu64 "]\n", regno, r.s.umin, r.s.umax);
      if (r.s.umax >= kMaxVarSize) fail(-EACCES, "R%d unbounded memory access, use 'var &= const' or 'if (var < const)'\n", regno);
      const bool write = proto->args[i - 1] == ArgType::kPtrToUninitMem;
      check_helper_mem(regno - 1, static_cast<int64_t>(r.s.umax), write, zero_ok);
      break;
    }
    case ArgType::kPtrToCtx:
      if (r.type != RegType::kCtx) fail(-EACCES, "R%d type=%s expected=ctx\n", regno, reg_type_name(r));
      if (r.off || !r.s.is_const() || r.s.const_value() != 0)
        fail(-EACCES, "dereference of modified ctx ptr R%d off=%d disallowed\n", regno, r.off);
      break;
    case ArgType::kPtrToFunc:
      if (r.type != RegType::kFunc) fail(-EACCES, "R%d type=%s expected=func\n", regno, reg_type_name(r));
      if (r.off) fail(-EACCES, "dereference of modified func ptr R%d off=%d disallowed\n", regno, r.off);
      if (!r.s.is_const() || r.s.const_value() != 0)
        fail(-EACCES, "variable func access var_off=%s disallowed\n", tnum_str(r.s.var_off).c_str());
      callback = static_cast<int32_t>(r.subprog);
      break;
    case ArgType::kPtrToStackOrNull:
      // The callback's context: any pointer into a stack (fixed or
      // variable offset, as check_func_arg_reg_off allows), or NULL.
      if (r.type == RegType::kScalar && r.s.is_const() && r.s.const_value() == 0) break;
      if (r.type != RegType::kStack) fail(-EACCES, "R%d type=%s expected=fp\n", regno, reg_type_name(r));
      break;
    case ArgType::kPtrToConstStr:
      check_const_str(regno, r);
      break;
    }
  }
  // record_func_map: a map programs may only read keeps its elements.
  if (map >= 0 && (env_.maps[static_cast<size_t>(map)].map_flags & BPF_F_RDONLY_PROG) &&
      (id == BPF_FUNC_map_delete_elem || id == BPF_FUNC_map_update_elem || id == BPF_FUNC_map_push_elem ||
       id == BPF_FUNC_map_pop_elem))
    fail(-EACCES, "write into map forbidden\n");
  // record_func_key: a tail call goes through a program array.
  if (id == vm::kTailCallHelper && (map < 0 || env_.maps[static_cast<size_t>(map)].type != BPF_MAP_TYPE_PROG_ARRAY))
    fail(-EINVAL, "expected prog array map for tail call\n");
  // A tail call under a callback would hand the callback's return value to
  // another program. 6.18 refuses it (its precision tracking fails there,
  // EFAULT "verifier bug: callback unexpected regs"); so do we, on purpose.
  if (id == vm::kTailCallHelper)
    for (const Frame &frame : st_.frames)
      if (frame.in_callback) fail(-EFAULT, "tail_call inside a callback is not supported\n");
  if (id == helpers::kForEachMapElemHelper && callback >= 0) {
    // The callback may run once per element, any number of times: one
    // more run is explored from here each time the path comes back to
    // this call, until the states converge (no bound, as the kernel's).
    // Only the map families with a for_each walk take it
    // (set_map_elem_callback_state).
    // A call reached with different maps on different paths (clang merges
    // the calls of if/else branches) is fine: each path explores the
    // callback with its own map, and 6.18 accepts such programs too.
    const MapInfo &m = env_.maps[static_cast<size_t>(map)];
    const userbpf::MapOps *ops = userbpf::map_ops_for_type(m.type);
    if (!ops || !ops->for_each_next) fail(-kENOTSUPP, "callback function not allowed for map\n");
    push_callback(pc, static_cast<uint32_t>(callback), map);
  }
  // The map helpers take data maps only, and the keyless maps take their
  // own three helpers only (check_map_func_compatibility: first by map type,
  // then by helper).
  if (map >= 0 && id != vm::kTailCallHelper) {
    const MapInfo &m = env_.maps[static_cast<size_t>(map)];
    const bool keyless_helper = id == BPF_FUNC_map_push_elem || id == BPF_FUNC_map_pop_elem || id == BPF_FUNC_map_peek_elem;
    const bool keyless_map = m.type == BPF_MAP_TYPE_QUEUE || m.type == BPF_MAP_TYPE_STACK;
    bool compatible = true;
    switch (m.type) {
    case BPF_MAP_TYPE_PROG_ARRAY: case BPF_MAP_TYPE_PERF_EVENT_ARRAY: case BPF_MAP_TYPE_STACK_TRACE:
    case BPF_MAP_TYPE_CGROUP_ARRAY: case BPF_MAP_TYPE_RINGBUF: case BPF_MAP_TYPE_STRUCT_OPS:
      compatible = false;
      break;
    case BPF_MAP_TYPE_QUEUE: case BPF_MAP_TYPE_STACK:
      compatible = keyless_helper;
      break;
    case BPF_MAP_TYPE_BLOOM_FILTER:
      compatible = id == BPF_FUNC_map_push_elem || id == BPF_FUNC_map_peek_elem;
      break;
    default:
      break;
    }
    if (id == BPF_FUNC_map_pop_elem) compatible &= keyless_map;
    if (id == BPF_FUNC_map_lookup_percpu_elem)
      compatible &= m.type == BPF_MAP_TYPE_PERCPU_ARRAY || m.type == BPF_MAP_TYPE_PERCPU_HASH ||
                    m.type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
    if (id == BPF_FUNC_map_push_elem || id == BPF_FUNC_map_peek_elem) compatible &= keyless_map || m.type == BPF_MAP_TYPE_BLOOM_FILTER;
    if (!compatible)
      fail(-EINVAL, "cannot pass map_type %u into func bpf_%s#%d\n", m.type, std::string(proto->name).c_str(), id);
  }
  if (id == helpers::kLoopHelper && callback >= 0) {
    // The callback may run 0..nr_loops times: one more iteration is
    // explored from here (it comes back to this call when it exits), while
    // this path goes on after the call as if the loop had ended. nr_loops'
    // maximum bounds the iterations explored along one path.
    // The kernel marks nr_loops precise here; a pointer (only a loader with
    // CAP_PERFMON can pass one) makes that fail as a verifier bug, EFAULT.
    if (reg(1).type != RegType::kScalar) fail(-EFAULT, "verifier bug: backtracking misuse\n");
    Frame &caller = st_.cur();
    if (caller.callback_depth < reg(1).s.umax) {
      push_callback(pc, static_cast<uint32_t>(callback), -1);
    } else {
      caller.callback_depth = 0;
      if (log_.level2()) log_.printf("frame%zu bpf_loop iteration limit reached\n", st_.frames.size() - 1);
    }
  }
  Frame &f = st_.cur();
  for (int r = 1; r <= 5; r++) mark_not_init(f.regs[r]);
  if (proto->changes_packet_data) clear_all_packet_pointers();
  Reg &r0 = f.regs[0];
  switch (proto->ret) {
  case helpers::RetType::kInteger: mark_unknown(r0); break;
  case helpers::RetType::kVoid: mark_not_init(r0); break;
  case helpers::RetType::kPtrToMapValueOrNull:
    r0 = Reg{};
    r0.type = RegType::kMapValue;
    r0.maybe_null = true;
    r0.map = map;
    r0.id = ++id_gen_;
    // An array looked up with a constant key inside it cannot miss
    // (can_elide_value_nullness).
    if (map >= 0 && key_known && id == BPF_FUNC_map_lookup_elem) { // not bpf_map_lookup_percpu_elem: its CPU may be out of range
      const MapInfo &m = env_.maps[static_cast<size_t>(map)];
      if ((m.type == BPF_MAP_TYPE_ARRAY || m.type == BPF_MAP_TYPE_PERCPU_ARRAY) && key < m.max_entries) {
        r0.maybe_null = false;
        r0.id = 0;
      }
    }
    r0.s = Scalar::constant(0);
    break;
  }
}

// push_callback_call: a pending path that enters the callback in a new
// frame. bpf_loop's (set_loop_callback_state; for_each_map < 0): r1 = the
// index (any number), r2 = the context argument exactly as the caller passed
// it (r3); r3-r5 unset. bpf_for_each_map_elem's (set_map_elem_callback_state,
// for_each_map = the map's index): r1 = the map, r2 = a read-only pointer to
// the element's key, r3 = its value, r4 = the context (the caller's r3); r5
// unset.
void Checker::push_callback(uint32_t pc, uint32_t subprog, int32_t for_each_map) {
  if (st_.frames.size() >= static_cast<size_t>(vm::kMaxCallFrames))
    fail(-E2BIG, "the call stack of %zu frames is too deep\n", st_.frames.size() + 1);
  State cb = st_;
  Frame &caller = cb.cur();
  caller.callback_depth++;
  Frame callee;
  if (for_each_map < 0) {
    mark_unknown(callee.regs[1]);
    callee.regs[2] = caller.regs[3];
  } else {
    const RegType types[3] = {RegType::kMapPtr, RegType::kMapKey, RegType::kMapValue};
    for (int r = 1; r <= 3; r++) {
      mark_known(callee.regs[r], 0);
      callee.regs[r].type = types[r - 1];
      callee.regs[r].map = for_each_map;
    }
    callee.regs[4] = caller.regs[3];
  }
  callee.regs[vm::kFrameReg].type = RegType::kStack;
  callee.regs[vm::kFrameReg].frameno = static_cast<uint8_t>(cb.frames.size());
  callee.regs[vm::kFrameReg].s = Scalar::constant(0);
  callee.callsite = pc;
  callee.subprog = subprog;
  callee.in_callback = true;
  if (log_.verbose_insns()) log_.printf("caller:\n%s\ncallee:\n%s\n", state_str(caller).c_str(), state_str(callee).c_str());
  cb.frames.push_back(std::move(callee));
  push_branch(cb, env_.subprogs[subprog].start, pc);
  st_.cur().callback_depth = 0;
}

// Back at the helper call after an iteration (widen_imprecise_scalars): the
// scalars that differ from the state the call had one iteration earlier on
// this path (counters the callback keeps through its context) become
// unknown, so the iterations converge instead of being unrolled one value
// at a time. The kernel does this to scalars it has not marked precise;
// userbpf does not track precision, so the first exact_iterations_
// iterations are explored exactly and only later ones are widened (see
// do_check: one iteration first, eight if that is not enough). Widening
// only loses information: sound.
void Checker::widen_callback_state(uint32_t callsite) {
  if (st_.cur().callback_depth <= exact_iterations_) return;
  const Checkpoint *prev = nullptr;
  for (const Checkpoint *c : explored_[callsite]) {
    if (c->alive == 0 || c->state.frames.size() != st_.frames.size()) continue;
    bool same_calls = true;
    for (size_t i = 0; i < st_.frames.size(); i++) same_calls &= c->state.frames[i].callsite == st_.frames[i].callsite;
    if (same_calls) prev = c; // the latest one
  }
  if (!prev) return;
  auto widen = [&](const Reg &old, Reg &cur) {
    if (old.type != RegType::kScalar || cur.type != RegType::kScalar) return;
    if (old.s == cur.s && old.id == cur.id) return;
    mark_unknown(cur);
  };
  for (size_t fi = 0; fi < st_.frames.size(); fi++) {
    const Frame &o = prev->state.frames[fi];
    Frame &c = st_.frames[fi];
    for (int r = 0; r < vm::kNumRegs; r++) widen(o.regs[r], c.regs[r]);
    for (size_t i = 0; i < std::min(o.slots.size(), c.slots.size()); i++)
      if (o.slots[i].bytes[0] == StackByte::kSpill && c.slots[i].bytes[0] == StackByte::kSpill)
        widen(o.slots[i].spilled, c.slots[i].spilled);
  }
}

int64_t Checker::check_local_call(uint32_t pc, const vm::Insn &insn) {
  if (st_.frames.size() >= static_cast<size_t>(vm::kMaxCallFrames))
    fail(-E2BIG, "the call stack of %zu frames is too deep !\n", st_.frames.size() + 1);
  const uint32_t target = static_cast<uint32_t>(insn.jump_target(pc));
  if (env_.subprogs[env_.subprog_of(target)].global) {
    check_global_call(env_.subprog_of(target));
    return pc + 1;
  }
  Frame callee;
  Frame &caller = st_.cur();
  for (int r = 1; r <= 5; r++) callee.regs[r] = caller.regs[r];
  callee.regs[vm::kFrameReg].type = RegType::kStack;
  callee.regs[vm::kFrameReg].frameno = static_cast<uint8_t>(st_.frames.size());
  callee.regs[vm::kFrameReg].s = Scalar::constant(0);
  callee.callsite = pc;
  callee.subprog = env_.subprog_of(target);
  for (int r = 0; r <= 5; r++) mark_not_init(caller.regs[r]);
  if (log_.verbose_insns()) log_.printf("caller:\n%s\ncallee:\n%s\n", state_str(caller).c_str(), state_str(callee).c_str());
  st_.frames.push_back(std::move(callee));
  return target;
}

// A call to a global function (check_func_call for a global callee): the
// caller's r1-r5 must match the prototype; the function itself is verified
// later, on its own, for every argument the prototype allows; the caller
// gets an unknown scalar in r0 and loses r1-r5.
void Checker::check_global_call(uint32_t subprog) {
  Subprog &sp = env_.subprogs[subprog];
  if (int err = prepare_func_args(env_, subprog)) {
    if (err == -EFAULT) throw Error{err};
    fail(err, "Caller passes invalid args into func#%u ('%s')\n", subprog, sp.name.c_str());
  }
  for (uint32_t arg = 0; arg < sp.arg_count; arg++) check_global_call_arg(subprog, arg);
  if (log_.verbose_insns()) log_.printf("Func#%u ('%s') is global and assumed valid.\n", subprog, sp.name.c_str());
  if (sp.changes_packet_data) clear_all_packet_pointers();
  sp.called = true;
  Frame &caller = st_.cur();
  for (int r = 1; r <= 5; r++) mark_not_init(caller.regs[r]);
  mark_unknown(caller.regs[0]);
}

// btf_check_func_arg_match for one argument of a global function.
void Checker::check_global_call_arg(uint32_t subprog, uint32_t arg) {
  const Subprog &sp = env_.subprogs[subprog];
  const FuncArg &want = sp.args[arg];
  const int regno = static_cast<int>(arg) + 1;
  Reg &r = reg(regno);
  auto invalid_args = [&](int err) {
    fail(err, "Caller passes invalid args into func#%u ('%s')\n", subprog, sp.name.c_str());
  };
  switch (want.kind) {
  case ArgKind::kScalar:
    if (r.type != RegType::kScalar) {
      log_.printf("R%d is not a scalar\n", regno);
      invalid_args(-EINVAL);
    }
    return;
  case ArgKind::kCtx:
    // check_func_arg_reg_off: the context goes as it came, unmoved.
    if (r.type == RegType::kCtx && r.off != 0) {
      log_.printf("dereference of modified ctx ptr R%d off=%d disallowed\n", regno, r.off);
      invalid_args(-EACCES);
    }
    if (r.type == RegType::kCtx && !(r.s.is_const() && r.s.const_value() == 0)) {
      log_.printf("variable ctx access var_off=%s disallowed\n", tnum_str(r.s.var_off).c_str());
      invalid_args(-EACCES);
    }
    if (r.type != RegType::kCtx) {
      log_.printf("arg#%u expects pointer to ctx\n", arg);
      invalid_args(-EINVAL);
    }
    return;
  case ArgKind::kMem: {
    // check_mem_reg: NULL always passes; anything else must be mem_size
    // bytes the callee may both read and write (checked as if not NULL).
    if (r.type == RegType::kScalar && r.s.is_const() && r.s.const_value() == 0) return;
    const Reg saved = r;
    r.maybe_null = false;
    try {
      check_helper_mem(regno, want.mem_size, false, true);
      check_helper_mem(regno, want.mem_size, true, true);
    } catch (const Error &e) {
      if (e.err == -EFAULT) throw;
      reg(regno) = saved;
      invalid_args(-EINVAL);
    }
    Reg &after = reg(regno);
    after = saved;
    if (!want.nullable && saved.maybe_null) {
      log_.printf("arg#%u is expected to be non-NULL\n", arg);
      invalid_args(-EINVAL);
    }
    return;
  }
  }
}

int64_t Checker::check_exit(uint32_t pc) {
  (void)pc;
  if (st_.frames.size() > 1) {
    // Return to the caller (prepare_func_exit).
    Reg r0 = st_.cur().regs[0];
    // Any stack pointer, the caller's own included (the kernel is
    // conservative here; a callback's ctx is one).
    if (r0.type == RegType::kStack) fail(-EINVAL, "cannot return stack pointer to the caller\n");
    const uint32_t callsite = st_.cur().callsite;
    if (st_.cur().in_callback) {
      // A callback returns 0 (go on) or 1 (stop) to bpf_loop, and its exit
      // goes back to the helper call, which may run it again.
      if (r0.type != RegType::kScalar) fail(-EACCES, "R0 not a scalar value\n");
      check_retval_range("At callback return", r0, 0, 1);
      st_.frames.pop_back();
      widen_callback_state(callsite);
      if (log_.verbose_insns()) log_.printf("returning from callee:\n to caller at %u:\n%s\n", callsite, state_str(st_.cur()).c_str());
      return callsite;
    }
    st_.frames.pop_back();
    st_.cur().regs[0] = r0;
    if (log_.verbose_insns()) log_.printf("returning from callee:\n to caller at %u:\n%s\n", callsite + 1, state_str(st_.cur()).c_str());
    return callsite + 1;
  }
  read_reg(0);
  if (is_pointer_leak(reg(0))) fail(-EACCES, "R0 leaks addr as return value\n");
  if (st_.cur().subprog != 0) {
    // The end of a global function verified on its own: its callers were
    // promised a scalar, whatever the program type returns.
    if (reg(0).type != RegType::kScalar)
      fail(-EINVAL, "At subprogram exit the register R0 is not a scalar value (%s)\n", reg_type_name(reg(0)));
    return -1;
  }
  check_return_code();
  return -1;
}

// check_ld_abs: the legacy packet loads. r6 must be the socket buffer (the
// context, unmoved); afterwards r1-r5 are unreadable (the kernel rewrites the
// load into a helper call) and r0 is an unknown scalar. A load outside the
// packet returns 0 from the function at once: in a callee that return is a
// path of its own, explored from here.
int64_t Checker::check_ld_abs(uint32_t pc, const vm::Insn &insn) {
  switch (env_.options.prog_type) { // may_access_skb()
  case BPF_PROG_TYPE_SOCKET_FILTER: case BPF_PROG_TYPE_SCHED_CLS: case BPF_PROG_TYPE_SCHED_ACT: break;
  default: fail(-EINVAL, "BPF_LD_[ABS|IND] instructions not allowed for this program type\n");
  }
  if (!vm::ld_packet_fields_ok(insn)) fail(-EINVAL, "BPF_LD_[ABS|IND] uses reserved fields\n");
  constexpr int kCtxReg = 6;
  read_reg(kCtxReg);
  if (reg(kCtxReg).type != RegType::kCtx) fail(-EINVAL, "at the time of BPF_LD_ABS|IND R6 != pointer to skb\n");
  if (insn.info().shape == Shape::kLdInd) read_reg(insn.src);
  const Reg &ctx = reg(kCtxReg);
  if (ctx.off || !ctx.s.is_const() || ctx.s.const_value() != 0)
    fail(-EACCES, "dereference of modified ctx ptr R%d off=%d disallowed\n", kCtxReg, ctx.off);
  Frame &f = st_.cur();
  for (int r = 1; r <= 5; r++) mark_not_init(f.regs[r]);
  mark_unknown(f.regs[0]);
  if (st_.frames.size() > 1) {
    push_branch(st_, pc + 1, pc); // the load succeeded
    mark_known(reg(0), 0);        // the hidden "r0 = 0; exit"
    return check_exit(pc);
  }
  return pc + 1;
}

// check_return_code: the program types whose caller acts on the return
// value accept only the values it knows.
void Checker::check_return_code() {
  int64_t min = 0, max = 0;
  switch (env_.options.prog_type) {
  case BPF_PROG_TYPE_CGROUP_SKB: // 0 drop, 1 pass; egress also 2 and 3 (congestion notification)
    max = env_.options.expected_attach_type == BPF_CGROUP_INET_EGRESS ? 3 : 1;
    break;
  default:
    return;
  }
  const Reg &r0 = reg(0);
  if (r0.type != RegType::kScalar)
    fail(-EINVAL, "At program exit the register R0 is not a known value (%s)\n", reg_type_name(r0));
  check_retval_range("At program exit", r0, min, max);
}

// retval_range_within + verbose_invalid_scalar: r0 (a scalar) within
// [min, max] on every path, else EINVAL naming what it may hold.
void Checker::check_retval_range(const char *where, const Reg &r0, int64_t min, int64_t max) {
  if (r0.s.smin >= min && r0.s.smax <= max) return;
  std::string have;
  if (r0.s.smin > INT64_MIN) have += " smin=" + std::to_string(r0.s.smin);
  if (r0.s.smax < INT64_MAX) have += " smax=" + std::to_string(r0.s.smax);
  if (have.empty()) have = " unknown scalar value";
  fail(-EINVAL, "%s the register R0 has%s should have been in [%lld, %lld]\n", where, have.c_str(),
       static_cast<long long>(min), static_cast<long long>(max));
}

// ------------------------------------------------------------ exploration

void Checker::push_branch(const State &st, uint32_t insn, uint32_t from) {
  if (parent_) parent_->alive++;
  pending_.push_back({st, insn, from, parent_, log_.text().size()});
  if (pending_.size() > 8192) fail(-EFAULT, "The sequence of %zu jumps is too complex.\n", pending_.size());
}

// The current path ended (exit, pruned, an error on a mispredicted path): its checkpoints
// lose one live path each, up to the first that still has some.
void Checker::path_done() {
  Checkpoint *c = parent_;
  while (c) {
    if (--c->alive > 0) break;
    c = c->parent;
  }
}

bool Checker::reg_safe(const Reg &old, const Reg &cur, bool exact, IdMap &ids) {
  auto same_id = [&](uint32_t a, uint32_t b) {
    if (a == 0 && b == 0) return true;
    if (a == 0 || b == 0) return !exact && a == 0; // old without id accepts any
    return ids.check(a, b);
  };
  if (old.type == RegType::kNotInit) return !exact || cur.type == RegType::kNotInit;
  if (old.type != cur.type) return false;
  if (exact) {
    Reg a = old, b = cur;
    a.id = b.id = 0;
    return a == b && same_id(old.id, cur.id);
  }
  switch (old.type) {
  case RegType::kScalar:
    if (explore_alu_limits_) return old.s == cur.s && same_id(old.id, cur.id);
    return scalar_within(old.s, cur.s) && (old.id == 0 || same_id(old.id, cur.id));
  case RegType::kPacket:
  case RegType::kPacketMeta:
    if (cur.range < old.range) return false;
    [[fallthrough]];
  case RegType::kMapValue:
  case RegType::kMem:
  case RegType::kStack:
  case RegType::kCtx:
  case RegType::kMapPtr:
  case RegType::kPacketEnd:
  case RegType::kSock:
  case RegType::kFunc:
  case RegType::kMapKey:
    if (old.maybe_null != cur.maybe_null || old.rdonly != cur.rdonly || old.frameno != cur.frameno ||
        old.off != cur.off || old.map != cur.map || old.mem_size != cur.mem_size || old.subprog != cur.subprog)
      return false;
    return scalar_within(old.s, cur.s) && same_id(old.id, cur.id);
  case RegType::kNotInit:
    break;
  }
  return false;
}

bool Checker::stack_safe(const Frame &old, const Frame &cur, bool exact, IdMap &ids) {
  const size_t n = std::max(old.slots.size(), cur.slots.size());
  static const StackSlot kEmpty{};
  for (size_t i = 0; i < n; i++) {
    const StackSlot &o = i < old.slots.size() ? old.slots[i] : kEmpty;
    const StackSlot &c = i < cur.slots.size() ? cur.slots[i] : kEmpty;
    if (exact) {
      if (!(o.bytes[0] == c.bytes[0] && std::equal(o.bytes, o.bytes + 8, c.bytes))) return false;
      if (o.bytes[0] == StackByte::kSpill && !reg_safe(o.spilled, c.spilled, true, ids)) return false;
      continue;
    }
    for (int b = 0; b < 8; b++) {
      StackByte ob = o.bytes[b], cb = c.bytes[b];
      if (ob == StackByte::kInvalid) continue;
      if (ob == StackByte::kMisc && priv_.allow_uninit_stack) continue;
      if (ob == StackByte::kMisc && (cb == StackByte::kMisc || cb == StackByte::kZero)) continue;
      if (ob == StackByte::kMisc && cb == StackByte::kSpill && c.spilled.type == RegType::kScalar) continue;
      if (ob == StackByte::kZero && cb == StackByte::kZero) continue;
      if (ob == StackByte::kSpill && cb == StackByte::kSpill) continue; // compared below
      return false;
    }
    if (o.bytes[0] == StackByte::kSpill && !reg_safe(o.spilled, c.spilled, false, ids)) return false;
  }
  return true;
}

bool Checker::states_equal(const State &old, const State &cur, bool exact, uint32_t insn) {
  if (old.frames.size() != cur.frames.size()) return false;
  if (old.speculative && !cur.speculative) return false;
  IdMap ids;
  for (size_t fi = 0; fi < old.frames.size(); fi++) {
    const Frame &o = old.frames[fi], &c = cur.frames[fi];
    if (o.callsite != c.callsite) return false;
    // A path that has bpf_loop iterations left to explore is not covered
    // by one that had fewer left (the iteration limit cut its exploration).
    // And in an exact comparison (the infinite-loop check) one more
    // iteration of a callback is progress (the kernel compares
    // callback_unroll_depth there).
    if (o.callback_depth > c.callback_depth || (exact && o.callback_depth != c.callback_depth)) return false;
    // Registers the rest of this frame's code never reads do not matter.
    // Under a callback the caller resumes at the helper call itself, which
    // reads r1-r5 again.
    uint16_t live = env_.live_in[insn];
    if (fi + 1 < old.frames.size()) {
      const Frame &callee = old.frames[fi + 1];
      live = env_.live_in[callee.in_callback ? callee.callsite : callee.callsite + 1];
    }
    for (int r = 0; r < vm::kNumRegs; r++) {
      if (!(live & (1u << r))) continue;
      if (!reg_safe(o.regs[r], c.regs[r], exact, ids)) return false;
    }
    if (!stack_safe(o, c, exact, ids)) return false;
  }
  return true;
}

// is_state_visited: true if the current path can stop here (pruned).
bool Checker::visit_prune_point(uint32_t insn, int *err) {
  *err = 0;
  auto &list = explored_[insn];
  // Checkpoint only after at least 2 jumps and 8 instructions since the
  // last one (the kernel's heuristic: fewer states, same verdicts).
  bool add_new = jmps_processed_ - prev_jmps_ >= 2 && processed_ - prev_insns_ >= 8;
  // A helper call that runs a callback is where its iterations come back:
  // always keep a state there (the previous iteration's, for widening).
  const bool callback_call = env_.calls_callback[insn] != 0;
  if (callback_call) add_new = true;
  for (Checkpoint *c : list) {
    if (c->alive > 0 && callback_call) {
      // An earlier iteration's state on this path: one that contains this
      // one covers all it can do next (the loop converged). No
      // "infinite loop" here: another iteration is no progress, but fine.
      if (states_equal(c->state, st_, false, insn)) {
        c->hits++;
        if (log_.verbose_insns()) log_.printf("%u: safe\n", insn);
        return true;
      }
      continue;
    }
    if (c->alive > 0) {
      // Still being explored: the same state again means a loop that makes no progress.
      if (c->state.frames.size() == st_.frames.size() && states_equal(c->state, st_, true, insn)) {
        if (log_.enabled()) log_.printf("infinite loop detected at insn %u\n", insn);
        *err = -EINVAL;
        return false;
      }
      // Inside a loop, do not checkpoint every iteration.
      if (jmps_processed_ - prev_jmps_ < 20 && processed_ - prev_insns_ < 100) add_new = false;
      continue;
    }
    if (states_equal(c->state, st_, false, insn)) {
      c->hits++;
      if (log_.verbose_insns()) log_.printf("%u: safe\n", insn);
      return true;
    }
  }
  // No state matched: every one missed. States that keep missing are
  // dropped from the list (as the kernel's miss_cnt > hit_cnt * 3 + 3
  // eviction), so the list stays short.
  if (add_new && !callback_call) {
    list.erase(std::remove_if(list.begin(), list.end(),
                              [](Checkpoint *c) { return ++c->misses > c->hits * 3 + 3; }),
               list.end());
  }
  if (!add_new) return false;
  prev_jmps_ = jmps_processed_;
  prev_insns_ = processed_;
  auto cp = std::make_unique<Checkpoint>();
  cp->state = st_;
  cp->parent = parent_;
  cp->insn = insn;
  // The current path now continues below the new checkpoint: it replaces
  // the path in its parent's count.
  parent_ = cp.get();
  list.push_back(cp.get());
  all_checkpoints_.push_back(std::move(cp));
  total_states_++;
  peak_states_ = std::max<uint32_t>(peak_states_, static_cast<uint32_t>(all_checkpoints_.size()));
  return false;
}

int64_t Checker::step(uint32_t pc) {
  const vm::Insn &insn = env_.insn(pc);
  switch (insn.info().shape) {
  case Shape::kAluImm: case Shape::kAluReg: case Shape::kNeg: case Shape::kEndian:
    check_alu(pc, insn);
    return pc + 1;
  case Shape::kLdImm64:
    check_ld_imm64(insn, pc);
    return pc + 2;
  case Shape::kLoad: case Shape::kStoreImm: case Shape::kStoreReg:
    check_load_store(pc, insn);
    return pc + 1;
  case Shape::kAtomic:
    check_atomic(pc, insn);
    return pc + 1;
  case Shape::kJa: case Shape::kJa32:
    jmps_processed_++;
    return insn.jump_target(pc);
  case Shape::kJumpImm: case Shape::kJumpReg:
    jmps_processed_++;
    return check_cond_jump(pc, insn);
  case Shape::kCall:
    jmps_processed_++;
    check_helper_call(pc, insn);
    return pc + 1;
  case Shape::kCallLocal:
    jmps_processed_++;
    return check_local_call(pc, insn);
  case Shape::kCallReg:
    fail(-EINVAL, "unsupported callx: calls through a register need the kernel's callback support\n");
  case Shape::kExit:
    jmps_processed_++;
    return check_exit(pc);
  case Shape::kLdAbs: case Shape::kLdInd:
    return check_ld_abs(pc, insn);
  }
  fail(-EINVAL, "unknown insn class\n");
}

int Checker::run() {
  explored_.resize(env_.size());
  alu_aux_.resize(env_.size());
  env_.ctx_rewrite.assign(env_.size(), CtxField::kInvalid);
  env_.mem_ptr_kind.assign(env_.size(), 0);
  nospec_.assign(env_.size(), 0);
  if (int err = check_subprog(0)) return err;
  // do_check_subprogs: each global function some verified path called, once
  // (one verified may call more, hence the passes until none is new).
  for (bool again = true; again;) {
    again = false;
    for (uint32_t i = 1; i < env_.subprogs.size(); i++) {
      Subprog &sp = env_.subprogs[i];
      if (!sp.global || !sp.called || sp.verified) continue;
      if (log_.verbose_insns()) log_.printf("Validating %s() func#%u...\n", sp.name.c_str(), i);
      if (int err = check_subprog(i)) return err;
      if (log_.verbose_insns()) log_.printf("Func#%u ('%s') is safe for any args that match its prototype\n", i, sp.name.c_str());
      sp.verified = true;
      again = true;
    }
  }
  return 0;
}

// The state a subprogram starts in. The main program: r1 = ctx. A global
// function: r1-r5 typed from its prototype (prepared at its first call).
// r10 = frame pointer; everything else unknown to the program.
State Checker::entry_state(uint32_t subprog) {
  State init;
  init.frames.resize(1);
  Frame &f = init.frames[0];
  f.subprog = subprog;
  f.regs[vm::kFrameReg].type = RegType::kStack;
  f.regs[vm::kFrameReg].s = Scalar::constant(0);
  if (subprog != 0) {
    const Subprog &sp = env_.subprogs[subprog];
    for (uint32_t i = 0; i < sp.arg_count; i++) {
      Reg &r = f.regs[i + 1];
      switch (sp.args[i].kind) {
      case ArgKind::kScalar:
        mark_unknown(r);
        break;
      case ArgKind::kCtx:
        r.type = RegType::kCtx;
        r.s = Scalar::constant(0);
        break;
      case ArgKind::kMem:
        r.type = RegType::kMem;
        r.s = Scalar::constant(0);
        r.mem_size = sp.args[i].mem_size;
        r.maybe_null = sp.args[i].nullable;
        if (r.maybe_null) r.id = ++id_gen_;
        break;
      }
    }
    return init;
  }
  f.regs[1].type = RegType::kCtx;
  f.regs[1].s = Scalar::constant(0);
  if (env_.options.prog_type == kProgTypeMemory) {
    f.regs[1].type = RegType::kMem;
    f.regs[1].mem_size = env_.options.ctx_mem_size;
    f.regs[2].type = RegType::kScalar;
    f.regs[2].s = Scalar::constant(env_.options.ctx_mem_size);
  }
  return init;
}

int Checker::check_subprog(uint32_t subprog) {
  // Each subprogram's exploration starts afresh (the kernel frees the
  // explored states between do_check_common calls); the counters go on.
  for (auto &states : explored_) states.clear();
  all_checkpoints_.clear();
  pending_.clear();
  parent_ = nullptr;
  st_ = entry_state(subprog);
  int64_t pc = env_.subprogs[subprog].start;
  uint32_t from = 0;
  try {
    for (;;) {
      if (pc < 0) {
        // The path ended: take the next pending one.
        path_done();
        if (pending_.empty()) break;
        Pending p = std::move(pending_.back());
        pending_.pop_back();
        st_ = std::move(p.state);
        parent_ = p.parent;
        // At level 1 only the path being explored stays in the log.
        if (!log_.level2()) log_.reset(p.log_pos);
        pc = p.insn;
        from = p.from;
        if (log_.verbose_insns()) log_.printf("from %u to %lld:%s\n", from, static_cast<long long>(pc), state_str(st_.cur()).c_str());
      }
      const uint32_t at = static_cast<uint32_t>(pc);
      if (++processed_ > kComplexityLimit) {
        fail(-E2BIG, "BPF program is too large. Processed %u insn\n", processed_);
      }
      if (env_.prune_point[at]) {
        int err = 0;
        bool pruned = visit_prune_point(at, &err);
        if (err) throw Error{err};
        if (pruned) {
          pc = -1;
          continue;
        }
      }
      if (log_.verbose_insns()) log_.printf("%u: %s\n", at, vm::disassemble_insn(env_.insn(at)).c_str());
      if (st_.speculative) {
        // A mispredicted path: an access the rules forbid here cannot
        // happen architecturally; the kernel ends the path with a barrier
        // (a nospec) instead of rejecting the program.
        if (nospec_[at]) {
          pc = -1;
          continue;
        }
        try {
          pc = step(at);
        } catch (const Error &e) {
          if (e.err != -EACCES && e.err != -EINVAL && e.err != -EPERM) throw;
          nospec_[at] = 1;
          alu_aux_[at] = AluAux{};
          pc = -1;
        }
      } else {
        pc = step(at);
      }
      if (log_.level2() && pc >= 0) log_.printf("%u:%s\n", at, state_str(st_.cur()).c_str());
    }
  } catch (const Error &e) {
    env_.verified_insns = processed_;
    return e.err;
  }
  env_.verified_insns = processed_;
  // An accepted program's level-1 log is only the statistics.
  if (!log_.level2()) log_.reset(0);
  return 0;
}



} // namespace

// Callbacks first with their scalars widened after one exact iteration, as
// the kernel widens every scalar it has not marked precise: the counters a
// callback keeps in its context converge at once instead of being unrolled
// (bpf_loop in bpf_loop: 113 instructions processed instead of 644). A
// program that needs such a count exactly (an index checked against a
// bound after a few iterations) fails that pass; it is verified again from
// the start with eight exact iterations, and that verdict and log stand.
// Either pass is sound on its own (widening only forgets), so an accepted
// first pass is an accepted program.
constexpr uint32_t kQuickExactIterations = 1;
constexpr uint32_t kExactIterations = 8;

int do_check(Env &env) {
  if (std::any_of(env.calls_callback.begin(), env.calls_callback.end(), [](uint8_t c) { return c != 0; })) {
    // What a pass changes in env, to start the second one afresh.
    const Log log = env.log;
    const std::vector<Subprog> subprogs = env.subprogs;
    const uint32_t max_ctx_offset = env.max_ctx_offset;
    Checker quick(env, kQuickExactIterations);
    if (quick.run() == 0) {
      quick.stats(&env.total_states, &env.peak_states);
      return 0;
    }
    env.log = log;
    env.subprogs = subprogs;
    env.max_ctx_offset = max_ctx_offset;
  }
  Checker checker(env, kExactIterations);
  int err = checker.run();
  checker.stats(&env.total_states, &env.peak_states);
  return err;
}

} // namespace userbpf::verifier
