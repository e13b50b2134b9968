#include "vm/interpreter.h"

#include <atomic>
#include <cerrno>
#include <cstring>

#include "alloc/rcu.h"
#include "helpers/helpers.h"
#include "helpers/skb_load.h"

namespace userbpf::vm {

namespace {

// The interpreter's labels: one per instruction form (Op), then the helpers
// the VM runs itself: the tail call, bpf_loop and bpf_for_each_map_elem.
constexpr size_t kTailCallLabel = kNumOps;
constexpr size_t kLoopLabel = kNumOps + 1;
constexpr size_t kForEachLabel = kNumOps + 2;
constexpr size_t kNumLabels = kNumOps + 3;

template <typename T> inline T load(uint64_t addr) {
  T v;
  std::memcpy(&v, reinterpret_cast<const void *>(static_cast<uintptr_t>(addr)), sizeof v);
  return v;
}
template <typename T> inline void store(uint64_t addr, T v) {
  std::memcpy(reinterpret_cast<void *>(static_cast<uintptr_t>(addr)), &v, sizeof v);
}
template <typename T> inline T *atomic_ptr(uint64_t addr) { return reinterpret_cast<T *>(static_cast<uintptr_t>(addr)); }

std::atomic<TailCallResolver> g_tail_call_resolver{nullptr};

struct Frame {
  const Slot *return_to;
  uint64_t callee_saved[4]; // r6..r9
  uint64_t frame_pointer;   // r10
  // Set when the call that made the frame above is bpf_loop's or
  // bpf_for_each_map_elem's: its callback's exit comes back here for the
  // next iteration. for_each.map is set for bpf_for_each_map_elem only.
  const Slot *loop_callback = nullptr;
  uint64_t loop_ctx = 0;
  uint32_t loop_index = 0, loop_count = 0;
  helpers::ForEachWalk for_each = {};
};

// Is target the address of one of code's slots (a callback's entry)?
bool is_slot_address(uint64_t target, const Slot *code, size_t code_len) {
  const uintptr_t begin = reinterpret_cast<uintptr_t>(code);
  return target - begin < code_len * sizeof(Slot) && (target - begin) % sizeof(Slot) == 0;
}

// The interpreter loop. Called with code == nullptr it only hands out its
// label table (labels are local to the function that defines them).
template <bool kBudget>
RunResult execute(const Slot *code, size_t code_len, uint64_t r1, uint64_t r2, uint64_t budget,
                  const void *const **labels_out, uint32_t *tail_call_count = nullptr) {
  // One label per instruction form, then the tail call (kTailCallLabel).
  static const void *const kLabels[] = {
#define USERBPF_VM_LABEL(N, ...) &&op_##N,
      USERBPF_VM_OPS(USERBPF_VM_LABEL)
#undef USERBPF_VM_LABEL
      &&op_TAIL_CALL,
      &&op_LOOP,
      &&op_FOR_EACH,
  };
  static_assert(sizeof(kLabels) / sizeof(kLabels[0]) == kNumLabels);
  RunResult result;
  if (!code) {
    *labels_out = kLabels;
    return result;
  }

  alignas(16) uint8_t stack[kMaxCallFrames * kStackSize];
  Frame frames[kMaxCallFrames];
  int depth = 0;
  uint64_t reg[kNumRegs] = {};
  reg[1] = r1;
  reg[2] = r2;
  reg[10] = reinterpret_cast<uintptr_t>(stack + sizeof stack);
  uint64_t remaining = budget;
  // Tail calls taken along the chain: a run continuing a JIT chain starts from its count.
  uint32_t tail_calls = tail_call_count ? *tail_call_count : 0;
  const Slot *pc = code;

#define DST reg[pc->dst]
#define SRC reg[pc->src]
#define DISPATCH()                                                                                                   \
  do {                                                                                                               \
    if constexpr (kBudget) {                                                                                         \
      if (remaining == 0) goto out_of_budget;                                                                        \
      remaining--;                                                                                                   \
    }                                                                                                                \
    goto *pc->handler;                                                                                               \
  } while (0)
#define NEXT()                                                                                                       \
  do {                                                                                                               \
    ++pc;                                                                                                            \
    DISPATCH();                                                                                                      \
  } while (0)
#define JUMP_IF(cond)                                                                                                \
  do {                                                                                                               \
    pc += (cond) ? pc->off + 1 : 1;                                                                                  \
    DISPATCH();                                                                                                      \
  } while (0)

  (void)&&out_of_budget; // used by the counting variant only
  DISPATCH();

  // ---- ALU. 32-bit forms compute on the low halves and zero the upper half.
#define USERBPF_VM_BINARY(N, EXPR64, EXPR32)                                                                         \
  op_##N##64_IMM : {                                                                                                 \
    uint64_t a = DST, b = pc->imm;                                                                                   \
    DST = (EXPR64);                                                                                                  \
    NEXT();                                                                                                          \
  }                                                                                                                  \
  op_##N##64_REG : {                                                                                                 \
    uint64_t a = DST, b = SRC;                                                                                       \
    DST = (EXPR64);                                                                                                  \
    NEXT();                                                                                                          \
  }                                                                                                                  \
  op_##N##32_IMM : {                                                                                                 \
    uint32_t a = static_cast<uint32_t>(DST), b = static_cast<uint32_t>(pc->imm);                                     \
    DST = static_cast<uint32_t>(EXPR32);                                                                             \
    NEXT();                                                                                                          \
  }                                                                                                                  \
  op_##N##32_REG : {                                                                                                 \
    uint32_t a = static_cast<uint32_t>(DST), b = static_cast<uint32_t>(SRC);                                        \
    DST = static_cast<uint32_t>(EXPR32);                                                                             \
    NEXT();                                                                                                          \
  }

  USERBPF_VM_BINARY(ADD, a + b, a + b)
  USERBPF_VM_BINARY(SUB, a - b, a - b)
  USERBPF_VM_BINARY(MUL, a *b, a *b)
  // Division by zero gives 0; modulo by zero leaves dst (the kernel's run-time fixup).
  USERBPF_VM_BINARY(DIV, b ? a / b : 0, b ? a / b : 0)
  USERBPF_VM_BINARY(MOD, b ? a % b : a, b ? a % b : a)
  USERBPF_VM_BINARY(OR, a | b, a | b)
  USERBPF_VM_BINARY(AND, a &b, a &b)
  USERBPF_VM_BINARY(XOR, a ^ b, a ^ b)
  USERBPF_VM_BINARY(MOV, ((void)a, b), ((void)a, b))
  // Shift counts are masked to the operand width (what x86 does; the verifier
  // rejects out-of-range constant shifts before they get here).
  USERBPF_VM_BINARY(LSH, a << (b & 63), a << (b & 31))
  USERBPF_VM_BINARY(RSH, a >> (b & 63), a >> (b & 31))
  USERBPF_VM_BINARY(ARSH, static_cast<uint64_t>(static_cast<int64_t>(a) >> (b & 63)),
                    static_cast<uint32_t>(static_cast<int32_t>(a) >> (b & 31)))
  // Signed division: INT_MIN / -1 wraps to INT_MIN and INT_MIN % -1 is 0
  // (no trap, as the kernel); by zero as above.
  USERBPF_VM_BINARY(SDIV,
                    !b ? 0
                    : static_cast<int64_t>(b) == -1 ? 0 - a
                                                   : static_cast<uint64_t>(static_cast<int64_t>(a) / static_cast<int64_t>(b)),
                    !b ? 0u
                    : static_cast<int32_t>(b) == -1 ? 0u - a
                                                   : static_cast<uint32_t>(static_cast<int32_t>(a) / static_cast<int32_t>(b)))
  USERBPF_VM_BINARY(SMOD,
                    !b ? a
                    : static_cast<int64_t>(b) == -1 ? 0
                                                   : static_cast<uint64_t>(static_cast<int64_t>(a) % static_cast<int64_t>(b)),
                    !b ? a
                    : static_cast<int32_t>(b) == -1 ? 0u
                                                   : static_cast<uint32_t>(static_cast<int32_t>(a) % static_cast<int32_t>(b)))
