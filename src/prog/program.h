// Programs: the object BPF_PROG_LOAD creates once the verifier has accepted
// the instructions (the kernel's struct bpf_prog).
//
// A program is an object of kind kProg in the same store as maps (see
// src/object): one region whose header holds a ProgHeader (type, attach type,
// name, license verdict, the ids of the maps it uses) and whose data area
// holds the accepted instructions in the kernel's xlated dump form (map
// references by id, not by pointer), so every process sees the same program.
// The program holds a reference (ObjectHeader::refs) on each of its maps,
// taken at load and dropped when the program is released, so a map lives at
// least as long as a program using it (kernel: prog->aux->used_maps).
//
// The run-time side is per process and built lazily (prog_runtime()): decode
// the stored instructions, resolve each map id to this process's view of the
// map (Object::map, the pointer helpers take; the view is held as long as
// the run-time form lives), and translate with vm::Program::create(): JIT
// compiled by default on x86-64 (runtime_program_options()).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "object/handle.h"
#include "object/object.h"
#include "verifier/verifier.h"
#include "vm/interpreter.h"
#include "vm/isa.h"

namespace userbpf {

// How the loader's privilege is chosen for the whole process
// (include/userbpf/userbpf.hpp): the verifier's capability set.
verifier::Privilege loader_verifier_privilege();

// Everything a program object records, decided by BPF_PROG_LOAD.
struct ProgSpec {
  uint32_t prog_type = 0;
  uint32_t expected_attach_type = 0;
  uint32_t prog_flags = 0;
  bool gpl_compatible = false;
  char name[BPF_OBJ_NAME_LEN] = {};
  uint8_t tag[BPF_TAG_SIZE] = {};
  std::vector<vm::RawInsn> insns; // xlated dump form (see xlated_dump_form)
  uint32_t verified_insns = 0;
  uint32_t stack_depth = 0;
  uint32_t max_ctx_offset = 0; // the verifier's (test runs of raw tracepoint / syscall programs check it)
  // This process's views of the maps the program uses, each once (the
  // loader's handles keep them). The caller took one reference on each
  // (ObjectHeader::refs); a created program owns them from then on, and its
  // view keeps the views until it is freed (object_view_hold).
  std::vector<Object *> maps;
  // prog_btf_fd's BTF object (0: none; referenced as the maps are) and the
  // checked func_info / line_info records.
  uint32_t btf_id = 0;
  std::vector<struct bpf_func_info> func_info;
  std::vector<struct bpf_line_info> line_info;
};

// Create the program object and its first handle (O_CLOEXEC, read-write).
// Returns the fd or -errno; on failure the map references stay the caller's.
int prog_create(const ProgSpec &spec);

// What the loader knows of one LD_IMM64 map reference: the map's id for the
// LD_IMM64 at slot `pc` of the loaded instructions, or 0 if it names no map.
using MapIdAt = std::function<uint32_t(size_t pc)>;

// The instructions a program object keeps: the verifier's accepted program,
// with every map LD_IMM64 in the kernel's dump form (src BPF_PSEUDO_MAP_FD and
// imm = map id; BPF_PSEUDO_MAP_VALUE with imm = map id and the value offset in
// the second slot). `raw` is what the user loaded: LD_IMM64 slots come from
// it (their pseudo source and offsets as written); every other slot comes
// from the accepted program, so rewrites the verifier made are kept.
std::vector<vm::RawInsn> xlated_dump_form(const vm::RawInsn *raw, size_t count,
                                          const vm::DecodedProgram &accepted, const MapIdAt &map_id_at);

// The kernel's program tag (bpf_prog_calc_tag): the first 8 bytes of the
// SHA-256 (6.18; SHA-1 before the signed-programs work) of the instructions as loaded, with the imm of every map LD_IMM64
// (BPF_PSEUDO_MAP_FD / BPF_PSEUDO_MAP_VALUE, both slots) zeroed, since fds
// differ from load to load.
void prog_calc_tag(const vm::RawInsn *insns, size_t count, uint8_t tag[BPF_TAG_SIZE]);

// The stored instructions of a program object (this process's view).
const vm::RawInsn *prog_runtime_insns(const ObjectHeader &hdr, uint32_t *count);
// Its func_info and line_info records (hdr.prog.nr_func_info / nr_line_info).
const struct bpf_func_info *prog_func_info(const ObjectHeader &hdr);
const struct bpf_line_info *prog_line_info(const ObjectHeader &hdr);

// How this process's run-time forms are built: the engine and constant
// blinding chosen with include/userbpf/userbpf.hpp (or the environment).
vm::ProgramOptions runtime_program_options();

// This process's runnable form of a program object (obj.kind == kProg),
// built on first use and kept with the object's view. nullptr with *err
// (-EINVAL: not a program or instructions that no longer translate;
// -ENOENT: a map it uses is gone, which its references should prevent).
// Valid while the caller holds the view (a handle inside an RcuReadGuard).
const vm::Program *prog_runtime(Object &obj, int *err);

} // namespace userbpf
