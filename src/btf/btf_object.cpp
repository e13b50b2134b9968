#include "btf/btf_object.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <algorithm>
#include <mutex>

#include "object/store.h"

namespace userbpf {
namespace {

// Recent parses, newest first. Entries are found by the blob's bytes, never
// by object id or address (an id or a view can be reused by another object),
// and Btf::parse() is a function of those bytes alone, so an entry is the
// parse the caller would have made. Bounded in entries and in bytes, so a
// process that loads many large BTFs keeps little. A busy lock means "not
// cached" (the caller parses): no thread waits here, and a child forked
// while another thread held the lock still works, only without the cache.
class ParseCache {
 public:
  std::shared_ptr<const btf::Btf> find(const uint8_t *blob, uint32_t size) {
    std::unique_lock<std::mutex> g(mu_, std::try_to_lock);
    if (!g.owns_lock()) return nullptr;
    for (size_t i = 0; i < entries_.size(); i++) {
      const std::shared_ptr<const btf::Btf> &b = entries_[i];
      if (b->size() == size && memcmp(b->data(), blob, size) == 0) {
        std::rotate(entries_.begin(), entries_.begin() + static_cast<ptrdiff_t>(i),
                    entries_.begin() + static_cast<ptrdiff_t>(i) + 1);
        return entries_.front();
      }
    }
    return nullptr;
  }
  void add(std::shared_ptr<const btf::Btf> b) {
    if (b->size() > kMaxBytes) return;
    std::unique_lock<std::mutex> g(mu_, std::try_to_lock);
    if (!g.owns_lock()) return;
    // The same bytes loaded again (a loader run twice) take one entry.
    entries_.erase(std::remove_if(entries_.begin(), entries_.end(),
                                  [&](const std::shared_ptr<const btf::Btf> &e) {
                                    return e->size() == b->size() && memcmp(e->data(), b->data(), b->size()) == 0;
                                  }),
                   entries_.end());
    entries_.insert(entries_.begin(), std::move(b));
    size_t bytes = 0, keep = 0;
    while (keep < entries_.size() && keep < kMaxEntries && bytes + entries_[keep]->size() <= kMaxBytes)
      bytes += entries_[keep++]->size();
    entries_.resize(keep);
  }