#undef USERBPF_VM_BINARY

op_NEG64:
  DST = 0 - DST;
  NEXT();
op_NEG32:
  DST = static_cast<uint32_t>(0u - static_cast<uint32_t>(DST));
  NEXT();
op_MOVSX8_64:
  DST = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int8_t>(SRC)));
  NEXT();
op_MOVSX16_64:
  DST = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int16_t>(SRC)));
  NEXT();
op_MOVSX32_64:
  DST = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(SRC)));
  NEXT();
op_MOVSX8_32:
  DST = static_cast<uint32_t>(static_cast<int32_t>(static_cast<int8_t>(SRC)));
  NEXT();
op_MOVSX16_32:
  DST = static_cast<uint32_t>(static_cast<int32_t>(static_cast<int16_t>(SRC)));
  NEXT();
  // The host is little-endian: "le" truncates, "be" and bswap swap.
op_LE16:
  DST = static_cast<uint16_t>(DST);
  NEXT();
op_LE32:
  DST = static_cast<uint32_t>(DST);
  NEXT();
op_LE64:
  NEXT();
op_BE16:
op_BSWAP16:
  DST = __builtin_bswap16(static_cast<uint16_t>(DST));
  NEXT();
op_BE32:
op_BSWAP32:
  DST = __builtin_bswap32(static_cast<uint32_t>(DST));
  NEXT();
