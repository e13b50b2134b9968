// BPF helper functions, as a table: the kernel's id, the implementation, and
// the prototype (argument and return types) the verifier will check calls
// against. The ids and types are the kernel's (enum bpf_func_id,
// enum bpf_arg_type / bpf_return_type in include/linux/bpf.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "maps/map.h"

namespace userbpf::helpers {

enum class ArgType : uint8_t {
  kDontCare,        // ARG_DONTCARE: the argument is not used
  kAnything,        // ARG_ANYTHING: any scalar
  kConstMapPtr,     // ARG_CONST_MAP_PTR
  kPtrToMapKey,     // ARG_PTR_TO_MAP_KEY: key_size readable bytes
  kPtrToMapValue,   // ARG_PTR_TO_MAP_VALUE: value_size readable bytes
  kPtrToUninitMapValue, // ARG_PTR_TO_MAP_VALUE | MEM_UNINIT: value_size bytes the helper writes
  kPtrToMemReadOnly,// ARG_PTR_TO_MEM | MEM_RDONLY, size in the next argument
  kPtrToMemReadOnlyOrNull, // the same, or NULL (only with a size of zero)
  kPtrToUninitMem,  // ARG_PTR_TO_MEM | MEM_UNINIT: the helper writes it, size next
  kConstSize,       // ARG_CONST_SIZE: the size of the preceding memory argument (> 0)
  kConstSizeOrZero, // ARG_CONST_SIZE_OR_ZERO: the same, zero allowed
  kPtrToCtx,        // ARG_PTR_TO_CTX: the program's context, unmodified
  kPtrToFunc,       // ARG_PTR_TO_FUNC: a static subprogram (LD_IMM64 BPF_PSEUDO_FUNC), the callback
  kPtrToStackOrNull,// ARG_PTR_TO_STACK_OR_NULL: the caller's stack (the callback's context), or NULL
  kPtrToConstStr,   // ARG_PTR_TO_CONST_STR: a NUL-terminated string in a frozen, program-read-only array
};

inline constexpr int32_t kLoopHelper = 181;   // BPF_FUNC_loop
inline constexpr uint32_t kMaxLoops = 1u << 23; // BPF_MAX_LOOPS: bpf_loop's nr_loops limit (-E2BIG beyond)
inline constexpr int32_t kForEachMapElemHelper = 164; // BPF_FUNC_for_each_map_elem

// bpf_for_each_map_elem(map, callback, ctx, flags) calls back into the
// program, so the VM runs it itself, as bpf_loop: it starts a walk, and
// between two steps runs callback(map, key, value, ctx) until that returns
// non-zero (the verifier allows 0 and 1); r0 = the elements visited, or
// -EINVAL for non-zero flags. Both engines keep a ForEachWalk where the
// callback cannot reach it (the interpreter's frames, the JIT's native stack).
struct ForEachWalk {
  Map *map;           // r1 of the helper call
  void *key;          // the element found by the last step
  void *value;
  MapWalkCursor cursor;
};
// A zeroed ForEachWalk over map. Returns 0, or -EINVAL (the helper's
// result) for a map without for_each: only unverified code passes one.
int64_t for_each_map_start(ForEachWalk *walk, uint64_t map);
// One step: 1 with the next element's key and value in walk, 0 at the end.
// A plain C-ABI function the JIT calls between two callbacks.
uint64_t for_each_map_step(ForEachWalk *walk);

// Memory arguments are followed by their size argument (the kernel's
// arg_type_is_mem_size pairs).
constexpr bool arg_is_mem(ArgType t) {
  return t == ArgType::kPtrToMemReadOnly || t == ArgType::kPtrToMemReadOnlyOrNull || t == ArgType::kPtrToUninitMem;
}
constexpr bool arg_is_size(ArgType t) { return t == ArgType::kConstSize || t == ArgType::kConstSizeOrZero; }

enum class RetType : uint8_t {
  kInteger,               // RET_INTEGER
  kVoid,                  // RET_VOID
  kPtrToMapValueOrNull,   // RET_PTR_TO_MAP_VALUE_OR_NULL
};

// Helpers take r1..r5 and return r0, as the kernel's BPF_CALL_5.
using HelperFn = uint64_t (*)(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5);

struct HelperProto {
  int32_t id;
  std::string_view name; // without the bpf_ prefix of the disassembler's "call bpf_map_lookup_elem#1"
  HelperFn fn;           // nullptr for bpf_tail_call, which the VM runs itself
  RetType ret;
  ArgType args[5];
  bool gpl_only;
  // Program types may call it only with CAP_PERFMON (bpf_base_func_proto's
  // last group: trace_printk and friends).
  bool needs_perfmon = false;
  // It may move the packet (bpf_helper_changes_pkt_data): the verifier
  // forgets every packet pointer after the call.
  bool changes_packet_data = false;
};

// The helper with this id, or nullptr.
const HelperProto *find_helper(int32_t id);
// The function a call of `proto` runs in a program of type prog_type
// (BPF_PROG_TYPE_*; 0 for none). Usually proto.fn; but the kernel gives some
// ids a different implementation per program type (its get_func_proto
// returns another bpf_func_proto for the same id), and the VM, translating a
// program of a known type, calls the one its type gets, as the kernel's
// fixup patches the call's address: bpf_redirect (23) returns tc's verdicts
// (TC_ACT_*) in proto.fn and XDP's (XDP_*) in XDP programs.
HelperFn helper_function(const HelperProto &proto, uint32_t prog_type);

// Where the last bpf_redirect on this thread sent the packet (the kernel's
// bpf_redirect_info): the interface index and flags. Read it after a run
// whose verdict is TC_ACT_REDIRECT / XDP_REDIRECT.
struct RedirectTarget {
  uint32_t ifindex = 0;
  uint64_t flags = 0;
};
const RedirectTarget &redirect_target();

// Every helper, in id order.
const HelperProto *helpers_begin();
const HelperProto *helpers_end();

// Where bpf_trace_printk's output goes (the kernel's trace_pipe). The sink
// gets each formatted message (not NUL-terminated); nullptr discards them.
// The default writes to stderr. Process-wide; set it before running programs.
using TraceSink = void (*)(void *ctx, const char *text, size_t len);
void set_trace_printk_sink(TraceSink sink, void *ctx);

} // namespace userbpf::helpers
