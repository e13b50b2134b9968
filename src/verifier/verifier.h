// The verifier: decides, before a program exists, whether it is safe to run,
// with the Linux kernel's verdicts (kernel/bpf/verifier.c is the
// specification; its rules, limits, error codes and log wording are followed).
//
// Pipeline (each stage its own file):
//   decode (vm/decoder)      opcodes, reserved fields, jump targets
//   resolve_maps             LD_IMM64 map fds -> map descriptions (MapResolver)
//   cfg.cpp                  subprograms, reachability, every path ends in exit
//   analysis.cpp             path-by-path abstract interpretation of registers
//                            and stack (types, tnum + 32/64-bit signed and
//                            unsigned ranges, scalar.h), with state pruning
//   prog_types.cpp           context layout and allowed helpers per program type
//
// The caller (BPF_PROG_LOAD in src/syscall, the CLI, the conformance plugin)
// gets the verdict, the kernel-style log and, when accepted, the program with
// its LD_IMM64 pseudo sources resolved to run-time values.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "vm/decoder.h"

namespace userbpf::btf {
class Btf;
}

namespace userbpf::verifier {

// One func_info record (struct bpf_func_info): the subprogram starting at
// insn_off is described by BTF FUNC type_id.
struct FuncInfo {
  uint32_t insn_off = 0;
  uint32_t type_id = 0;
};

// What the verifier knows of a map that an LD_IMM64 names (BPF_PSEUDO_MAP_FD,
// BPF_PSEUDO_MAP_VALUE, or their fd_array forms).
struct MapInfo {
  uint32_t type = 0;
  uint32_t key_size = 0;
  uint32_t value_size = 0;
  uint32_t max_entries = 0;
  uint32_t map_flags = 0;
  uint32_t id = 0;
  bool frozen = false;        // BPF_MAP_FREEZE done (read-only .rodata is "known constant")
  uint64_t runtime_ptr = 0;   // what LD_IMM64 of the map loads (the Map view the helpers take)
  uint64_t value_base = 0;    // address of the first value (direct-value arrays), else 0
};

// Finds the map behind an fd: 0 and *out, or a negative errno (-EBADF for an
// fd that is not a map, as the kernel's "fd %d is not pointing to valid bpf_map").
using MapResolver = std::function<int(int fd, MapInfo *out)>;

// The loader's capabilities, as the kernel derives them from CAP_BPF,
// CAP_PERFMON and CAP_SYS_ADMIN (bpf_check: allow_ptr_leaks,
// bypass_spec_v1/v4, allow_uninit_stack, bpf_capable).
struct Privilege {
  bool bpf_capable = true;        // CAP_BPF: bounded loops, >4096 insns, bpf-to-bpf calls...
  bool allow_ptr_leaks = true;    // CAP_PERFMON: pointers may reach maps/r0, pointer comparisons
  bool allow_uninit_stack = true; // CAP_PERFMON: reads of uninitialized stack
  bool bypass_spec_v1 = true;     // CAP_PERFMON: no exploration of mispredicted branches
  bool bypass_spec_v4 = true;     // CAP_PERFMON

  static Privilege privileged() { return {}; }
  // CAP_BPF without CAP_PERFMON / CAP_SYS_ADMIN.
  static Privilege unprivileged() { return {true, false, false, false, false}; }
};

struct Options {
  uint32_t prog_type = 0;            // enum bpf_prog_type
  uint32_t expected_attach_type = 0; // enum bpf_attach_type
  uint32_t prog_flags = 0;           // BPF_F_STRICT_ALIGNMENT, BPF_F_ANY_ALIGNMENT, ...
  bool gpl_compatible = false;       // license allows GPL-only helpers
  Privilege privilege;
  uint32_t log_level = 0;            // BPF_LOG_LEVEL1 | BPF_LOG_LEVEL2 | BPF_LOG_STATS
  // BPF_PSEUDO_MAP_IDX / MAP_IDX_VALUE: the fds behind attr.fd_array. Either
  // read_fd_array (reads entry idx: 0 or a negative errno such as -EFAULT)
  // or, when it is not set, the vector (entries past its end: -EFAULT).
  std::function<int(uint32_t idx, int *fd)> read_fd_array;
  std::vector<int> fd_array;
  // kProgTypeMemory (prog_types.h) only: the bytes r1 points to.
  uint32_t ctx_mem_size = 0;
  // The program's BTF (prog_btf_fd) and its func_info, one record per
  // subprogram in order, already checked against the instructions
  // (btf_check_prog_info). A subprogram whose BTF FUNC has BTF_FUNC_GLOBAL
  // linkage is verified on its own, from its prototype, as the kernel does;
  // without them every subprogram is static. btf must outlive verify().
  const btf::Btf *btf = nullptr;
  std::vector<FuncInfo> func_info;
};

struct Result {
  // 0 (accepted), or the kernel's negative errno: -EINVAL (malformed or
  // rejected by a structural rule), -EACCES (an access the rules forbid),
  // -E2BIG (too large / too complex), -EBADF (bad map fd), -ENOTSUPP...
  int err = 0;
  std::string log;                 // the final log; the caller applies log_size
  size_t log_len_max = 0;          // the longest the log ever was (level 1 drops finished paths'
                                   // traces; ENOSPC is decided on this, as 6.18's len_max)
  vm::DecodedProgram program;      // accepted: LD_IMM64 resolved (maps, values, funcs)
  std::vector<MapInfo> used_maps;  // each map once, in order of first use
  uint32_t verified_insns = 0;     // instructions processed (bpf_prog_info.verified_insns)
  uint32_t stack_depth = 0;        // deepest stack of the main program, in bytes
  uint32_t max_ctx_offset = 0;     // end of the furthest context byte accessed (aux->max_ctx_offset)
};

Result verify(const vm::RawInsn *insns, size_t count, const Options &options, const MapResolver &maps);

} // namespace userbpf::verifier