op_BE64:
op_BSWAP64:
  DST = __builtin_bswap64(DST);
  NEXT();

op_LD_IMM64:
  DST = pc->imm;
  pc += 2;
  DISPATCH();

  // ---- memory
op_LDXW:
  DST = load<uint32_t>(SRC + pc->off);
  NEXT();
op_LDXH:
  DST = load<uint16_t>(SRC + pc->off);
  NEXT();
op_LDXB:
  DST = load<uint8_t>(SRC + pc->off);
  NEXT();
op_LDXDW:
  DST = load<uint64_t>(SRC + pc->off);
  NEXT();
op_LDXSW:
  DST = static_cast<uint64_t>(static_cast<int64_t>(load<int32_t>(SRC + pc->off)));
  NEXT();
op_LDXSH:
  DST = static_cast<uint64_t>(static_cast<int64_t>(load<int16_t>(SRC + pc->off)));
  NEXT();
op_LDXSB:
  DST = static_cast<uint64_t>(static_cast<int64_t>(load<int8_t>(SRC + pc->off)));
  NEXT();
op_STW:
  store<uint32_t>(DST + pc->off, static_cast<uint32_t>(pc->imm));
  NEXT();
op_STH:
  store<uint16_t>(DST + pc->off, static_cast<uint16_t>(pc->imm));
  NEXT();
op_STB:
  store<uint8_t>(DST + pc->off, static_cast<uint8_t>(pc->imm));
  NEXT();
op_STDW:
  store<uint64_t>(DST + pc->off, pc->imm);
  NEXT();
op_STXW:
  store<uint32_t>(DST + pc->off, static_cast<uint32_t>(SRC));
  NEXT();
op_STXH:
  store<uint16_t>(DST + pc->off, static_cast<uint16_t>(SRC));
  NEXT();
op_STXB:
  store<uint8_t>(DST + pc->off, static_cast<uint8_t>(SRC));
  NEXT();
op_STXDW:
  store<uint64_t>(DST + pc->off, SRC);
  NEXT();

  // ---- atomics: sequentially consistent, as the kernel's (locked x86 instructions).
op_ATOMIC_ADD64:
  (void)__atomic_fetch_add(atomic_ptr<uint64_t>(DST + pc->off), SRC, __ATOMIC_SEQ_CST);
  NEXT();
op_ATOMIC_ADD32:
  (void)__atomic_fetch_add(atomic_ptr<uint32_t>(DST + pc->off), static_cast<uint32_t>(SRC), __ATOMIC_SEQ_CST);
  NEXT();
op_ATOMIC_OR64:
  (void)__atomic_fetch_or(atomic_ptr<uint64_t>(DST + pc->off), SRC, __ATOMIC_SEQ_CST);
  NEXT();
op_ATOMIC_OR32:
  (void)__atomic_fetch_or(atomic_ptr<uint32_t>(DST + pc->off), static_cast<uint32_t>(SRC), __ATOMIC_SEQ_CST);
  NEXT();
op_ATOMIC_AND64:
  (void)__atomic_fetch_and(atomic_ptr<uint64_t>(DST + pc->off), SRC, __ATOMIC_SEQ_CST);
  NEXT();
