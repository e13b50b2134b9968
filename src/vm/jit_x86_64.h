// The x86-64 JIT: a decoded, resolved program -> native code.
//
// Registers map one to one, as in the kernel's JIT (arch/x86/net/bpf_jit_comp.c),
// so a helper call is a plain SysV call with r1..r5 already in place:
//
//   r0 rax   r1 rdi   r2 rsi   r3 rdx   r4 rcx   r5 r8
//   r6 rbx   r7 r13   r8 r14   r9 r15   r10 rbp
//   r9, r10, r11 (x86): scratch      r12: the run context (JitRunContext *)
//
// Every BPF function (the main program and each subprogram) has the same
// native frame: it saves rbp, rbx, r13-r15 (BPF r6-r9 and r10 survive a call,
// and the SysV callee-saved registers survive the program), points rbp (BPF
// r10) at the top of its own 512-byte stack and returns r0 in rax. An entry
// trampoline in front of the code saves r12 too, stores the native stack
// pointer in the run context and zeroes r0, r3..r9 (as the interpreter does);
// run-time errors (call depth, bad callx target) jump to a stub that restores
// that stack pointer and returns, whatever the depth.
//
// Tail calls (helper 12): the site asks the program layer's resolver for the
// target (vm::resolve_tail_call: bounds, the count of 33 kept in
// JitRunContext::tail_call_count and shared along the chain, the slot), then
// unwinds its own frame exactly like the exit epilogue (add rsp, 512; pop
// r15..rbp) and jumps — instead of ret — to the target's function entry
// (JitImage::entry(0)), which builds the same frame again with r1 (ctx)
// untouched; no target: the call falls through to the next instruction with
// r0 and r1 kept. A target without native code (built while the process ran
// the interpreter) is entered through a stub that finishes the chain in the
// interpreter and returns its r0 as the replaced function would.
//
// Code pages are never writable and executable at once: the code is written
// into an anonymous read-write mapping, then mprotect()ed to read+execute.
// The mapping is unmapped after an RCU grace period when the image goes, since
// another thread may still be running it inside its RCU read-side section.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "helpers/helpers.h"
#include "vm/decoder.h"

namespace userbpf::vm {

struct RunResult;

// What JIT code and the C++ around it share for one run (r12 points at it).
struct JitRunContext {
  uint64_t saved_rsp = 0;      // native stack pointer at entry (error exits)
  uint64_t bad_value = 0;      // callx: the register's value
  int32_t depth = 0;           // BPF call frames above the main one
  uint32_t tail_call_count = 0; // tail calls taken along the chain (max 33)
  int32_t err = 0;              // 0, -E2BIG (call depth), -EINVAL (callx), or an interpreted tail's
  int32_t bad_reg = 0;          // callx: the register number
  // Tail calls into a program without native code (see above): the stub of
  // the image the run entered, and the program it is to interpret.
  uint64_t interpreted_tail_stub = 0;
  const void *interpreted_target = nullptr; // a vm::Program
  bool interpreted_error = false;           // err (and its message) came from the interpreter
  // bpf_for_each_map_elem's walks, one per call depth: here rather than on
  // the native stack, so that the key an array walk hands out (the walk's
  // copy of the index) stays readable for the whole run, as the
  // interpreter's (a callback may leave the pointer behind in its ctx).
  helpers::ForEachWalk for_each[kMaxCallFrames];
};

struct JitOptions {
  // Constant blinding (the kernel's bpf_jit_harden): every immediate an
  // instruction carries is emitted xored with a per-instruction random key and
  // decoded at run time, so no program-chosen constant appears in the code.
  bool blind_constants = false;
  // Place the code next to the helpers so they are called with call rel32
  // (else, or when no room is found there, through a register).
  bool near_helpers = true;
  // The program's type, for helpers with a per-type implementation
  // (helpers::helper_function); Program::create sets it from ProgramOptions.
  uint32_t prog_type = 0;
};

// True on CPUs this JIT generates code for.
bool jit_supported();

class JitImage {
public:
  // Compile. The program must have passed Program::create's checks (helper
  // ids known, every LD_IMM64 resolved; kFunc LD_IMM64 are resolved here).
  // Returns 0, -EINVAL (with *error naming the instruction), -ENOMEM (no
  // memory for the code) or -EOPNOTSUPP (not an x86-64 CPU).
  static int compile(const DecodedProgram &decoded, const JitOptions &options, std::unique_ptr<JitImage> *out,
                     std::string *error);
  ~JitImage();
  JitImage(const JitImage &) = delete;
  JitImage &operator=(const JitImage &) = delete;

  // Run with r1, r2 (see Program::run). Never counts instructions.
  RunResult run(uint64_t r1, uint64_t r2) const;

  const uint8_t *code() const { return code_; }
  size_t code_size() const { return code_size_; }
  // Native code of BPF instruction i: [insn_begin(i), insn_begin(i + 1)),
  // including the prologue in front of a function's first instruction;
  // insn_begin(insn count) is code_size(). The entry trampoline and error
  // stubs are [0, insn_begin(0)).
  size_t insn_begin(size_t i) const { return insn_begin_[i]; }
  size_t insn_count() const { return insn_begin_.size() - 1; }
  // The native address a BPF function starting at instruction i is entered at
  // (for LD_IMM64 of a function, callx, and later tail calls); 0 if no function starts there.
  uintptr_t entry(size_t i) const;

  // The BPF functions' native code in order, as BPF_OBJ_GET_INFO_BY_FD
  // reports them (jited_ksyms, jited_func_lens): the main function from its
  // entry trampoline (where it is called), each subprogram from its entry;
  // together they cover the image but for the padding in front.
  struct Function {
    size_t first_insn; // its first BPF instruction
    size_t begin;      // offset in the image
    size_t size;
  };
  std::vector<Function> functions() const;

private:
  JitImage() = default;
  uint8_t *code_ = nullptr;
  size_t code_size_ = 0;
  size_t mapping_size_ = 0;
  size_t interpreted_tail_stub_ = 0; // offset of the stub (see JitRunContext)
  std::vector<uint32_t> insn_begin_;
  std::vector<int64_t> function_entry_; // per instruction: offset, or -1
};

} // namespace userbpf::vm
