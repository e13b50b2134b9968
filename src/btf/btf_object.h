// BTF objects: what BPF_BTF_LOAD creates (the kernel's struct btf behind an
// fd), and the BTF rules map creation and program loading apply with them.
//
// A BTF object is an object of kind kBtf in the store: its data area holds
// the validated blob. Maps and programs that name a BTF object hold a
// reference on it (ObjectHeader::refs), dropped when they are released, as
// the kernel's map->btf and prog->aux->btf.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "btf/btf.h"
#include "object/handle.h"

namespace userbpf {

// Store a validated blob as a new BTF object. Its first handle's fd (read-only
// as the kernel's anon inode "btf"), or -errno. The parse is remembered for
// btf_of(): the maps and programs created next name this BTF.
int btf_object_create(std::shared_ptr<const btf::Btf> btf);

// btf_get_by_fd(): the BTF object behind fd (-EBADF: no fd; -EINVAL: not BTF).
// Call inside an RcuReadGuard.
const Handle *btf_handle(int fd, int *err);

// The stored blob of a BTF object, parsed (it was valid at load); nullptr if
// obj is not BTF. A loader names one BTF in every map and program of an
// object file, so this process keeps its last few parses and hands the same
// one back for the same bytes instead of validating the blob once per map.
std::shared_ptr<const btf::Btf> btf_of(const Object &obj);

// map_check_btf(): the key and value type ids of BPF_MAP_CREATE against the
// map's sizes (-EINVAL on any mismatch). `array_like` maps accept a keyless
// BTF for a global data section (.data/.rodata/.bss: one element, value a
// DATASEC), and need a 4-byte int key otherwise.
int btf_check_map_types(const btf::Btf &btf, uint32_t map_type, uint32_t key_size, uint32_t value_size,
                        uint32_t max_entries, uint32_t key_type_id, uint32_t value_type_id);

// check_btf_func_early() + check_btf_func() + check_btf_line() of
// BPF_PROG_LOAD: func_info and line_info records against the program's
// instructions and its BTF. Records are read from the caller's memory one
// at a time through `read` (copy_from_user: 0 or -EFAULT). On error: -errno,
// the verifier's message in *log, and for a record with non-zero bytes past
// what the kernel knows (E2BIG) the record size to tell the loader in
// *func_rec_size_hint or *line_rec_size_hint (else left 0).
struct ProgBtfInput {
  const struct bpf_insn *insns;
  uint32_t insn_cnt;
  uint32_t func_info_rec_size, func_info_cnt;
  uint64_t func_info; // user address
  uint32_t line_info_rec_size, line_info_cnt;
  uint64_t line_info; // user address
  std::function<int(uint64_t addr, void *dst, size_t n)> read;
};
struct ProgBtfInfo {
  std::vector<struct bpf_func_info> func_info; // the kernel's form: insn_off, type_id
  std::vector<struct bpf_line_info> line_info;
  uint32_t func_rec_size_hint = 0;
  uint32_t line_rec_size_hint = 0;
};
int btf_check_prog_info(const btf::Btf &btf, const ProgBtfInput &in, ProgBtfInfo *out, std::string *log);

// Start instructions of the program's functions (main first), as the
// verifier's check_subprogs() finds them: call and ld_imm64 func targets.
std::vector<uint32_t> subprog_starts(const struct bpf_insn *insns, uint32_t insn_cnt);

} // namespace userbpf