op_ATOMIC_AND32:
  (void)__atomic_fetch_and(atomic_ptr<uint32_t>(DST + pc->off), static_cast<uint32_t>(SRC), __ATOMIC_SEQ_CST);
  NEXT();
op_ATOMIC_XOR64:
  (void)__atomic_fetch_xor(atomic_ptr<uint64_t>(DST + pc->off), SRC, __ATOMIC_SEQ_CST);
  NEXT();
op_ATOMIC_XOR32:
  (void)__atomic_fetch_xor(atomic_ptr<uint32_t>(DST + pc->off), static_cast<uint32_t>(SRC), __ATOMIC_SEQ_CST);
  NEXT();
  // Fetch forms: src receives the old value (32-bit: zero-extended).
op_ATOMIC_FETCH_ADD64:
  SRC = __atomic_fetch_add(atomic_ptr<uint64_t>(DST + pc->off), SRC, __ATOMIC_SEQ_CST);
  NEXT();
op_ATOMIC_FETCH_ADD32:
  SRC = __atomic_fetch_add(atomic_ptr<uint32_t>(DST + pc->off), static_cast<uint32_t>(SRC), __ATOMIC_SEQ_CST);
  NEXT();
op_ATOMIC_FETCH_OR64:
  SRC = __atomic_fetch_or(atomic_ptr<uint64_t>(DST + pc->off), SRC, __ATOMIC_SEQ_CST);
  NEXT();
op_ATOMIC_FETCH_OR32:
  SRC = __atomic_fetch_or(atomic_ptr<uint32_t>(DST + pc->off), static_cast<uint32_t>(SRC), __ATOMIC_SEQ_CST);
  NEXT();
op_ATOMIC_FETCH_AND64:
  SRC = __atomic_fetch_and(atomic_ptr<uint64_t>(DST + pc->off), SRC, __ATOMIC_SEQ_CST);
  NEXT();
op_ATOMIC_FETCH_AND32:
  SRC = __atomic_fetch_and(atomic_ptr<uint32_t>(DST + pc->off), static_cast<uint32_t>(SRC), __ATOMIC_SEQ_CST);
  NEXT();
op_ATOMIC_FETCH_XOR64:
  SRC = __atomic_fetch_xor(atomic_ptr<uint64_t>(DST + pc->off), SRC, __ATOMIC_SEQ_CST);
  NEXT();
op_ATOMIC_FETCH_XOR32:
  SRC = __atomic_fetch_xor(atomic_ptr<uint32_t>(DST + pc->off), static_cast<uint32_t>(SRC), __ATOMIC_SEQ_CST);
  NEXT();
op_ATOMIC_XCHG64:
  SRC = __atomic_exchange_n(atomic_ptr<uint64_t>(DST + pc->off), SRC, __ATOMIC_SEQ_CST);
  NEXT();
op_ATOMIC_XCHG32:
  SRC = __atomic_exchange_n(atomic_ptr<uint32_t>(DST + pc->off), static_cast<uint32_t>(SRC), __ATOMIC_SEQ_CST);
  NEXT();
  // cmpxchg: compare with r0, r0 receives the old value either way.
