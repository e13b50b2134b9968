// The shared header of every userbpf object (map, program, link, BTF).
//
// Every object is one region: a file in the object store (src/object/store.h)
// that each process using the object maps (maps, BTF) or reads a copy of
// (programs: see kind_is_mapped()). Page 0 holds this header; the
// object's data starts at data_offset. All fields are plain data or atomics,
// valid in every process. refs, dead and next_handle change only under the
// store lock, through the file or a mapping of it.
//
// Lifetimes follow the kernel's: an object lives while it has users (open
// handles and pins: the kernel's usercnt) or references from other objects
// (a program's maps: the rest of the kernel's refcnt). Handles are real fds;
// see src/object/handle.h for how their last close is seen.
#pragma once

#include <atomic>
#include <cstdint>
#include <linux/bpf.h>

namespace userbpf {

constexpr uint64_t kObjectMagic = 0x3146504252455355ull; // "USERBPF1"
constexpr uint32_t kObjectVersion = 4;
constexpr uint64_t kPageSize = 4096;
constexpr uint64_t kHeaderSize = kPageSize;

enum class ObjectKind : uint32_t { kMap = 1, kProg = 2, kLink = 3, kBtf = 4 };

// What the kernel keeps in struct bpf_map that user space can see
// (BPF_OBJ_GET_INFO_BY_FD) or that ops need.
struct MapHeader {
  uint32_t map_type;
  uint32_t key_size;
  uint32_t value_size;
  uint32_t max_entries;
  uint32_t map_flags;
  uint32_t numa_node;
  uint32_t ifindex;
  uint32_t btf_id;           // BTF object the map holds a reference on (0: none)
  uint32_t btf_key_type_id;
  uint32_t btf_value_type_id;
  uint32_t btf_vmlinux_value_type_id;
  uint32_t has_spin_lock;   // value carries a struct bpf_spin_lock (BTF); BPF_F_LOCK needs it
  uint64_t map_extra;
  char name[BPF_OBJ_NAME_LEN];
};

// The kernel's MAX_USED_MAPS: maps one program may use.
constexpr uint32_t kMaxUsedMaps = 64;

// What the kernel keeps in struct bpf_prog / bpf_prog_aux that user space can
// see (BPF_OBJ_GET_INFO_BY_FD) or that a process needs to run the program.
// The data area holds the accepted instructions (insn_cnt struct bpf_insn) in
// the kernel's "xlated" dump form: an LD_IMM64 of a map carries the map's id
// (src BPF_PSEUDO_MAP_FD, or BPF_PSEUDO_MAP_VALUE with the offset in the
// second slot), never a process pointer, so any process can rebuild the
// program against its own views of the maps.
struct ProgHeader {
  uint32_t prog_type;
  uint32_t expected_attach_type;
  uint32_t prog_flags;
  uint32_t gpl_compatible;
  uint32_t insn_cnt;        // instructions in the data area
  uint32_t verified_insns;  // instructions the verifier processed
  uint32_t stack_depth;     // main program's stack, bytes
  uint32_t nr_map_ids;
  char name[BPF_OBJ_NAME_LEN];
  uint8_t tag[BPF_TAG_SIZE]; // bpf_prog_calc_tag(): SHA-256 of the loaded instructions, map fds zeroed
  // The maps this program holds a reference on (ObjectHeader::refs of each),
  // dropped when the program is released.
  uint32_t map_ids[kMaxUsedMaps];
  uint32_t max_ctx_offset;  // end of the furthest context byte the program accesses
  // prog_btf_fd's BTF object (0: none), on which the program holds a
  // reference, and its func_info / line_info records, kept in the data area
  // after the instructions (bpf_func_info, then bpf_line_info).
  uint32_t btf_id;
  uint32_t nr_func_info;
  uint32_t nr_line_info;
};

// What the kernel keeps in struct btf that user space can see
// (BPF_OBJ_GET_INFO_BY_FD). The data area holds the blob as loaded; whoever
// needs the types parses it again (src/btf).
struct BtfHeader {
  uint32_t btf_size;   // bytes of the blob in the data area
  uint32_t kernel_btf; // always 0: userbpf has no kernel or module BTF
};

struct ObjectHeader {
  uint64_t magic;
  uint32_t version;
  ObjectKind kind;
  uint32_t id;               // the kernel's object id (MAP_GET_NEXT_ID & co)
  uint32_t owner_uid;
  uint64_t region_size;      // size of the whole file
  uint64_t data_offset;      // start of the object's data: page-aligned where mapped, else kCopiedDataOffset
  uint64_t data_size;        // bytes of data (before page rounding)
  uint64_t committed;        // bytes of data backed by memory so far
  uint64_t charged_bytes;    // what this object charged to RLIMIT_MEMLOCK
  uint64_t create_time_ns;   // CLOCK_BOOTTIME at creation (as prog load_time)

  std::atomic<uint64_t> next_handle;   // handle ids; see handle.h
  std::atomic<uint32_t> refs;          // references held by other objects (a program's maps)
  std::atomic<uint32_t> frozen;        // BPF_MAP_FREEZE done
  std::atomic<uint32_t> dead;          // released: no new handles may be made
  std::atomic<uint32_t> commit_lock;   // spin lock for map_commit()
  uint32_t region_in_xattr;            // the region lives in kRegionXattr, not the file's data (store.h)
  // Set by every process that maps the region other than its creator's first
  // view (map_object()): such a file is never recycled (handle.cpp).
  std::atomic<uint32_t> mapped_elsewhere;

  union {
    MapHeader map;
    ProgHeader prog;
    BtfHeader btf;
    uint8_t reserved[512];
  };
};
static_assert(sizeof(ProgHeader) <= 512, "ProgHeader must fit the header's union");
static_assert(sizeof(ObjectHeader) <= kHeaderSize, "header must fit in page 0");

// Objects read as private copies (not mapped) need no page alignment: their
// data follows the header, cache-line aligned, and the file is no larger
// than what it holds.
constexpr uint64_t kCopiedDataOffset = (sizeof(ObjectHeader) + 63) & ~uint64_t{63};
static_assert(std::atomic<uint64_t>::is_always_lock_free, "shared atomics must be lock free");

} // namespace userbpf
