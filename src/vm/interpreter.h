// The interpreter: runs a decoded program with direct-threaded dispatch.
//
// Each instruction is pre-translated into a Slot holding the address of its
// handler (a label inside the interpreter loop, GCC/clang labels-as-values),
// its registers, its offset (jumps: distance in slots) and its immediate
// (sign-extended; LD_IMM64's 64-bit value; a helper's function pointer). A
// handler does its work and jumps straight to the next slot's handler: no
// opcode decoding and no per-instruction checks at run time. Memory accesses
// are not checked either: that is the verifier's job; an unverified program
// can only be run safely on memory it is allowed to touch (tests, the
// conformance plugin). An optional instruction budget (a separately translated
// copy of the program, so the normal path pays nothing) stops runaway loops.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "vm/decoder.h"
#include "vm/jit_x86_64.h"

namespace userbpf::vm {

struct RunResult {
  int err = 0;          // 0, or -ETIME (budget), -E2BIG (call depth), -EINVAL (bad callx target)
  uint64_t r0 = 0;
  uint64_t executed = 0; // instructions executed (counted only with a budget)
  std::string error;     // why, when err != 0
};

// One pre-translated instruction.
struct Slot {
  const void *handler;
  uint64_t imm;
  int32_t off;
  uint8_t dst;
  uint8_t src;
};

// Which execution engine runs a program.
enum class Engine : uint8_t {
  kInterpreter, // the direct-threaded interpreter below (every CPU)
  kJit,         // native code (vm/jit_x86_64.h; x86-64 only)
};

struct ProgramOptions {
  Engine engine = Engine::kInterpreter;
  JitOptions jit; // its prog_type is set from the one below
  // The program's type (BPF_PROG_TYPE_*; 0: none, as the conformance plugin's
  // programs): the few helper ids whose implementation depends on it (see
  // helpers::helper_function) call the one of this type.
  uint32_t prog_type = 0;
};

// The engine a CPU runs programs with by default: the JIT where there is one.
Engine default_engine();

class Program {
public:
  // Translate a decoded program. Every LD_IMM64 with a pseudo source other
  // than kFunc must have been resolved by the loader (mark_resolved); helper
  // ids must exist. With Engine::kJit the program is compiled to native code
  // too. Returns 0, or -EINVAL with *error naming the instruction (-EOPNOTSUPP
  // for the JIT on another CPU, -ENOMEM when there is no memory for code).
  static int create(const DecodedProgram &decoded, std::unique_ptr<Program> *out, std::string *error,
                    const ProgramOptions &options = {});

  // Run with r1 = ctx, r2 = ctx_len (what the conformance suite passes: the
  // memory and its size). budget = 0: unlimited; else at most budget
  // instructions, then err = -ETIME. A budget always runs in the interpreter
  // (it counts instructions); otherwise the JIT runs the program if it has one.
  RunResult run(uint64_t r1, uint64_t r2 = 0, uint64_t budget = 0) const;
  // The same without a budget, for a caller that already holds an
  // RcuReadGuard (a test run takes one for all its repetitions, as the
  // kernel's bpf_test_run() holds rcu_read_lock around its loop).
  RunResult run_under_rcu(uint64_t r1, uint64_t r2 = 0) const;

  size_t size() const { return slots_.size(); }
  // The native code, or nullptr when the program runs in the interpreter.
  const JitImage *jit() const { return jit_.get(); }
  // The translated slots (budgeted: the counting copy, made on first use).
  const std::vector<Slot> &slots(bool budgeted) const;

private:
  Program() = default;
  std::vector<Slot> slots_;
  std::unique_ptr<JitImage> jit_;
  mutable std::once_flag budgeted_once_;
  mutable std::vector<Slot> budgeted_slots_; // the same, with the counting handlers
};

// Tail calls (bpf_tail_call, helper 12). The interpreter runs a call of
// helper 12 as a jump into another program that never returns here: the
// target's code replaces the caller's, with the same r1 (the context), the
// same stack frame and call depth, as the kernel's JITs do. Which program, if
// any, is the resolver's decision; the program layer sets it
// (src/prog/tail_call.cpp: the prog array lookup, the limit of 33 tail calls
// per run shared along the chain, holding the target alive). `map` and
// `index` are r2 and r3 of the call; `count` is the run's tail-call counter
// (0 at entry). nullptr: the call falls through to the next instruction.
// The JIT calls the same resolver (resolve_tail_call). Whichever engine the
// target was built for, the interpreter continues a chain in the interpreter
// (every Program has slots); the JIT jumps into the target's native code, or,
// for a target without any, finishes the chain with
// run_tail_call_target_interpreted (docs/JIT.md, "Tail calls").
using TailCallResolver = const Program *(*)(uint64_t map, uint64_t index, uint32_t *count);
void set_tail_call_resolver(TailCallResolver resolver);
// The installed resolver's answer (nullptr when none is installed).
const Program *resolve_tail_call(uint64_t map, uint64_t index, uint32_t *count);
// Run `target` in the interpreter as the rest of a tail-call chain: r1 = ctx,
// the chain's tail-call count in and out.
RunResult run_tail_call_target_interpreted(const Program &target, uint64_t r1, uint32_t *count);
inline constexpr int32_t kTailCallHelper = 12; // BPF_FUNC_tail_call

// Pseudo sources the loader resolves in place: write the value LD_IMM64 must
// load (map pointer, value address) and mark it resolved.
void resolve_ld_imm64(Insn &insn, uint64_t value);

} // namespace userbpf::vm