op_ATOMIC_CMPXCHG64 : {
  uint64_t expected = reg[0];
  __atomic_compare_exchange_n(atomic_ptr<uint64_t>(DST + pc->off), &expected, SRC, false, __ATOMIC_SEQ_CST,
                              __ATOMIC_SEQ_CST);
  reg[0] = expected;
  NEXT();
}
op_ATOMIC_CMPXCHG32 : {
  uint32_t expected = static_cast<uint32_t>(reg[0]);
  __atomic_compare_exchange_n(atomic_ptr<uint32_t>(DST + pc->off), &expected, static_cast<uint32_t>(SRC), false,
                              __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
  reg[0] = expected;
  NEXT();
}

  // ---- jumps (off: distance in slots from the next one)
op_JA:
op_GOTOL:
  pc += pc->off + 1;
  DISPATCH();
#define USERBPF_VM_COND(N, OP, T64, T32)                                                                             \
  op_##N##_IMM : JUMP_IF(static_cast<T64>(DST) OP static_cast<T64>(pc->imm));                                        \
  op_##N##_REG : JUMP_IF(static_cast<T64>(DST) OP static_cast<T64>(SRC));                                            \
  op_##N##32_IMM : JUMP_IF(static_cast<T32>(DST) OP static_cast<T32>(pc->imm));                                      \
  op_##N##32_REG : JUMP_IF(static_cast<T32>(DST) OP static_cast<T32>(SRC));
  USERBPF_VM_COND(JEQ, ==, uint64_t, uint32_t)
  USERBPF_VM_COND(JNE, !=, uint64_t, uint32_t)
  USERBPF_VM_COND(JGT, >, uint64_t, uint32_t)
  USERBPF_VM_COND(JGE, >=, uint64_t, uint32_t)
  USERBPF_VM_COND(JLT, <, uint64_t, uint32_t)
  USERBPF_VM_COND(JLE, <=, uint64_t, uint32_t)
  USERBPF_VM_COND(JSGT, >, int64_t, int32_t)
  USERBPF_VM_COND(JSGE, >=, int64_t, int32_t)
  USERBPF_VM_COND(JSLT, <, int64_t, int32_t)
  USERBPF_VM_COND(JSLE, <=, int64_t, int32_t)
  USERBPF_VM_COND(JSET, &, uint64_t, uint32_t)
#undef USERBPF_VM_COND

  // ---- calls
op_CALL:
  reg[0] = reinterpret_cast<helpers::HelperFn>(pc->imm)(reg[1], reg[2], reg[3], reg[4], reg[5]);
  NEXT();
op_TAIL_CALL : {
  // r1 = ctx, r2 = the program array, r3 = the index (see TailCallResolver).
  const Program *target = resolve_tail_call(reg[2], reg[3], &tail_calls);
  if (!target) NEXT();
  const std::vector<Slot> &target_code = target->slots(kBudget);
  code = target_code.data();
  code_len = target_code.size();
  pc = code;
  DISPATCH();
}
op_LOOP : {
  // bpf_loop(nr_loops, callback, ctx, flags): the callback runs in a new
  // frame with r1 = index and r2 = ctx, once per index until it returns
  // non-zero (the verifier allows 0 and 1); r0 = the iterations run. The
  // callback's exit (op_EXIT) starts the next one.
  const uint32_t count = static_cast<uint32_t>(reg[1]);
  if (reg[4] != 0) {
    reg[0] = static_cast<uint64_t>(-EINVAL);
    NEXT();
  }
  if (count > helpers::kMaxLoops) {
    reg[0] = static_cast<uint64_t>(-E2BIG);
    NEXT();
  }
  if (count == 0) {
    reg[0] = 0;
    NEXT();
  }
  const uint64_t target = reg[2];
  if (!is_slot_address(target, code, code_len)) goto bad_callback; // only unverified code gets here
  if (depth + 1 >= kMaxCallFrames) goto too_deep;
  frames[depth] = {pc + 1, {reg[6], reg[7], reg[8], reg[9]}, reg[10],
                   reinterpret_cast<const Slot *>(static_cast<uintptr_t>(target)), reg[3], 0, count, {}};
  depth++;
  reg[10] -= kStackSize;
  reg[1] = 0;
  reg[2] = frames[depth - 1].loop_ctx;
  pc = frames[depth - 1].loop_callback;
  DISPATCH();
}
op_FOR_EACH : {
  // bpf_for_each_map_elem(map, callback, ctx, flags): the callback runs in
  // a new frame with (map, key, value, ctx) per element until it returns
  // non-zero; r0 = the elements visited. The walk stays in this frame.
  if (reg[4] != 0) {
    reg[0] = static_cast<uint64_t>(-EINVAL);
    NEXT();
  }
  const uint64_t target = reg[2];
  if (!is_slot_address(target, code, code_len)) goto bad_callback;
  if (depth + 1 >= kMaxCallFrames) goto too_deep;
  Frame &caller = frames[depth];
  caller = {pc + 1, {reg[6], reg[7], reg[8], reg[9]}, reg[10],
            reinterpret_cast<const Slot *>(static_cast<uintptr_t>(target)), reg[3], 0, 0, {}};
  if (const int64_t err = helpers::for_each_map_start(&caller.for_each, reg[1])) {
    caller.for_each.map = nullptr;
    reg[0] = static_cast<uint64_t>(err); // a map without for_each: only unverified code passes one
    NEXT();
  }
  if (!helpers::for_each_map_step(&caller.for_each)) {
    caller.for_each.map = nullptr;
    reg[0] = 0; // an empty map
    NEXT();
  }
  goto enter_for_each_callback;
}
enter_for_each_callback : {
  // frames[depth] holds the walk, at an element: call the callback with it.
  Frame &caller = frames[depth];
  depth++;
  reg[10] -= kStackSize;
  reg[1] = reinterpret_cast<uintptr_t>(caller.for_each.map);
  reg[2] = reinterpret_cast<uintptr_t>(caller.for_each.key);
  reg[3] = reinterpret_cast<uintptr_t>(caller.for_each.value);
  reg[4] = caller.loop_ctx;
  pc = caller.loop_callback;
  DISPATCH();
}
op_CALLX : {
  // The register holds either a subprogram's address (LD_IMM64 of a
  // BPF_PSEUDO_FUNC loads the address of its first slot, as the kernel's JIT
  // does) or, as in the conformance suite, a helper id.
  uint64_t target = DST;
  uintptr_t begin = reinterpret_cast<uintptr_t>(code);
  if (target - begin < code_len * sizeof(Slot) && (target - begin) % sizeof(Slot) == 0) {
    const Slot *callee = reinterpret_cast<const Slot *>(static_cast<uintptr_t>(target));
    if (depth + 1 >= kMaxCallFrames) goto too_deep;
    frames[depth] = {pc + 1, {reg[6], reg[7], reg[8], reg[9]}, reg[10], nullptr, 0, 0, 0, {}};
    depth++;
    reg[10] -= kStackSize;
    pc = callee;
    DISPATCH();
  }
  const helpers::HelperProto *helper = target <= INT32_MAX ? helpers::find_helper(static_cast<int32_t>(target)) : nullptr;
  if (!helper || !helper->fn) { // not a helper, or one the VM runs itself (tail call)
    result.err = -EINVAL;
    result.error = "callx: r" + std::to_string(pc->dst) + " = " + std::to_string(target) +
                   " is neither a subprogram nor a helper";
    goto done;
  }
  reg[0] = helper->fn(reg[1], reg[2], reg[3], reg[4], reg[5]);
  NEXT();
}
op_CALL_LOCAL:
  if (depth + 1 >= kMaxCallFrames) goto too_deep;
  frames[depth] = {pc + 1, {reg[6], reg[7], reg[8], reg[9]}, reg[10], nullptr, 0, 0, 0, {}};
  depth++;
  reg[10] -= kStackSize;
  pc += pc->off + 1;
  DISPATCH();
op_EXIT:
  if (depth == 0) {
    result.r0 = reg[0];
    goto done;
  }
  depth--;
  pc = frames[depth].return_to;
  reg[6] = frames[depth].callee_saved[0];
  reg[7] = frames[depth].callee_saved[1];
  reg[8] = frames[depth].callee_saved[2];
  reg[9] = frames[depth].callee_saved[3];
  reg[10] = frames[depth].frame_pointer;
  if (frames[depth].for_each.map) {
    // A bpf_for_each_map_elem callback returned: the next element, or the
    // helper's result (the elements visited, this one included).
    Frame &walk = frames[depth];
    walk.loop_index++;
    if (reg[0] == 0 && helpers::for_each_map_step(&walk.for_each)) goto enter_for_each_callback;
    walk.for_each.map = nullptr;
    reg[0] = walk.loop_index;
  } else if (frames[depth].loop_callback) {
    // A bpf_loop callback returned: the next index, or the helper's result
    // (the iterations run, this one included).
    Frame &loop = frames[depth];
    const uint32_t done = loop.loop_index + 1;
    if (reg[0] == 0 && done < loop.loop_count) {
      loop.loop_index = done;
      depth++;
      reg[10] -= kStackSize;
      reg[1] = done;
      reg[2] = loop.loop_ctx;
      pc = loop.loop_callback;
      DISPATCH();
    }
    reg[0] = done;
  }
  DISPATCH();

  // ---- legacy packet loads: r6 is the context; out of the packet the
  // current function returns 0 (the kernel's hidden "r0 = 0; exit").
#define USERBPF_VM_LD_PACKET(N, OFFSET, SIZE)                                                                        \
  op_##N : {                                                                                                         \
    const int64_t v = helpers::skb_ld_abs(reg[6], static_cast<int32_t>(OFFSET), SIZE);                              \
    if (v < 0) goto ld_packet_fault;                                                                                 \
    reg[0] = static_cast<uint64_t>(v);                                                                               \
    NEXT();                                                                                                          \
  }
  USERBPF_VM_LD_PACKET(LDABSW, pc->imm, 4)
  USERBPF_VM_LD_PACKET(LDABSH, pc->imm, 2)
  USERBPF_VM_LD_PACKET(LDABSB, pc->imm, 1)
  USERBPF_VM_LD_PACKET(LDINDW, SRC + pc->imm, 4)
  USERBPF_VM_LD_PACKET(LDINDH, SRC + pc->imm, 2)
  USERBPF_VM_LD_PACKET(LDINDB, SRC + pc->imm, 1)
