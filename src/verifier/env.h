// What every stage of the verifier shares about the program being checked
// (the kernel's struct bpf_verifier_env, reduced to what userbpf uses).
#pragma once

#include <cstdarg>
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "verifier/prog_types.h"
#include "verifier/verifier.h"
#include "vm/decoder.h"

namespace userbpf::verifier {

// The verifier log (kernel/bpf/log.c): collected in full; the caller cuts it
// to the user's log_size.
class Log {
public:
  explicit Log(uint32_t level) : level_(level) {}
  bool enabled() const { return level_ != 0; }
  bool verbose_insns() const { return (level_ & 3) != 0; } // BPF_LOG_LEVEL1 | LEVEL2
  bool level2() const { return (level_ & 2) != 0; }
  void printf(const char *fmt, ...) __attribute__((format(printf, 2, 3)));
  std::string &text() { return text_; }
  // Rewind to an earlier length (bpf_vlog_reset), remembering the longest.
  void reset(size_t pos) {
    note_len();
    if (pos < text_.size()) text_.resize(pos);
  }
  size_t len_max() {
    note_len();
    return len_max_;
  }

private:
  void note_len() { len_max_ = std::max(len_max_, text_.size()); }
  uint32_t level_;
  std::string text_;
  size_t len_max_ = 0;
};

// An argument of a global function as its BTF prototype types it (the
// kernel's bpf_subprog_arg_info): what the function may assume and what
// every caller must pass.
enum class ArgKind : uint8_t {
  kScalar, // int or enum: any number (ARG_ANYTHING)
  kCtx,    // pointer to the program type's context (ARG_PTR_TO_CTX)
  kMem,    // pointer to mem_size bytes of memory, NULL unless arg:nonnull (ARG_PTR_TO_MEM)
};
struct FuncArg {
  ArgKind kind = ArgKind::kScalar;
  bool nullable = true; // kMem
  uint32_t mem_size = 0;// kMem
};

struct Subprog {
  uint32_t start = 0;      // first instruction
  uint32_t end = 0;        // one past the last
  uint32_t stack_depth = 0;// deepest byte it touches in its own frame
  // From func_info (funcs.cpp). A global function is verified once on its
  // own, when some verified path calls it; callers only check its arguments.
  bool global = false;
  uint32_t btf_id = 0;     // its BTF FUNC
  std::string name;        // for the log: "Func#1 ('name') ..."
  bool called = false;     // a call to it was reached (the kernel's aux->called)
  bool verified = false;
  bool changes_packet_data = false; // it, or a function it calls, may move the packet
  bool args_ready = false; // args/arg_count filled from the prototype (args_cached)
  uint32_t arg_count = 0;
  FuncArg args[5];
};

struct Env {
  Env(const Options &o, vm::DecodedProgram &p) : options(o), prog(p), log(o.log_level) {}

  const Options &options;
  const ProgTypeInfo *type = nullptr;
  vm::DecodedProgram &prog;
  std::vector<MapInfo> maps;               // used maps
  std::vector<int32_t> insn_map;           // per insn: index in maps of its LD_IMM64, or -1
  std::vector<Subprog> subprogs;           // sorted by start; [0] is the main program
  std::vector<uint8_t> prune_point;        // per insn
  std::vector<uint8_t> calls_callback;     // per insn: a helper call that runs a callback (bpf_loop, for_each_map_elem)
  std::vector<uint16_t> live_in;           // per insn: registers (bit n = rn) that may be read before written
  // Per insn: the context field verify() rewrites the access to once the
  // program is accepted (the kernel's convert_ctx_accesses): a load of a
  // packet pointer field (data, data_end, data_meta) becomes a load of the
  // 64-bit pointer; a store into a 16-bit field (kScalar16) a 2-byte store.
  // kInvalid for the other insns.
  std::vector<CtxField> ctx_rewrite;
  // Per load/store insn: which kind of pointer it goes through (the kernel's
  // insn_aux_data.ptr_type): 0 not seen yet, 1 the context, 2 anything else.
  std::vector<uint8_t> mem_ptr_kind;
  uint32_t max_ctx_offset = 0; // see Result::max_ctx_offset
  Log log;
  uint32_t verified_insns = 0;
  uint32_t total_states = 0, peak_states = 0;

  size_t size() const { return prog.insns.size(); }
  const vm::Insn &insn(size_t pc) const { return prog.insns[pc]; }
  // The subprogram containing insn pc.
  uint32_t subprog_of(uint32_t pc) const;
};

// Stages, in order (verifier.cpp runs them).
int resolve_maps(Env &env, const MapResolver &maps);     // LD_IMM64 pseudo sources
int check_cfg(Env &env);                                  // subprogs, reachability, loops (cfg.cpp)
void compute_liveness(Env &env);                          // cfg.cpp
int do_check(Env &env);                                   // analysis.cpp
int check_max_stack_depth(Env &env);                      // cfg.cpp
// funcs.cpp: global functions (BTF_FUNC_GLOBAL).
int read_func_info(Env &env);                             // linkage and names, after check_cfg
int prepare_func_args(Env &env, uint32_t subprog);        // btf_prepare_func_args (cached)

} // namespace userbpf::verifier