 private:
  static constexpr size_t kMaxEntries = 4;
  static constexpr size_t kMaxBytes = 4u << 20;
  std::mutex mu_;
  std::vector<std::shared_ptr<const btf::Btf>> entries_;
};

ParseCache &parse_cache() {
  static ParseCache *cache = new ParseCache; // never destroyed: usable from exit handlers
  return *cache;
}

} // namespace

int btf_object_create(std::shared_ptr<const btf::Btf> parsed) {
  const btf::Btf &b = *parsed;
  uint32_t size = b.size();
  // The kernel does not charge BTF to RLIMIT_MEMLOCK (charge 0).
  int fd = object_create(ObjectKind::kBtf, size, size, 0, DataPlacement::kAfterHeader, kModeRead, [&](Object &obj) {
    obj.hdr->btf.btf_size = size;
    obj.hdr->btf.kernel_btf = 0;
    if (size) memcpy(reinterpret_cast<uint8_t *>(obj.hdr) + obj.hdr->data_offset, b.data(), size);
    return 0;
  });
  if (fd >= 0) parse_cache().add(std::move(parsed));
  return fd;
}

const Handle *btf_handle(int fd, int *err) {
  const Handle *h = handle_get(fd, err);
  if (!h) return nullptr;
  if (h->obj->kind != ObjectKind::kBtf) {
    *err = -EINVAL;
    return nullptr;
  }
  return h;
}

std::shared_ptr<const btf::Btf> btf_of(const Object &obj) {
  const ObjectHeader &hdr = *obj.hdr;
  if (hdr.kind != ObjectKind::kBtf) return nullptr;
  const auto *blob = reinterpret_cast<const uint8_t *>(&hdr) + hdr.data_offset;
  if (std::shared_ptr<const btf::Btf> known = parse_cache().find(blob, hdr.btf.btf_size)) return known;
  std::unique_ptr<btf::Btf> b;
  if (btf::Btf::parse(blob, hdr.btf.btf_size, nullptr, &b)) return nullptr;
  std::shared_ptr<const btf::Btf> parsed(std::move(b));
  parse_cache().add(parsed);
  return parsed;
}

int btf_check_map_types(const btf::Btf &b, uint32_t map_type, uint32_t key_size, uint32_t value_size,
                        uint32_t max_entries, uint32_t key_type_id, uint32_t value_type_id) {
  bool array_like = map_type == BPF_MAP_TYPE_ARRAY || map_type == BPF_MAP_TYPE_PERCPU_ARRAY;
  const struct btf_type *key_type;
  uint32_t size = 0;
  if (key_type_id) {
    key_type = b.type_id_size(&key_type_id, &size);
    if (!key_type || size != key_size) return -EINVAL;
  } else {
    key_type = b.type_by_id(0);
    if (!array_like) return -EINVAL; // only maps with their own BTF check go keyless
  }
  const struct btf_type *value_type = b.type_id_size(&value_type_id, &size);
  if (!value_type || size != value_size) return -EINVAL;
  if (!array_like) return 0;
  // array_map_check_btf(): a keyless BTF is a global data section (one
  // element whose value is a DATASEC); otherwise the key is a 4-byte int.
  if (btf::Btf::is_void(key_type)) {
    if (map_type != BPF_MAP_TYPE_ARRAY || max_entries != 1) return -EINVAL;
    return btf::kind_of(value_type) == BTF_KIND_DATASEC ? 0 : -EINVAL;
  }
  return btf::kind_of(key_type) == BTF_KIND_INT && key_type->size == 4 ? 0 : -EINVAL;
}

std::vector<uint32_t> subprog_starts(const struct bpf_insn *insns, uint32_t insn_cnt) {
  constexpr uint8_t kCall = BPF_JMP | BPF_CALL, kLdImm64 = BPF_LD | BPF_IMM | BPF_DW;
  std::vector<uint32_t> starts{0};
  for (uint32_t i = 0; i < insn_cnt; i++) {
    const bpf_insn &in = insns[i];
    bool call = in.code == kCall && in.src_reg == BPF_PSEUDO_CALL;
    bool func = in.code == kLdImm64 && in.src_reg == BPF_PSEUDO_FUNC;
    if (call || func) {
      int64_t target = int64_t{i} + in.imm + 1;
      if (target >= 0 && target < insn_cnt) starts.push_back(static_cast<uint32_t>(target));
    }
  }
  std::sort(starts.begin(), starts.end());
  starts.erase(std::unique(starts.begin(), starts.end()), starts.end());
  return starts;
}

namespace {

// The kernel's limits on user record sizes (include/linux/bpf.h, verifier.c).
constexpr uint32_t kMinFuncInfoSize = 8, kMaxFuncInfoRecSize = 252;
constexpr uint32_t kMinLineInfoSize = 16, kMaxLineInfoRecSize = 252;

std::string fmt(const char *f, uint32_t a, uint32_t b = 0, uint32_t c = 0, uint32_t d = 0) {
  char buf[160];
  snprintf(buf, sizeof(buf), f, a, b, c, d);
  return buf;
}

// bpf_check_uarg_tail_zero() on one record: the bytes past what the kernel
// knows must be zero (-E2BIG otherwise), -EFAULT if they cannot be read.
int record_tail_zero(const ProgBtfInput &in, uint64_t rec, uint32_t known, uint32_t rec_size) {
  if (rec_size <= known) return 0;
  uint8_t tail[kMaxFuncInfoRecSize];
  if (in.read(rec + known, tail, rec_size - known)) return -EFAULT;
  for (uint32_t i = 0; i < rec_size - known; i++)
    if (tail[i]) return -E2BIG;
  return 0;
}

int check_func_info(const btf::Btf &b, const ProgBtfInput &in, const std::vector<uint32_t> &subprogs,
                    ProgBtfInfo *out, std::string *log) {
  uint32_t n = in.func_info_cnt, urec = in.func_info_rec_size;
  if (!n) return 0;
  if (urec < kMinFuncInfoSize || urec > kMaxFuncInfoRecSize || urec % 4) {
    *log += fmt("invalid func info rec size %u\n", urec);
    return -EINVAL;
  }
  constexpr uint32_t krec = sizeof(struct bpf_func_info);
  if (uint64_t{n} * krec > INT_MAX) return -ENOMEM; // kvcalloc() refuses it
  uint32_t copy = std::min(krec, urec), prev = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint64_t rec = in.func_info + uint64_t{i} * urec;
    if (int err = record_tail_zero(in, rec, krec, urec)) {
      if (err == -E2BIG) {
        *log += "nonzero tailing record in func info";
        out->func_rec_size_hint = copy;
      }
      return err;
    }
    struct bpf_func_info fi = {};
    if (in.read(rec, &fi, copy)) return -EFAULT;
    if (i == 0 && fi.insn_off) {
      *log += fmt("nonzero insn_off %u for the first func info record", fi.insn_off);
      return -EINVAL;
    }
    if (i && fi.insn_off <= prev) {
      *log += fmt("same or smaller insn offset (%u) than previous func info record (%u)", fi.insn_off, prev);
      return -EINVAL;
    }
    const struct btf_type *t = b.type_by_id(fi.type_id);
    if (!t || btf::Btf::is_void(t) || btf::kind_of(t) != BTF_KIND_FUNC) {
      char msg[64];
      snprintf(msg, sizeof(msg), "invalid type id %d in func info", static_cast<int>(fi.type_id));
      *log += msg;
      return -EINVAL;
    }
    const struct btf_type *proto = b.type_by_id(t->type);
    if (!proto || btf::Btf::is_void(proto) || btf::kind_of(proto) != BTF_KIND_FUNC_PROTO) return -EINVAL;
    prev = fi.insn_off;
    out->func_info.push_back(fi);
  }
  // check_btf_func(), once the subprograms are known.
  if (n != subprogs.size()) {
    *log += "number of funcs in func_info doesn't match number of subprogs\n";
    return -EINVAL;
  }
  for (uint32_t i = 0; i < n; i++) {
    if (subprogs[i] != out->func_info[i].insn_off) {
      *log += "func_info BTF section doesn't match subprog layout in BPF program\n";
      return -EINVAL;
    }
  }
  return 0;
}

int check_line_info(const btf::Btf &b, const ProgBtfInput &in, const std::vector<uint32_t> &subprogs,
                    ProgBtfInfo *out, std::string *log) {
  uint32_t n = in.line_info_cnt, urec = in.line_info_rec_size;
  if (!n) return 0;
  constexpr uint32_t krec = sizeof(struct bpf_line_info);
  if (n > INT_MAX / krec) return -EINVAL;
  if (urec < kMinLineInfoSize || urec > kMaxLineInfoRecSize || (urec & 3)) return -EINVAL;
  uint32_t copy = std::min(krec, urec), prev = 0, s = 0;
  uint32_t nsub = static_cast<uint32_t>(subprogs.size());
  for (uint32_t i = 0; i < n; i++) {
    uint64_t rec = in.line_info + uint64_t{i} * urec;
    if (int err = record_tail_zero(in, rec, krec, urec)) {
      if (err == -E2BIG) {
        *log += "nonzero tailing record in line_info";
        out->line_rec_size_hint = krec;
      }
      return err;
    }
    struct bpf_line_info li = {};
    if (in.read(rec, &li, copy)) return -EFAULT;
    if ((i && li.insn_off <= prev) || li.insn_off >= in.insn_cnt) {
      *log += fmt("Invalid line_info[%u].insn_off:%u (prev_offset:%u prog->len:%u)\n", i, li.insn_off, prev,
                  in.insn_cnt);
      return -EINVAL;
    }
    if (!in.insns[li.insn_off].code) {
      *log += fmt("Invalid insn code at line_info[%u].insn_off\n", i);
      return -EINVAL;
    }
    if (!b.name_by_offset(li.line_off) || !b.name_by_offset(li.file_name_off)) {
      *log += fmt("Invalid line_info[%u].line_off or .file_name_off\n", i);
      return -EINVAL;
    }
    if (s != nsub) {
      if (li.insn_off == subprogs[s]) {
        s++;
      } else if (subprogs[s] < li.insn_off) {
        *log += fmt("missing bpf_line_info for func#%u\n", s);
        return -EINVAL;
      }
    }
    prev = li.insn_off;
    out->line_info.push_back(li);
  }
  if (s != nsub) {
    *log += fmt("missing bpf_line_info for %u funcs starting from func#%u\n", nsub - s, s);
    return -EINVAL;
  }
  return 0;
}

} // namespace

int btf_check_prog_info(const btf::Btf &b, const ProgBtfInput &in, ProgBtfInfo *out, std::string *log) {
  std::vector<uint32_t> subprogs = subprog_starts(in.insns, in.insn_cnt);
  if (int err = check_func_info(b, in, subprogs, out, log)) return err;
  return check_line_info(b, in, subprogs, out, log);
}

} // namespace userbpf