#undef USERBPF_VM_LD_PACKET
ld_packet_fault:
  reg[0] = 0;
  goto op_EXIT;

bad_callback:
  result.err = -EINVAL;
  result.error = std::string(pc->imm == helpers::kLoopHelper ? "bpf_loop" : "bpf_for_each_map_elem") + ": r2 = " +
                 std::to_string(reg[2]) + " is not a subprogram";
  goto done;
too_deep:
  result.err = -E2BIG;
  result.error = "the call stack of " + std::to_string(depth + 2) + " frames is too deep (max " +
                 std::to_string(kMaxCallFrames) + ")";
  goto done;
out_of_budget:
  result.err = -ETIME;
  result.error = "instruction budget of " + std::to_string(budget) + " exhausted";
done:
  if constexpr (kBudget) result.executed = budget - remaining;
  if (tail_call_count) *tail_call_count = tail_calls;
  return result;
#undef DST
#undef SRC
#undef DISPATCH
#undef NEXT
#undef JUMP_IF
}

template <bool kBudget> const void *const *labels() {
  const void *const *table = nullptr;
  execute<kBudget>(nullptr, 0, 0, 0, 0, &table);
  return table;
}

void translate(const std::vector<Slot> &from, const void *const *from_labels, const void *const *to_labels,
               std::vector<Slot> *to) {
  *to = from;
  for (Slot &s : *to) {
    for (size_t i = 0; i < kNumLabels; i++)
      if (from_labels[i] == s.handler) {
        s.handler = to_labels[i];
        break;
      }
  }
}

} // namespace

