// Control-flow stages: subprogram boundaries, reachability and loops
// (the kernel's check_subprogs + check_cfg), static register liveness (used
// by state pruning), and the stack depth along call chains.
#include <algorithm>
#include <cerrno>
#include <functional>

#include "helpers/helpers.h"
#include "verifier/env.h"

namespace userbpf::verifier {

using vm::Op;
using vm::Shape;

namespace {

bool is_cond_jump(const vm::Insn &insn) {
  Shape s = insn.info().shape;
  return s == Shape::kJumpImm || s == Shape::kJumpReg;
}
bool is_uncond_jump(const vm::Insn &insn) {
  Shape s = insn.info().shape;
  return s == Shape::kJa || s == Shape::kJa32;
}
bool is_func_ref(const vm::Insn &insn) {
  return insn.op == Op::CALL_LOCAL || (insn.op == Op::LD_IMM64 && insn.pseudo == vm::Pseudo::kFunc);
}
// Instructions occupy one slot except LD_IMM64 (two).
size_t insn_slots(const vm::Insn &insn) { return insn.op == Op::LD_IMM64 ? 2 : 1; }

int find_subprogs(Env &env) {
  std::vector<uint32_t> starts{0};
  for (size_t pc = 0; pc < env.size(); pc++) {
    const vm::Insn &insn = env.insn(pc);
    if (insn.ld_imm64_tail || !is_func_ref(insn)) continue;
    if (!env.options.privilege.bpf_capable) {
      env.log.printf("function calls to other bpf functions are allowed for CAP_BPF and CAP_SYS_ADMIN\n");
      return -EPERM;
    }
    starts.push_back(static_cast<uint32_t>(insn.jump_target(pc)));
  }
  std::sort(starts.begin(), starts.end());
  starts.erase(std::unique(starts.begin(), starts.end()), starts.end());
  env.subprogs.clear();
  for (size_t i = 0; i < starts.size(); i++) {
    Subprog sp;
    sp.start = starts[i];
    sp.end = i + 1 < starts.size() ? starts[i + 1] : static_cast<uint32_t>(env.size());
    env.subprogs.push_back(sp);
  }
  // Jumps stay inside their subprogram; each subprogram ends in exit or ja.
  for (const Subprog &sp : env.subprogs) {
    for (uint32_t pc = sp.start; pc < sp.end; pc++) {
      const vm::Insn &insn = env.insn(pc);
      if (insn.ld_imm64_tail) continue;
      if (is_cond_jump(insn) || is_uncond_jump(insn)) {
        int64_t target = insn.jump_target(pc);
        if (target < sp.start || target >= sp.end) {
          env.log.printf("jump out of range from insn %u to %lld\n", pc, static_cast<long long>(target));
          return -EINVAL;
        }
      }
    }
    const vm::Insn &last = env.insn(sp.end - 1);
    if (last.op != Op::EXIT && !is_uncond_jump(last)) {
      env.log.printf("last insn is not an exit or jmp\n");
      return -EINVAL;
    }
  }
  return 0;
}

} // namespace

uint32_t Env::subprog_of(uint32_t pc) const {
  auto it = std::upper_bound(subprogs.begin(), subprogs.end(), pc,
                             [](uint32_t p, const Subprog &sp) { return p < sp.start; });
  return static_cast<uint32_t>(it - subprogs.begin() - 1);
}

int check_cfg(Env &env) {
  if (int err = find_subprogs(env)) return err;
  const size_t n = env.size();
  env.prune_point.assign(n, 0);
  env.calls_callback.assign(n, 0);
  // Depth-first walk; state 1 = on the walk's stack, 2 = done. An edge back
  // to an instruction on the stack is a loop.
  std::vector<uint8_t> state(n, 0);
  struct Item { uint32_t pc; uint8_t next_edge; };
  std::vector<Item> stack;
  auto successors = [&](uint32_t pc, uint32_t out[3]) -> int {
    const vm::Insn &insn = env.insn(pc);
    int k = 0;
    if (insn.op == Op::EXIT) return 0;
    if (is_uncond_jump(insn)) {
      out[k++] = static_cast<uint32_t>(insn.jump_target(pc));
      return k;
    }
    out[k++] = static_cast<uint32_t>(pc + insn_slots(insn));
    if (is_cond_jump(insn) || is_func_ref(insn)) out[k++] = static_cast<uint32_t>(insn.jump_target(pc));
    return k;
  };
  stack.push_back({0, 0});
  state[0] = 1;
  while (!stack.empty()) {
    Item &top = stack.back();
    uint32_t succ[3];
    int count = successors(top.pc, succ);
    if (top.next_edge >= count) {
      state[top.pc] = 2;
      stack.pop_back();
      continue;
    }
    uint32_t from = top.pc, to = succ[top.next_edge++];
    if (state[to] == 1) {
      if (!env.options.privilege.bpf_capable) {
        env.log.printf("back-edge from insn %u to %u\n", from, to);
        return -EINVAL;
      }
    } else if (state[to] == 0) {
      state[to] = 1;
      stack.push_back({to, 0});
    }
  }
  for (size_t pc = 0; pc < n; pc++) {
    if (state[pc] == 0 && !env.insn(pc).ld_imm64_tail) {
      env.log.printf("unreachable insn %zu\n", pc);
      return -EINVAL;
    }
  }
  // Prune points, as the kernel marks them: conditional jumps, targets of
  // unconditional jumps, the return point of calls.
  for (size_t pc = 0; pc < n; pc++) {
    const vm::Insn &insn = env.insn(pc);
    if (insn.ld_imm64_tail) continue;
    if (is_cond_jump(insn)) {
      env.prune_point[pc] = 1;
      env.prune_point[static_cast<size_t>(insn.jump_target(pc))] = 1; // branch targets too (push_insn)
    }
    if (is_uncond_jump(insn)) env.prune_point[static_cast<size_t>(insn.jump_target(pc))] = 1;
    if (insn.op == Op::CALL_LOCAL || insn.op == Op::CALL || insn.op == Op::CALLX) {
      if (pc + 1 < n) env.prune_point[pc + 1] = 1;
    }
    // A helper that runs a callback: its iterations return to the call
    // (mark_calls_callback), where they are compared and converge.
    if (insn.op == Op::CALL && (insn.imm == helpers::kLoopHelper || insn.imm == helpers::kForEachMapElemHelper)) {
      env.prune_point[pc] = 1;
      env.calls_callback[pc] = 1;
    }
  }
  return 0;
}

void compute_liveness(Env &env) {
  const size_t n = env.size();
  std::vector<uint16_t> use(n, 0), def(n, 0);
  constexpr uint16_t kArgs = 0x3e;    // r1..r5
  constexpr uint16_t kCallerSaved = 0x3f; // r0..r5
  for (size_t pc = 0; pc < n; pc++) {
    const vm::Insn &insn = env.insn(pc);
    if (insn.ld_imm64_tail) continue;
    auto bit = [](int r) { return static_cast<uint16_t>(1u << r); };
    switch (insn.info().shape) {
    case Shape::kAluImm: use[pc] = insn.op == Op::MOV64_IMM || insn.op == Op::MOV32_IMM ? 0 : bit(insn.dst); def[pc] = bit(insn.dst); break;
    case Shape::kAluReg:
      use[pc] = bit(insn.src);
      if (!(insn.op == Op::MOV64_REG || insn.op == Op::MOV32_REG || insn.info().opcode == 0xbf || insn.info().opcode == 0xbc))
        use[pc] |= bit(insn.dst);
      def[pc] = bit(insn.dst);
      break;
    case Shape::kNeg: case Shape::kEndian: use[pc] = def[pc] = bit(insn.dst); break;
    case Shape::kLdImm64: def[pc] = bit(insn.dst); break;
    case Shape::kLoad: use[pc] = bit(insn.src); def[pc] = bit(insn.dst); break;
    case Shape::kStoreImm: use[pc] = bit(insn.dst); break;
    case Shape::kStoreReg: use[pc] = bit(insn.dst) | bit(insn.src); break;
    case Shape::kAtomic:
      use[pc] = bit(insn.dst) | bit(insn.src);
      if (insn.op == Op::ATOMIC_CMPXCHG64 || insn.op == Op::ATOMIC_CMPXCHG32) { use[pc] |= 1; def[pc] = 1; }
      else if (insn.imm & vm::kAtomicFetch) def[pc] = bit(insn.src);
      break;
    case Shape::kJa: case Shape::kJa32: break;
    case Shape::kJumpImm: use[pc] = bit(insn.dst); break;
    case Shape::kJumpReg: use[pc] = bit(insn.dst) | bit(insn.src); break;
    case Shape::kCall: case Shape::kCallLocal: use[pc] = kArgs; def[pc] = kCallerSaved; break;
    case Shape::kCallReg: use[pc] = kArgs | bit(insn.dst); def[pc] = kCallerSaved; break;
    case Shape::kExit: use[pc] = 1; break;
    // The kernel's rewrite is a helper call on r6 (and src): r0-r5 clobbered.
    case Shape::kLdAbs: use[pc] = bit(6); def[pc] = kCallerSaved; break;
    case Shape::kLdInd: use[pc] = bit(6) | bit(insn.src); def[pc] = kCallerSaved; break;
    }
    use[pc] |= bit(vm::kFrameReg);
  }
  // Backward fixed point over the intra-procedural edges.
  env.live_in.assign(n, 0);
  bool changed = true;
  while (changed) {
    changed = false;
    for (size_t i = n; i-- > 0;) {
      const vm::Insn &insn = env.insn(i);
      if (insn.ld_imm64_tail) continue;
      uint16_t out = 0;
      Shape s = insn.info().shape;
      if (s != Shape::kExit) {
        if (s == Shape::kJa || s == Shape::kJa32) {
          out = env.live_in[static_cast<size_t>(insn.jump_target(i))];
        } else {
          size_t next = i + insn_slots(insn);
          if (next < n) out = env.live_in[next];
          if (s == Shape::kJumpImm || s == Shape::kJumpReg) out |= env.live_in[static_cast<size_t>(insn.jump_target(i))];
        }
      }
      uint16_t in = static_cast<uint16_t>(use[i] | (out & ~def[i]));
      if (in != env.live_in[i]) {
        env.live_in[i] = in;
        changed = true;
      }
    }
  }
}

int check_max_stack_depth(Env &env) {
  // Every frame is rounded up to 16 bytes (round_up_stack_depth with the JIT
  // requested, as programs are here) and the frames of each call chain
  // together get at most 512 bytes.
  const size_t count = env.subprogs.size();
  std::vector<std::vector<uint32_t>> callees(count);
  for (size_t i = 0; i < count; i++) {
    for (uint32_t pc = env.subprogs[i].start; pc < env.subprogs[i].end; pc++) {
      const vm::Insn &insn = env.insn(pc);
      // A callback's address counts as a call from the function that takes
      // it (check_max_stack_depth follows BPF_PSEUDO_FUNC too): the helper
      // runs it on top of that function's frame.
      if (!insn.ld_imm64_tail && is_func_ref(insn))
        callees[i].push_back(env.subprog_of(static_cast<uint32_t>(insn.jump_target(pc))));
    }
  }
  auto frame_size = [&](uint32_t sp) { return (env.subprogs[sp].stack_depth + 15) & ~15u; };
  // Longest chain from the main program (the call graph is acyclic: the
  // analysis rejects recursion).
  std::vector<int64_t> memo(count, -1);
  std::vector<int> frames_of(count, 1); // frames in the deepest chain from each subprogram
  std::vector<uint8_t> on_path(count, 0);
  std::function<int64_t(uint32_t, int)> depth = [&](uint32_t sp, int frames) -> int64_t {
    if (memo[sp] >= 0) return memo[sp];
    if (on_path[sp] || frames > vm::kMaxCallFrames) return frame_size(sp); // recursion was rejected earlier
    on_path[sp] = 1;
    int64_t deepest = 0;
    for (uint32_t c : callees[sp]) {
      int64_t d = depth(c, frames + 1);
      if (d > deepest) {
        deepest = d;
        frames_of[sp] = frames_of[c] + 1;
      }
    }
    on_path[sp] = 0;
    return memo[sp] = frame_size(sp) + deepest;
  };
  // Frames in the longest call chain from the main program. The analysis
  // stops static chains at 8 frames, but a global function is verified on its
  // own (as frame 0): only this walk sees a chain through it, or a global
  // that calls itself (check_max_stack_depth_subprog's frame count).
  constexpr int kTooDeep = vm::kMaxCallFrames + 1;
  std::vector<int> chain_frames(count, -1);
  std::fill(on_path.begin(), on_path.end(), 0);
  std::function<int(uint32_t)> frames_from = [&](uint32_t sp) -> int {
    if (on_path[sp]) return kTooDeep; // a cycle: unbounded at run time
    if (chain_frames[sp] >= 0) return chain_frames[sp];
    on_path[sp] = 1;
    int deepest = 0;
    for (uint32_t c : callees[sp]) deepest = std::max(deepest, std::min(frames_from(c), kTooDeep));
    on_path[sp] = 0;
    return chain_frames[sp] = std::min(deepest + 1, kTooDeep);
  };
  if (frames_from(0) > vm::kMaxCallFrames) {
    env.log.printf("the call stack of %d frames is too deep !\n", vm::kMaxCallFrames);
    return -E2BIG;
  }
  int64_t total = depth(0, 1);
  if (total > vm::kStackSize) {
    env.log.printf("combined stack size of %d calls is %lld. Too large\n", frames_of[0], static_cast<long long>(total));
    return -EACCES;
  }
  return 0;
}

} // namespace userbpf::verifier
