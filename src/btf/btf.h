// BTF (BPF Type Format): the parser and validator behind BPF_BTF_LOAD, and the
// queries map creation and program loading make on a loaded BTF object.
//
// Btf::parse() checks a raw blob as the kernel's btf_parse() does
// (kernel/bpf/btf.c): the header, the section layout, the string section,
// every type's own rules (pass 1, "check_meta"), then resolution of every
// type that refers to others (pass 2: sizes, loops, depth) and the function
// prototypes, with the kernel's errno and the kernel's log lines. The input
// is untrusted (fuzz/fuzz_btf.cpp): nothing is read outside the blob.
//
// This layer knows nothing of bpf_attr or objects: src/syscall decodes the
// command, the object store keeps the blob, and whoever needs the types
// parses the stored blob again (it was valid once, so it is valid again).
#pragma once

#include <linux/btf.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace userbpf::btf {

// The kernel's BTF_MAX_SIZE: larger blobs get E2BIG before any parsing.
constexpr uint32_t kMaxSize = 16 * 1024 * 1024;

class Btf {
 public:
  // Validate `size` bytes at `data` (copied). 0 and *out set, or -errno. When
  // `log` is not null it receives the verifier's trace as the kernel writes
  // it with a log level set: the header, one line per type, the error.
  static int parse(const uint8_t *data, uint32_t size, std::string *log, std::unique_ptr<Btf> *out);

  // Number of type ids, void (id 0) included.
  uint32_t nr_types() const { return static_cast<uint32_t>(types_.size()); }
  // The type with this id (the kernel's btf_type_by_id): nullptr for ids
  // past the end; id 0 is void, a type of kind 0 (is_void()).
  const struct btf_type *type_by_id(uint32_t id) const;
  // The string at `off`, or nullptr when off is outside the string section.
  const char *name_by_offset(uint32_t off) const;
  // btf_type_id_size(): follow modifiers and VARs to a type with a size;
  // *id becomes that type's id. nullptr for types without a size (void, FWD,
  // FUNC, FUNC_PROTO).
  const struct btf_type *type_id_size(uint32_t *id, uint32_t *size) const;
  static bool is_void(const struct btf_type *t);

  // The blob as loaded.
  const uint8_t *data() const { return base_; }
  uint32_t size() const { return size_; }

 private:
  friend class Verifier;
  std::vector<uint32_t> storage_; // the blob, placed so the type section is aligned
  uint8_t *base_ = nullptr;
  uint32_t size_ = 0;
  struct btf_header hdr_ = {};
  const char *strings_ = nullptr;
  std::vector<const struct btf_type *> types_; // [0] is void (nullptr)
  std::vector<uint32_t> resolved_ids_;
  std::vector<uint32_t> resolved_sizes_;
};

inline uint32_t kind_of(const struct btf_type *t) { return BTF_INFO_KIND(t->info); }
inline uint32_t vlen_of(const struct btf_type *t) { return BTF_INFO_VLEN(t->info); }
inline bool kflag_of(const struct btf_type *t) { return BTF_INFO_KFLAG(t->info); }
// The kernel's btf_type_str(): "INT", "PTR", "STRUCT"...; "UNKNOWN" for void.
const char *kind_str(const struct btf_type *t);

} // namespace userbpf::btf