void resolve_ld_imm64(Insn &insn, uint64_t value) {
  insn.imm64 = value;
  insn.pseudo = Pseudo::kNone;
}

Engine default_engine() { return jit_supported() ? Engine::kJit : Engine::kInterpreter; }

int Program::create(const DecodedProgram &decoded, std::unique_ptr<Program> *out, std::string *error,
                    const ProgramOptions &options) {
  std::unique_ptr<Program> prog(new Program());
  const void *const *table = labels<false>();
  const size_t n = decoded.insns.size();
  prog->slots_.resize(n);
  for (size_t pc = 0; pc < n; pc++) {
    const Insn &d = decoded.insns[pc];
    Slot &s = prog->slots_[pc];
    s.handler = table[static_cast<size_t>(d.op)];
    s.dst = d.dst;
    s.src = d.src;
    s.off = d.off;
    s.imm = static_cast<uint64_t>(static_cast<int64_t>(d.imm));
    if (d.ld_imm64_tail) continue;
    auto fail = [&](const std::string &why) {
      if (error) *error = "insn " + std::to_string(pc) + ": " + why;
      return -EINVAL;
    };
    switch (d.info().shape) {
    case Shape::kLdImm64:
      if (d.pseudo == Pseudo::kFunc)
        s.imm = 0; // filled below, once slots_ stops moving
      else if (d.pseudo != Pseudo::kNone)
        return fail("ld_imm64 with src_reg " + std::to_string(static_cast<int>(d.pseudo)) +
                    " was not resolved by the loader");
      else
        s.imm = d.imm64;
      break;
    case Shape::kJa32:
    case Shape::kCallLocal: s.off = d.imm; break;
    case Shape::kCall: {
      if (d.imm == kTailCallHelper) {
        s.handler = table[kTailCallLabel];
        break;
      }
      if (d.imm == helpers::kLoopHelper) {
        s.handler = table[kLoopLabel];
        break;
      }
      if (d.imm == helpers::kForEachMapElemHelper) {
        s.handler = table[kForEachLabel];
        break;
      }
      const helpers::HelperProto *h = helpers::find_helper(d.imm);
      if (!h) return fail("invalid func unknown#" + std::to_string(d.imm));
      s.imm = reinterpret_cast<uintptr_t>(helpers::helper_function(*h, options.prog_type));
      break;
    }
    case Shape::kAluImm:
    case Shape::kAluReg:
    case Shape::kNeg:
    case Shape::kEndian:
    case Shape::kLoad:
    case Shape::kStoreImm:
    case Shape::kStoreReg:
    case Shape::kAtomic:
    case Shape::kJa:
    case Shape::kJumpImm:
    case Shape::kJumpReg:
    case Shape::kCallReg:
    case Shape::kExit: break;
    case Shape::kLdAbs:
    case Shape::kLdInd:
      if (!ld_packet_fields_ok(d)) return fail("BPF_LD_[ABS|IND] uses reserved fields");
      break;
    }
  }
  for (size_t pc = 0; pc < n; pc++) {
    const Insn &d = decoded.insns[pc];
    if (!d.ld_imm64_tail && d.op == Op::LD_IMM64 && d.pseudo == Pseudo::kFunc)
      prog->slots_[pc].imm = reinterpret_cast<uintptr_t>(&prog->slots_[pc + 1 + d.imm]);
  }
  // The interpreter's form stays even with the JIT: budgeted runs use it,
  // and so does a tail call from the interpreter into a JITed program.
  if (options.engine == Engine::kJit) {
    JitOptions jit = options.jit;
    jit.prog_type = options.prog_type;
    if (int err = JitImage::compile(decoded, jit, &prog->jit_, error)) return err;
  }
  *out = std::move(prog);
  return 0;
}

void set_tail_call_resolver(TailCallResolver resolver) { g_tail_call_resolver.store(resolver); }

const Program *resolve_tail_call(uint64_t map, uint64_t index, uint32_t *count) {
  TailCallResolver resolve = g_tail_call_resolver.load(std::memory_order_relaxed);
  return resolve ? resolve(map, index, count) : nullptr;
}

RunResult run_tail_call_target_interpreted(const Program &target, uint64_t r1, uint32_t *count) {
  return execute<false>(target.slots(false).data(), target.size(), r1, 0, 0, nullptr, count);
}

const std::vector<Slot> &Program::slots(bool budgeted) const {
  if (!budgeted) return slots_;
  std::call_once(budgeted_once_, [this] {
    translate(slots_, labels<false>(), labels<true>(), &budgeted_slots_);
    // LD_IMM64 of a function holds an address inside slots_: rebase it.
    uintptr_t from = reinterpret_cast<uintptr_t>(slots_.data());
    uintptr_t to = reinterpret_cast<uintptr_t>(budgeted_slots_.data());
    for (Slot &s : budgeted_slots_)
      if (s.imm - from < slots_.size() * sizeof(Slot) && s.handler == labels<true>()[static_cast<size_t>(Op::LD_IMM64)])
        s.imm = s.imm - from + to;
  });
  return budgeted_slots_;
}

RunResult Program::run_under_rcu(uint64_t r1, uint64_t r2) const {
  if (jit_) return jit_->run(r1, r2);
  return execute<false>(slots_.data(), slots_.size(), r1, r2, 0, nullptr);
}

RunResult Program::run(uint64_t r1, uint64_t r2, uint64_t budget) const {
  // Programs run inside an RCU read-side section, as in the kernel: map
  // values a helper returns stay valid until the program ends.
  RcuReadGuard guard;
  if (budget == 0) return run_under_rcu(r1, r2);
  const std::vector<Slot> &budgeted = slots(true);
  return execute<true>(budgeted.data(), budgeted.size(), r1, r2, budget, nullptr);
}

} // namespace userbpf::vm
