// The BTF validator: the kernel's btf_parse() rules (kernel/bpf/btf.c), in
// the kernel's order, with its errno values and log lines. See btf.h.
//
// Pass 1 (check_meta) walks the type section once: each type's fixed part and
// trailing records must fit, and each kind has its own rules on name, vlen,
// kind_flag, size and ids. Pass 2 resolves every type that refers to others
// with an explicit DFS stack of at most 32 vertices (the kernel's
// MAX_RESOLVE_DEPTH): a type met again while on the stack is a loop (EEXIST),
// a deeper chain is E2BIG. What counts as "resolved enough" depends on who
// asked (a pointer may point at a struct being resolved; a struct member may
// not contain its own struct), the kernel's resolve modes.
#include "btf/btf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <algorithm>

#include "util/kernel_ctype.h"

namespace userbpf::btf {
namespace {

constexpr int kENOTSUPP = 524; // the kernel-internal errno that leaks to user space
constexpr uint32_t kInfoMask = 0x9f00ffff;
constexpr uint32_t kIntMask = 0x0fffffff;
constexpr uint32_t kMaxResolveDepth = 32;
constexpr uint32_t kKsymNameLen = 512;
constexpr uint32_t kBitsPerU128 = 128;

const struct btf_type kVoid = {};

uint32_t bits_roundup_bytes(uint32_t bits) { return (bits >> 3) + ((bits & 7) != 0); }

const char *const kKindNames[NR_BTF_KINDS] = {
    "UNKNOWN", "INT",  "PTR",      "ARRAY",      "STRUCT", "UNION",   "ENUM",  "FWD",      "TYPEDEF",  "VOLATILE",
    "CONST",   "RESTRICT", "FUNC", "FUNC_PROTO", "VAR",    "DATASEC", "FLOAT", "DECL_TAG", "TYPE_TAG", "ENUM64"};

bool is_modifier(const struct btf_type *t) {
  switch (kind_of(t)) {
    case BTF_KIND_TYPEDEF:
    case BTF_KIND_VOLATILE:
    case BTF_KIND_CONST:
    case BTF_KIND_RESTRICT:
    case BTF_KIND_TYPE_TAG: return true;
    default: return false;
  }
}
bool is_void(const struct btf_type *t) { return t == &kVoid; }
bool is_kind(const struct btf_type *t, uint32_t k) { return t && !is_void(t) && kind_of(t) == k; }
bool is_struct(const struct btf_type *t) { return is_kind(t, BTF_KIND_STRUCT) || is_kind(t, BTF_KIND_UNION); }
bool is_nosize(const struct btf_type *t) {
  return is_void(t) || is_kind(t, BTF_KIND_FWD) || is_kind(t, BTF_KIND_FUNC) || is_kind(t, BTF_KIND_FUNC_PROTO);
}
bool is_nosize_or_null(const struct btf_type *t) { return !t || is_nosize(t); }
bool has_size(const struct btf_type *t) {
  switch (kind_of(t)) {
    case BTF_KIND_INT:
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION:
    case BTF_KIND_ENUM:
    case BTF_KIND_DATASEC:
    case BTF_KIND_FLOAT:
    case BTF_KIND_ENUM64: return !is_void(t);
    default: return false;
  }
}
// Types that only other types' resolution may reach through a VAR/DATASEC
// path, never as a member, element or pointee.
bool is_resolve_source_only(const struct btf_type *t) {
  return is_kind(t, BTF_KIND_VAR) || is_kind(t, BTF_KIND_DATASEC) || is_kind(t, BTF_KIND_DECL_TAG);
}
bool needs_resolve(const struct btf_type *t) {
  if (is_void(t)) return false;
  return is_modifier(t) || is_kind(t, BTF_KIND_PTR) || is_struct(t) || is_kind(t, BTF_KIND_ARRAY) ||
         is_kind(t, BTF_KIND_VAR) || is_kind(t, BTF_KIND_FUNC) || is_kind(t, BTF_KIND_DATASEC) ||
         is_kind(t, BTF_KIND_DECL_TAG);
}

// The records that follow a type.
uint32_t int_data(const struct btf_type *t) {
  uint32_t v;
  memcpy(&v, t + 1, sizeof(v));
  return v;
}
const struct btf_array *array_of(const struct btf_type *t) { return reinterpret_cast<const btf_array *>(t + 1); }
const struct btf_member *members_of(const struct btf_type *t) { return reinterpret_cast<const btf_member *>(t + 1); }
const struct btf_param *params_of(const struct btf_type *t) { return reinterpret_cast<const btf_param *>(t + 1); }
const struct btf_var_secinfo *secinfos_of(const struct btf_type *t) {
  return reinterpret_cast<const btf_var_secinfo *>(t + 1);
}

// A regular int: whole bytes, no bit offset, 1/2/4/8/16 bytes.
bool int_is_regular(const struct btf_type *t) {
  uint32_t d = int_data(t);
  uint32_t bits = BTF_INT_BITS(d), bytes = bits_roundup_bytes(bits);
  if ((bits & 7) || BTF_INT_OFFSET(d)) return false;
  return bytes == 1 || bytes == 2 || bytes == 4 || bytes == 8 || bytes == 16;
}

uint32_t member_bit_offset(const struct btf_type *s, const struct btf_member *m) {
  return kflag_of(s) ? BTF_MEMBER_BIT_OFFSET(m->offset) : m->offset;
}

const char *int_encoding_str(uint32_t e) {
  switch (e) {
    case 0: return "(none)";
    case BTF_INT_SIGNED: return "SIGNED";
    case BTF_INT_CHAR: return "CHAR";
    case BTF_INT_BOOL: return "BOOL";
    default: return "UNKN";
  }
}

enum class Mode { kTbd, kPtr, kStructOrArray };
enum VisitState : uint8_t { kNotVisited, kVisited, kResolved };

struct Vertex {
  const struct btf_type *t;
  uint32_t id;
  uint16_t next_member;
};

} // namespace

// The verifier environment of one parse (the kernel's btf_verifier_env).
class Verifier {
 public:
  Verifier(Btf &btf, std::string *log) : b_(btf), log_(log) {}
  int run();

 private:
  Btf &b_;
  std::string *log_;
  uint32_t log_id_ = 0;
  bool meta_phase_ = true;
  Mode mode_ = Mode::kTbd;
  std::vector<uint8_t> visit_;
  Vertex stack_[kMaxResolveDepth];
  uint32_t top_ = 0;

  // ---- the log

  __attribute__((format(printf, 2, 3))) void logf(const char *fmt, ...) {
    if (!log_) return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    *log_ += buf;
  }
  const char *name_or_anon(uint32_t off) const {
    if (!off) return "(anon)";
    const char *n = b_.name_by_offset(off);
    return n ? n : "(invalid-name-offset)";
  }
  void log_details(const struct btf_type *t);
  // "[id] KIND name[ details][ msg]\n" (details when `details`).
  void log_type_impl(const struct btf_type *t, bool details, const char *msg) {
    if (!log_) return;
    uint32_t k = kind_of(t);
    logf("[%u] %s %s%s", log_id_, k < NR_BTF_KINDS ? kKindNames[k] : "UNKNOWN", name_or_anon(t->name_off),
         details ? " " : "");
    if (details) log_details(t);
    if (msg && *msg) logf(" %s", msg);
    logf("\n");
  }
  void log_type(const struct btf_type *t, const char *msg = nullptr) { log_type_impl(t, true, msg); }
  void log_basic(const struct btf_type *t, const char *msg) { log_type_impl(t, false, msg); }
  void log_member(const struct btf_type *s, const struct btf_member *m, const char *msg) {
    if (!log_) return;
    if (!meta_phase_) log_type(s);
    if (kflag_of(s))
      logf("\t%s type_id=%u bitfield_size=%u bits_offset=%u", name_or_anon(m->name_off), m->type,
           BTF_MEMBER_BITFIELD_SIZE(m->offset), BTF_MEMBER_BIT_OFFSET(m->offset));
    else
      logf("\t%s type_id=%u bits_offset=%u", name_or_anon(m->name_off), m->type, m->offset);
    if (msg && *msg) logf(" %s", msg);
    logf("\n");
  }
  void log_vsi(const struct btf_type *ds, const struct btf_var_secinfo *v, const char *msg) {
    if (!log_) return;
    if (!meta_phase_) log_type(ds);
    logf("\t type_id=%u offset=%u size=%u", v->type, v->offset, v->size);
    if (msg && *msg) logf(" %s", msg);
    logf("\n");
  }
  // Log the type with a message and return err.
  __attribute__((format(printf, 4, 5))) int fail_type(const struct btf_type *t, int err, const char *fmt, ...) {
    char msg[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_type(t, msg);
    return err;
  }
  int fail_meta_left(const struct btf_type *t, uint32_t left, uint32_t needed) {
    char msg[64];
    snprintf(msg, sizeof(msg), "meta_left:%u meta_needed:%u", left, needed);
    log_basic(t, msg);
    return -EINVAL;
  }

  // ---- names

  bool name_offset_valid(uint32_t off) const { return off <= BTF_MAX_NAME_OFFSET && off < b_.hdr_.str_len; }
  // A C identifier (letters as the kernel's Latin-1 ctype has them), '.'
  // allowed too where dot_ok. The running 6.18 kernel takes dots in every
  // name (types, members, enum values, parameters: checked against it), so
  // every caller passes true today.
  bool name_valid(uint32_t off, bool dot_ok) const {
    const char *s = b_.name_by_offset(off);
    auto ok = [&](char ch, bool first) {
      auto c = static_cast<unsigned char>(ch);
      return (first ? kernel_isalpha(c) : kernel_isalnum(c)) || c == '_' || (dot_ok && c == '.');
    };
    if (!s || !ok(*s, true)) return false;
    const char *limit = s + kKsymNameLen;
    for (++s; *s && s < limit; ++s)
      if (!ok(*s, false)) return false;
    return !*s;
  }
  bool name_valid_identifier(uint32_t off) const { return name_valid(off, true); }
  bool name_valid_section(uint32_t off) const {
    const char *s = b_.name_by_offset(off);
    if (!s || !*s) return false;
    const char *limit = s + kKsymNameLen;
    for (; *s && s < limit; ++s)
      if (!kernel_isprint(static_cast<unsigned char>(*s))) return false;
    return !*s;
  }

  // ---- pass 1
  int parse_hdr();
  int check_sec_info();
  int parse_str_sec();
  int check_all_metas();
  int check_meta(const struct btf_type *t, uint32_t meta_left);
  int kind_check_meta(const struct btf_type *t, uint32_t meta_left);
  int int_meta(const struct btf_type *t, uint32_t left);
  int ref_meta(const struct btf_type *t);
  int fwd_meta(const struct btf_type *t);
  int array_meta(const struct btf_type *t, uint32_t left);
  int struct_meta(const struct btf_type *t, uint32_t left);
  int enum_meta(const struct btf_type *t, uint32_t left, bool is64);
  int func_proto_meta(const struct btf_type *t, uint32_t left);
  int func_meta(const struct btf_type *t);
  int var_meta(const struct btf_type *t, uint32_t left);
  int datasec_meta(const struct btf_type *t, uint32_t left);
  int float_meta(const struct btf_type *t);
  int decl_tag_meta(const struct btf_type *t, uint32_t left);

  // ---- pass 2
  int check_all_types();
  int resolve(const struct btf_type *t, uint32_t id);
  int resolve_step(); // the vertex on top of the stack
  bool is_sink(const struct btf_type *next) const;
  bool resolved(uint32_t id) const { return visit_[id] == kResolved; }
  int push(const struct btf_type *t, uint32_t id);
  void pop_resolved(uint32_t resolved_id, uint32_t resolved_size) {
    uint32_t id = stack_[--top_].id;
    b_.resolved_ids_[id] = resolved_id;
    b_.resolved_sizes_[id] = resolved_size;
    visit_[id] = kResolved;
  }
  const struct btf_type *id_resolve(uint32_t *id) const {
    *id = b_.resolved_ids_[*id];
    return b_.type_by_id(*id);
  }
  bool resolve_valid(const struct btf_type *t, uint32_t id) const;
  int modifier_or_ptr_resolve(const Vertex &v);
  int var_resolve(const Vertex &v);
  int array_resolve(const Vertex &v);
  int struct_resolve(Vertex &v);
  int datasec_resolve(Vertex &v);
  int decl_tag_resolve(const Vertex &v);
  int func_check(const struct btf_type *t);
  int func_proto_check(const struct btf_type *t);
  int check_member(const struct btf_type *s, const struct btf_member *m, const struct btf_type *mt);
  int check_kflag_member(const struct btf_type *s, const struct btf_member *m, const struct btf_type *mt);
  int check_modifier_member(const struct btf_type *s, const struct btf_member *m, bool kflag);
  int check_type_tags();
};

bool Btf::is_void(const struct btf_type *t) { return t == &kVoid; }

const char *kind_str(const struct btf_type *t) {
  const uint32_t k = t ? kind_of(t) : 0;
  return k < NR_BTF_KINDS ? kKindNames[k] : "UNKNOWN";
}

const struct btf_type *Btf::type_by_id(uint32_t id) const {
  if (id >= types_.size()) return nullptr;
  return types_[id];
}

const char *Btf::name_by_offset(uint32_t off) const {
  if (off >= hdr_.str_len || !strings_) return nullptr;
  return strings_ + off;
}

const struct btf_type *Btf::type_id_size(uint32_t *type_id, uint32_t *ret_size) const {
  uint32_t id = *type_id;
  const struct btf_type *t = type_by_id(id);
  if (is_nosize_or_null(t)) return nullptr;
  uint32_t size = 0;
  auto size_of = [&](const struct btf_type *st, uint32_t sid, uint32_t *out) {
    if (has_size(st)) *out = st->size;
    else if (kind_of(st) == BTF_KIND_ARRAY) *out = resolved_sizes_[sid];
    else if (kind_of(st) == BTF_KIND_PTR) *out = sizeof(void *);
    else return false;
    return true;
  };
  if (!size_of(t, id, &size)) {
    if (!is_modifier(t) && kind_of(t) != BTF_KIND_VAR) return nullptr;
    id = resolved_ids_[id];
    t = type_by_id(id);
    if (is_nosize_or_null(t) || !size_of(t, id, &size)) return nullptr;
  }
  *type_id = id;
  if (ret_size) *ret_size = size;
  return t;
}

void Verifier::log_details(const struct btf_type *t) {
  switch (kind_of(t)) {
    case BTF_KIND_INT: {
      uint32_t d = int_data(t);
      logf("size=%u bits_offset=%u nr_bits=%u encoding=%s", t->size, BTF_INT_OFFSET(d), BTF_INT_BITS(d),
           int_encoding_str(BTF_INT_ENCODING(d)));
      break;
    }
    case BTF_KIND_PTR:
    case BTF_KIND_TYPEDEF:
    case BTF_KIND_VOLATILE:
    case BTF_KIND_CONST:
    case BTF_KIND_RESTRICT:
    case BTF_KIND_TYPE_TAG:
    case BTF_KIND_FUNC: logf("type_id=%u", t->type); break;
    case BTF_KIND_FWD: logf("%s", kflag_of(t) ? "union" : "struct"); break;
    case BTF_KIND_ARRAY: {
      const btf_array *a = array_of(t);
      logf("type_id=%u index_type_id=%u nr_elems=%u", a->type, a->index_type, a->nelems);
      break;
    }
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION:
    case BTF_KIND_ENUM:
    case BTF_KIND_ENUM64:
    case BTF_KIND_DATASEC: logf("size=%u vlen=%u", t->size, vlen_of(t)); break;
    case BTF_KIND_FUNC_PROTO: {
      const btf_param *args = params_of(t);
      uint32_t n = vlen_of(t);
      logf("return=%u args=(", t->type);
      if (n == 0) {
        logf("void");
      } else if (n == 1 && !args[0].type) {
        logf("vararg");
      } else {
        logf("%u %s", args[0].type, name_or_anon(args[0].name_off));
        for (uint32_t i = 1; i + 1 < n; i++) logf(", %u %s", args[i].type, name_or_anon(args[i].name_off));
        if (n > 1) {
          const btf_param &last = args[n - 1];
          if (last.type) logf(", %u %s", last.type, name_or_anon(last.name_off));
          else logf(", vararg");
        }
      }
      logf(")");
      break;
    }
    case BTF_KIND_VAR: logf("type_id=%u linkage=%u", t->type, reinterpret_cast<const btf_var *>(t + 1)->linkage); break;
    case BTF_KIND_FLOAT: logf("size=%u", t->size); break;
    case BTF_KIND_DECL_TAG:
      logf("type=%u component_idx=%d", t->type, reinterpret_cast<const btf_decl_tag *>(t + 1)->component_idx);
      break;
    default: break;
  }
}

// ---- header, sections, strings (btf_parse_hdr, btf_check_sec_info, btf_parse_str_sec)

int Verifier::parse_hdr() {
  const uint32_t size = static_cast<uint32_t>(b_.size_);
  if (size < offsetof(struct btf_header, hdr_len) + sizeof(uint32_t)) {
    logf("hdr_len not found");
    return -EINVAL;
  }
  uint32_t hdr_len;
  memcpy(&hdr_len, b_.base_ + offsetof(struct btf_header, hdr_len), sizeof(hdr_len));
  if (size < hdr_len) {
    logf("btf_header not found");
    return -EINVAL;
  }
  if (hdr_len > sizeof(struct btf_header)) {
    for (uint32_t i = sizeof(struct btf_header); i < hdr_len; i++) {
      if (b_.base_[i]) {
        logf("Unsupported btf_header");
        return -E2BIG;
      }
    }
  }
  memcpy(&b_.hdr_, b_.base_, std::min<uint32_t>(hdr_len, sizeof(struct btf_header)));
  const btf_header &h = b_.hdr_;
  logf("magic: 0x%x\n", h.magic);
  logf("version: %u\n", h.version);
  logf("flags: 0x%x\n", h.flags);
  logf("hdr_len: %u\n", h.hdr_len);
  logf("type_off: %u\n", h.type_off);
  logf("type_len: %u\n", h.type_len);
  logf("str_off: %u\n", h.str_off);
  logf("str_len: %u\n", h.str_len);
  logf("btf_total_size: %u\n", size);
  if (h.magic != BTF_MAGIC) {
    logf("Invalid magic");
    return -EINVAL;
  }
  if (h.version != BTF_VERSION) {
    logf("Unsupported version");
    return -kENOTSUPP;
  }
  if (h.flags) {
    logf("Unsupported flags");
    return -kENOTSUPP;
  }
  if (size == h.hdr_len) {
    logf("No data");
    return -EINVAL;
  }
  return check_sec_info();
}

int Verifier::check_sec_info() {
  const btf_header &h = b_.hdr_;
  struct Sec {
    uint32_t off, len;
  } secs[2] = {{h.type_off, h.type_len}, {h.str_off, h.str_len}};
  // Sorted by offset, then length (the kernel compares the differences as int).
  auto less = [](const Sec &x, const Sec &y) {
    int d = static_cast<int>(x.off - y.off);
    if (!d) d = static_cast<int>(x.len - y.len);
    return d < 0;
  };
  if (less(secs[1], secs[0])) std::swap(secs[0], secs[1]);
  uint32_t total = 0, expected = static_cast<uint32_t>(b_.size_) - h.hdr_len;
  for (const Sec &s : secs) {
    if (expected < s.off) {
      logf("Invalid section offset");
      return -EINVAL;
    }
    if (total < s.off) {
      logf("Unsupported section found");
      return -EINVAL;
    }
    if (total > s.off) {
      logf("Section overlap found");
      return -EINVAL;
    }
    if (expected - total < s.len) {
      logf("Total section length too long");
      return -EINVAL;
    }
    total += s.len;
  }
  if (expected != total) {
    logf("Unsupported section found");
    return -EINVAL;
  }
  return 0;
}

int Verifier::parse_str_sec() {
  const btf_header &h = b_.hdr_;
  const uint8_t *nohdr = b_.base_ + h.hdr_len;
  const char *start = reinterpret_cast<const char *>(nohdr + h.str_off);
  // check_sec_info placed the sections inside the blob; the string section
  // must also be the last thing in it.
  if (static_cast<uint64_t>(h.hdr_len) + h.str_off + h.str_len != b_.size_) {
    logf("String section is not at the end");
    return -EINVAL;
  }
  b_.strings_ = start;
  if (!h.str_len || h.str_len - 1 > BTF_MAX_NAME_OFFSET || start[h.str_len - 1] || start[0]) {
    logf("Invalid string section");
    return -EINVAL;
  }
  return 0;
}

// ---- pass 1: each type's own rules (btf_check_meta and the kinds' check_meta)

int Verifier::check_all_metas() {
  const btf_header &h = b_.hdr_;
  const uint8_t *cur = b_.base_ + h.hdr_len + h.type_off;
  const uint8_t *end = cur + h.type_len;
  log_id_ = 1;
  while (cur < end) {
    // The type section is 4-byte aligned in the blob copy (type_off is, and
    // data_ comes from the allocator aligned), so btf_type reads are aligned.
    const auto *t = reinterpret_cast<const struct btf_type *>(cur);
    int size = check_meta(t, static_cast<uint32_t>(end - cur));
    if (size < 0) return size;
    if (b_.types_.size() == BTF_MAX_TYPE) {
      logf("Exceeded max num of types");
      return -E2BIG;
    }
    b_.types_.push_back(t);
    cur += size;
    log_id_++;
  }
  return 0;
}

int Verifier::check_meta(const struct btf_type *t, uint32_t meta_left) {
  if (meta_left < sizeof(*t)) {
    logf("[%u] meta_left:%u meta_needed:%zu", log_id_, meta_left, sizeof(*t));
    return -EINVAL;
  }
  meta_left -= sizeof(*t);
  if (t->info & ~kInfoMask) {
    logf("[%u] Invalid btf_info:%x", log_id_, t->info);
    return -EINVAL;
  }
  uint32_t k = kind_of(t);
  if (k > BTF_KIND_MAX || k == BTF_KIND_UNKN) {
    logf("[%u] Invalid kind:%u", log_id_, k);
    return -EINVAL;
  }
  if (!name_offset_valid(t->name_off)) {
    logf("[%u] Invalid name_offset:%u", log_id_, t->name_off);
    return -EINVAL;
  }
  int var_size = kind_check_meta(t, meta_left);
  if (var_size < 0) return var_size;
  return static_cast<int>(sizeof(*t)) + var_size;
}

int Verifier::kind_check_meta(const struct btf_type *t, uint32_t left) {
  switch (kind_of(t)) {
    case BTF_KIND_INT: return int_meta(t, left);
    case BTF_KIND_PTR:
    case BTF_KIND_TYPEDEF:
    case BTF_KIND_VOLATILE:
    case BTF_KIND_CONST:
    case BTF_KIND_RESTRICT:
    case BTF_KIND_TYPE_TAG: return ref_meta(t);
    case BTF_KIND_ARRAY: return array_meta(t, left);
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION: return struct_meta(t, left);
    case BTF_KIND_ENUM: return enum_meta(t, left, false);
    case BTF_KIND_ENUM64: return enum_meta(t, left, true);
    case BTF_KIND_FWD: return fwd_meta(t);
    case BTF_KIND_FUNC: return func_meta(t);
    case BTF_KIND_FUNC_PROTO: return func_proto_meta(t, left);
    case BTF_KIND_VAR: return var_meta(t, left);
    case BTF_KIND_DATASEC: return datasec_meta(t, left);
    case BTF_KIND_FLOAT: return float_meta(t);
    case BTF_KIND_DECL_TAG: return decl_tag_meta(t, left);
    default: return -EINVAL; // excluded by check_meta
  }
}

int Verifier::int_meta(const struct btf_type *t, uint32_t left) {
  if (left < sizeof(uint32_t)) return fail_meta_left(t, left, sizeof(uint32_t));
  if (vlen_of(t)) return fail_type(t, -EINVAL, "vlen != 0");
  if (kflag_of(t)) return fail_type(t, -EINVAL, "Invalid btf_info kind_flag");
  uint32_t d = int_data(t);
  if (d & ~kIntMask) {
    char msg[48];
    snprintf(msg, sizeof(msg), "Invalid int_data:%x", d);
    log_basic(t, msg);
    return -EINVAL;
  }
  uint32_t nr_bits = BTF_INT_BITS(d) + BTF_INT_OFFSET(d);
  if (nr_bits > kBitsPerU128) return fail_type(t, -EINVAL, "nr_bits exceeds %u", kBitsPerU128);
  if (bits_roundup_bytes(nr_bits) > t->size) return fail_type(t, -EINVAL, "nr_bits exceeds type_size");
  uint32_t enc = BTF_INT_ENCODING(d);
  if (enc && enc != BTF_INT_SIGNED && enc != BTF_INT_CHAR && enc != BTF_INT_BOOL)
    return fail_type(t, -kENOTSUPP, "Unsupported encoding");
  log_type(t);
  return sizeof(uint32_t);
}

int Verifier::ref_meta(const struct btf_type *t) {
  if (vlen_of(t)) return fail_type(t, -EINVAL, "vlen != 0");
  // 6.14+: a TYPE_TAG's kind_flag marks an attribute; no other ref kind has one.
  if (kflag_of(t) && kind_of(t) != BTF_KIND_TYPE_TAG) return fail_type(t, -EINVAL, "Invalid btf_info kind_flag");
  if (t->type > BTF_MAX_TYPE) return fail_type(t, -EINVAL, "Invalid type_id");
  if (kind_of(t) == BTF_KIND_TYPEDEF) {
    if (!t->name_off || !name_valid_identifier(t->name_off)) return fail_type(t, -EINVAL, "Invalid name");
  } else if (kind_of(t) == BTF_KIND_TYPE_TAG) {
    const char *v = b_.name_by_offset(t->name_off);
    if (!v || !v[0]) return fail_type(t, -EINVAL, "Invalid name");
  } else if (t->name_off) {
    return fail_type(t, -EINVAL, "Invalid name");
  }
  log_type(t);
  return 0;
}

int Verifier::fwd_meta(const struct btf_type *t) {
  if (vlen_of(t)) return fail_type(t, -EINVAL, "vlen != 0");
  if (t->type) return fail_type(t, -EINVAL, "type != 0");
  if (!t->name_off || !name_valid_identifier(t->name_off)) return fail_type(t, -EINVAL, "Invalid name");
  log_type(t);
  return 0;
}

int Verifier::array_meta(const struct btf_type *t, uint32_t left) {
  if (left < sizeof(btf_array)) return fail_meta_left(t, left, sizeof(btf_array));
  const btf_array *a = array_of(t);
  if (t->name_off) return fail_type(t, -EINVAL, "Invalid name");
  if (vlen_of(t)) return fail_type(t, -EINVAL, "vlen != 0");
  if (kflag_of(t)) return fail_type(t, -EINVAL, "Invalid btf_info kind_flag");
  if (t->size) return fail_type(t, -EINVAL, "size != 0");
  if (!a->type || a->type > BTF_MAX_TYPE) return fail_type(t, -EINVAL, "Invalid elem");
  if (!a->index_type || a->index_type > BTF_MAX_TYPE) return fail_type(t, -EINVAL, "Invalid index");
  log_type(t);
  return sizeof(btf_array);
}

int Verifier::struct_meta(const struct btf_type *t, uint32_t left) {
  bool is_union = kind_of(t) == BTF_KIND_UNION;
  uint32_t needed = vlen_of(t) * sizeof(btf_member);
  if (left < needed) return fail_meta_left(t, left, needed);
  if (t->name_off && !name_valid_identifier(t->name_off)) return fail_type(t, -EINVAL, "Invalid name");
  log_type(t);
  uint32_t last_offset = 0;
  const btf_member *m = members_of(t);
  for (uint32_t i = 0; i < vlen_of(t); i++, m++) {
    if (!name_offset_valid(m->name_off)) {
      char msg[48];
      snprintf(msg, sizeof(msg), "Invalid member name_offset:%u", m->name_off);
      log_member(t, m, msg);
      return -EINVAL;
    }
    if (m->name_off && !name_valid_identifier(m->name_off)) {
      log_member(t, m, "Invalid name");
      return -EINVAL;
    }
    if (!m->type || m->type > BTF_MAX_TYPE) {
      log_member(t, m, "Invalid type_id");
      return -EINVAL;
    }
    uint32_t off = member_bit_offset(t, m);
    if (is_union && off) {
      log_member(t, m, "Invalid member bits_offset");
      return -EINVAL;
    }
    // '>' not '>=': the last member may be a flexible array at the same offset.
    if (last_offset > off) {
      log_member(t, m, "Invalid member bits_offset");
      return -EINVAL;
    }
    if (bits_roundup_bytes(off) > t->size) {
      log_member(t, m, "Member bits_offset exceeds its struct size");
      return -EINVAL;
    }
    log_member(t, m, nullptr);
    last_offset = off;
  }
  return static_cast<int>(needed);
}

int Verifier::enum_meta(const struct btf_type *t, uint32_t left, bool is64) {
  uint32_t rec = is64 ? sizeof(btf_enum64) : sizeof(btf_enum);
  uint32_t n = vlen_of(t), needed = n * rec;
  if (left < needed) return fail_meta_left(t, left, needed);
  if (t->size > 8 || !t->size || (t->size & (t->size - 1))) return fail_type(t, -EINVAL, "Unexpected size");
  if (t->name_off && !name_valid_identifier(t->name_off)) return fail_type(t, -EINVAL, "Invalid name");
  log_type(t);
  const uint8_t *recs = reinterpret_cast<const uint8_t *>(t + 1);
  for (uint32_t i = 0; i < n; i++) {
    uint32_t name_off;
    memcpy(&name_off, recs + i * rec, sizeof(name_off));
    if (!name_offset_valid(name_off)) {
      logf("\tInvalid name_offset:%u", name_off);
      return -EINVAL;
    }
    if (!name_off || !name_valid_identifier(name_off)) return fail_type(t, -EINVAL, "Invalid name");
    if (is64) {
      const auto *e = reinterpret_cast<const btf_enum64 *>(recs) + i;
      uint64_t v = (static_cast<uint64_t>(e->val_hi32) << 32) | e->val_lo32;
      if (kflag_of(t)) logf("\t%s val=%lld\n", name_or_anon(name_off), static_cast<long long>(v));
      else logf("\t%s val=%llu\n", name_or_anon(name_off), static_cast<unsigned long long>(v));
    } else {
      const auto *e = reinterpret_cast<const btf_enum *>(recs) + i;
      if (kflag_of(t)) logf("\t%s val=%d\n", name_or_anon(name_off), e->val);
      else logf("\t%s val=%u\n", name_or_anon(name_off), static_cast<uint32_t>(e->val));
    }
  }
  return static_cast<int>(needed);
}

int Verifier::func_proto_meta(const struct btf_type *t, uint32_t left) {
  uint32_t needed = vlen_of(t) * sizeof(btf_param);
  if (left < needed) return fail_meta_left(t, left, needed);
  if (t->name_off) return fail_type(t, -EINVAL, "Invalid name");
  if (kflag_of(t)) return fail_type(t, -EINVAL, "Invalid btf_info kind_flag");
  log_type(t);
  return static_cast<int>(needed);
}

int Verifier::func_meta(const struct btf_type *t) {
  if (!t->name_off || !name_valid_identifier(t->name_off)) return fail_type(t, -EINVAL, "Invalid name");
  if (vlen_of(t) > BTF_FUNC_GLOBAL) return fail_type(t, -EINVAL, "Invalid func linkage");
  if (kflag_of(t)) return fail_type(t, -EINVAL, "Invalid btf_info kind_flag");
  log_type(t);
  return 0;
}

int Verifier::var_meta(const struct btf_type *t, uint32_t left) {
  if (left < sizeof(btf_var)) return fail_meta_left(t, left, sizeof(btf_var));
  if (vlen_of(t)) return fail_type(t, -EINVAL, "vlen != 0");
  if (kflag_of(t)) return fail_type(t, -EINVAL, "Invalid btf_info kind_flag");
  if (!t->name_off || !name_valid(t->name_off, true)) return fail_type(t, -EINVAL, "Invalid name");
  if (!t->type || t->type > BTF_MAX_TYPE) return fail_type(t, -EINVAL, "Invalid type_id");
  uint32_t linkage = reinterpret_cast<const btf_var *>(t + 1)->linkage;
  if (linkage != BTF_VAR_STATIC && linkage != BTF_VAR_GLOBAL_ALLOCATED)
    return fail_type(t, -EINVAL, "Linkage not supported");
  log_type(t);
  return sizeof(btf_var);
}

int Verifier::datasec_meta(const struct btf_type *t, uint32_t left) {
  uint32_t needed = vlen_of(t) * sizeof(btf_var_secinfo);
  if (left < needed) return fail_meta_left(t, left, needed);
  if (!t->size) return fail_type(t, -EINVAL, "size == 0");
  if (kflag_of(t)) return fail_type(t, -EINVAL, "Invalid btf_info kind_flag");
  if (!t->name_off || !name_valid_section(t->name_off)) return fail_type(t, -EINVAL, "Invalid name");
  log_type(t);
  uint64_t last_end = 0, sum = 0;
  const btf_var_secinfo *v = secinfos_of(t);
  for (uint32_t i = 0; i < vlen_of(t); i++, v++) {
    if (!v->type || v->type > BTF_MAX_TYPE) {
      log_vsi(t, v, "Invalid type_id");
      return -EINVAL;
    }
    if (v->offset < last_end || v->offset >= t->size) {
      log_vsi(t, v, "Invalid offset");
      return -EINVAL;
    }
    if (!v->size || v->size > t->size) {
      log_vsi(t, v, "Invalid size");
      return -EINVAL;
    }
    last_end = uint64_t{v->offset} + v->size;
    if (last_end > t->size) {
      log_vsi(t, v, "Invalid offset+size");
      return -EINVAL;
    }
    log_vsi(t, v, nullptr);
    sum += v->size;
  }
  if (t->size < sum) return fail_type(t, -EINVAL, "Invalid btf_info size");
  return static_cast<int>(needed);
}

int Verifier::float_meta(const struct btf_type *t) {
  if (vlen_of(t)) return fail_type(t, -EINVAL, "vlen != 0");
  if (kflag_of(t)) return fail_type(t, -EINVAL, "Invalid btf_info kind_flag");
  if (t->size != 2 && t->size != 4 && t->size != 8 && t->size != 12 && t->size != 16)
    return fail_type(t, -EINVAL, "Invalid type_size");
  log_type(t);
  return 0;
}

int Verifier::decl_tag_meta(const struct btf_type *t, uint32_t left) {
  if (left < sizeof(btf_decl_tag)) return fail_meta_left(t, left, sizeof(btf_decl_tag));
  const char *v = b_.name_by_offset(t->name_off);
  if (!v || !v[0]) return fail_type(t, -EINVAL, "Invalid value");
  if (vlen_of(t)) return fail_type(t, -EINVAL, "vlen != 0");
  int32_t component_idx = reinterpret_cast<const btf_decl_tag *>(t + 1)->component_idx;
  if (component_idx < -1) return fail_type(t, -EINVAL, "Invalid component_idx");
  log_type(t);
  return sizeof(btf_decl_tag);
}

// ---- pass 2: resolution (btf_check_all_types, btf_resolve and the kinds' resolve)

bool Verifier::is_sink(const struct btf_type *next) const {
  switch (mode_) {
    case Mode::kTbd: return !needs_resolve(next);
    case Mode::kPtr: return !is_modifier(next) && !is_kind(next, BTF_KIND_PTR);
    case Mode::kStructOrArray: return !is_modifier(next) && !is_kind(next, BTF_KIND_ARRAY) && !is_struct(next);
  }
  return true;
}

int Verifier::push(const struct btf_type *t, uint32_t id) {
  if (top_ == kMaxResolveDepth) return -E2BIG;
  if (visit_[id] != kNotVisited) return -EEXIST;
  visit_[id] = kVisited;
  stack_[top_++] = {t, id, 0};
  if (mode_ == Mode::kTbd) {
    if (is_kind(t, BTF_KIND_PTR)) mode_ = Mode::kPtr;
    else if (is_struct(t) || is_kind(t, BTF_KIND_ARRAY)) mode_ = Mode::kStructOrArray;
  }
  return 0;
}

// Modifiers and pointers: follow t->type; a pointer must come back to
// itself through a modifier that stopped at another pointer to see loops.
int Verifier::modifier_or_ptr_resolve(const Vertex &v) {
  const struct btf_type *t = v.t;
  uint32_t next_id = t->type;
  const struct btf_type *next = b_.type_by_id(next_id);
  if (!next || is_resolve_source_only(next)) return fail_type(t, -EINVAL, "Invalid type_id");
  if (!is_sink(next) && !resolved(next_id)) return push(next, next_id);
  if (kind_of(t) == BTF_KIND_PTR && is_modifier(next)) {
    uint32_t rid = next_id;
    const struct btf_type *rt = id_resolve(&rid);
    if (is_kind(rt, BTF_KIND_PTR) && !is_sink(rt) && !resolved(rid)) return push(rt, rid);
  }
  if (!b_.type_id_size(&next_id, nullptr)) {
    if (resolved(next_id)) next = id_resolve(&next_id);
    // "typedef void", "const void", pointers to forward or function types.
    if (!is_void(next) && !is_kind(next, BTF_KIND_FWD) && !is_kind(next, BTF_KIND_FUNC_PROTO))
      return fail_type(t, -EINVAL, "Invalid type_id");
  }
  pop_resolved(next_id, 0);
  return 0;
}

int Verifier::var_resolve(const Vertex &v) {
  const struct btf_type *t = v.t;
  uint32_t next_id = t->type;
  const struct btf_type *next = b_.type_by_id(next_id);
  if (!next || is_resolve_source_only(next)) return fail_type(t, -EINVAL, "Invalid type_id");
  if (!is_sink(next) && !resolved(next_id)) return push(next, next_id);
  if (is_modifier(next)) {
    uint32_t rid = next_id;
    const struct btf_type *rt = id_resolve(&rid);
    if (is_kind(rt, BTF_KIND_PTR) && !is_sink(rt) && !resolved(rid)) return push(rt, rid);
  }
  // A variable needs a concrete type: nothing that has no size.
  if (!b_.type_id_size(&next_id, nullptr)) return fail_type(t, -EINVAL, "Invalid type_id");
  pop_resolved(next_id, 0);
  return 0;
}

int Verifier::array_resolve(const Vertex &v) {
  const btf_array *a = array_of(v.t);
  uint32_t index_id = a->index_type;
  const struct btf_type *index = b_.type_by_id(index_id);
  if (is_nosize_or_null(index) || is_resolve_source_only(index)) return fail_type(v.t, -EINVAL, "Invalid index");
  if (!is_sink(index) && !resolved(index_id)) return push(index, index_id);
  index = b_.type_id_size(&index_id, nullptr);
  if (!index || !is_kind(index, BTF_KIND_INT) || !int_is_regular(index))
    return fail_type(v.t, -EINVAL, "Invalid index");

  uint32_t elem_id = a->type, elem_size = 0;
  const struct btf_type *elem = b_.type_by_id(elem_id);
  if (is_nosize_or_null(elem) || is_resolve_source_only(elem)) return fail_type(v.t, -EINVAL, "Invalid elem");
  if (!is_sink(elem) && !resolved(elem_id)) return push(elem, elem_id);
  elem = b_.type_id_size(&elem_id, &elem_size);
  if (!elem) return fail_type(v.t, -EINVAL, "Invalid elem");
  if (is_kind(elem, BTF_KIND_INT) && !int_is_regular(elem)) return fail_type(v.t, -EINVAL, "Invalid array of int");
  if (a->nelems && elem_size > UINT32_MAX / a->nelems) return fail_type(v.t, -EINVAL, "Array size overflows U32_MAX");
  pop_resolved(elem_id, elem_size * a->nelems);
  return 0;
}

// A member whose type is a modifier (typedef, volatile, const, restrict,
// type tag) is checked as the type the modifiers resolve to, by the same
// flavour of check.
int Verifier::check_modifier_member(const struct btf_type *s, const struct btf_member *m, bool kflag) {
  uint32_t rid = m->type;
  const struct btf_type *rt = b_.type_id_size(&rid, nullptr);
  if (!rt) {
    log_member(s, m, "Invalid member");
    return -EINVAL;
  }
  struct btf_member rm = *m;
  rm.type = rid;
  return kflag ? check_kflag_member(s, &rm, rt) : check_member(s, &rm, rt);
}

int Verifier::check_member(const struct btf_type *s, const struct btf_member *m, const struct btf_type *mt) {
  uint32_t bits_off = m->offset, bytes_off = bits_off >> 3, ssize = s->size;
  switch (kind_of(mt)) {
    case BTF_KIND_INT: {
      uint32_t d = int_data(mt);
      if (UINT32_MAX - bits_off < BTF_INT_OFFSET(d)) {
        log_member(s, m, "bits_offset exceeds U32_MAX");
        return -EINVAL;
      }
      bits_off += BTF_INT_OFFSET(d);
      bytes_off = bits_off >> 3;
      uint32_t copy_bits = BTF_INT_BITS(d) + (bits_off & 7);
      if (copy_bits > kBitsPerU128) {
        log_member(s, m, "nr_copy_bits exceeds 128");
        return -EINVAL;
      }
      if (ssize < bytes_off || ssize - bytes_off < bits_roundup_bytes(copy_bits)) {
        log_member(s, m, "Member exceeds struct_size");
        return -EINVAL;
      }
      return 0;
    }
    case BTF_KIND_TYPEDEF:
    case BTF_KIND_VOLATILE:
    case BTF_KIND_CONST:
    case BTF_KIND_RESTRICT:
    case BTF_KIND_TYPE_TAG:
      return check_modifier_member(s, m, false);
    case BTF_KIND_PTR:
      if (bits_off & 7) {
        log_member(s, m, "Member is not byte aligned");
        return -EINVAL;
      }
      if (ssize - bytes_off < sizeof(void *)) {
        log_member(s, m, "Member exceeds struct_size");
        return -EINVAL;
      }
      return 0;
    case BTF_KIND_ARRAY: {
      if (bits_off & 7) {
        log_member(s, m, "Member is not byte aligned");
        return -EINVAL;
      }
      uint32_t aid = m->type, asize = 0;
      b_.type_id_size(&aid, &asize);
      if (ssize - bytes_off < asize) {
        log_member(s, m, "Member exceeds struct_size");
        return -EINVAL;
      }
      return 0;
    }
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION:
    case BTF_KIND_ENUM:
    case BTF_KIND_ENUM64:
      if (bits_off & 7) {
        log_member(s, m, "Member is not byte aligned");
        return -EINVAL;
      }
      if (ssize - bytes_off < mt->size) {
        log_member(s, m, "Member exceeds struct_size");
        return -EINVAL;
      }
      return 0;
    case BTF_KIND_FLOAT: {
      uint64_t align_bits = std::min<uint64_t>(sizeof(void *), mt->size) * 8;
      if (m->offset % align_bits) {
        log_member(s, m, "Member is not properly aligned");
        return -EINVAL;
      }
      if (uint64_t{m->offset} / 8 + mt->size > ssize) {
        log_member(s, m, "Member exceeds struct_size");
        return -EINVAL;
      }
      return 0;
    }
    default:
      log_basic(s, "Unsupported check_member");
      return -EINVAL;
  }
}

int Verifier::check_kflag_member(const struct btf_type *s, const struct btf_member *m, const struct btf_type *mt) {
  switch (kind_of(mt)) {
    case BTF_KIND_INT: {
      if (!int_is_regular(mt)) {
        log_member(s, m, "Invalid member base type");
        return -EINVAL;
      }
      uint32_t nr_bits = BTF_MEMBER_BITFIELD_SIZE(m->offset), bits_off = BTF_MEMBER_BIT_OFFSET(m->offset);
      uint32_t int_bits = BTF_INT_BITS(int_data(mt));
      if (!nr_bits) {
        if (bits_off & 7) {
          log_member(s, m, "Invalid member offset");
          return -EINVAL;
        }
        nr_bits = int_bits;
      } else if (nr_bits > int_bits) {
        log_member(s, m, "Invalid member bitfield_size");
        return -EINVAL;
      }
      uint32_t bytes_off = bits_off >> 3, copy_bits = nr_bits + (bits_off & 7);
      if (copy_bits > kBitsPerU128) {
        log_member(s, m, "nr_copy_bits exceeds 128");
        return -EINVAL;
      }
      if (s->size < bytes_off || s->size - bytes_off < bits_roundup_bytes(copy_bits)) {
        log_member(s, m, "Member exceeds struct_size");
        return -EINVAL;
      }
      return 0;
    }
    case BTF_KIND_ENUM:
    case BTF_KIND_ENUM64: {
      uint32_t bits_off = BTF_MEMBER_BIT_OFFSET(m->offset), nr_bits = BTF_MEMBER_BITFIELD_SIZE(m->offset);
      uint32_t int_bits = mt->size * 8;
      if (!nr_bits) {
        if (bits_off & 7) {
          log_member(s, m, "Member is not byte aligned");
          return -EINVAL;
        }
        nr_bits = int_bits;
      } else if (nr_bits > int_bits) {
        log_member(s, m, "Invalid member bitfield_size");
        return -EINVAL;
      }
      if (s->size < bits_roundup_bytes(bits_off + nr_bits)) {
        log_member(s, m, "Member exceeds struct_size");
        return -EINVAL;
      }
      return 0;
    }
    case BTF_KIND_TYPEDEF:
    case BTF_KIND_VOLATILE:
    case BTF_KIND_CONST:
    case BTF_KIND_RESTRICT:
    case BTF_KIND_TYPE_TAG:
      return check_modifier_member(s, m, true);
    case BTF_KIND_PTR:
    case BTF_KIND_ARRAY:
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION:
    case BTF_KIND_FLOAT: {
      if (BTF_MEMBER_BITFIELD_SIZE(m->offset)) {
        log_member(s, m, "Invalid member bitfield_size");
        return -EINVAL;
      }
      // No bitfield: the offset is a plain bit offset.
      return check_member(s, m, mt);
    }
    default:
      log_basic(s, "Unsupported check_kflag_member");
      return -EINVAL;
  }
}

int Verifier::struct_resolve(Vertex &v) {
  const btf_member *members = members_of(v.t);
  // Coming back after resolving a member's type: check that member now.
  if (v.next_member) {
    const btf_member *last = members + v.next_member - 1;
    uint32_t last_id = last->type;
    if (!resolved(last_id)) return -EINVAL;
    const struct btf_type *lt = b_.type_by_id(last_id);
    int err = kflag_of(v.t) ? check_kflag_member(v.t, last, lt) : check_member(v.t, last, lt);
    if (err) return err;
  }
  for (uint32_t i = v.next_member; i < vlen_of(v.t); i++) {
    const btf_member *m = members + i;
    uint32_t mid = m->type;
    const struct btf_type *mt = b_.type_by_id(mid);
    if (is_nosize_or_null(mt) || is_resolve_source_only(mt)) {
      log_member(v.t, m, "Invalid member");
      return -EINVAL;
    }
    if (!is_sink(mt) && !resolved(mid)) {
      v.next_member = static_cast<uint16_t>(i + 1);
      return push(mt, mid);
    }
    int err = kflag_of(v.t) ? check_kflag_member(v.t, m, mt) : check_member(v.t, m, mt);
    if (err) return err;
  }
  pop_resolved(0, 0);
  return 0;
}

int Verifier::datasec_resolve(Vertex &v) {
  const btf_var_secinfo *vsi = secinfos_of(v.t);
  for (uint32_t i = v.next_member; i < vlen_of(v.t); i++) {
    uint32_t var_id = vsi[i].type;
    const struct btf_type *var = b_.type_by_id(var_id);
    if (!var || !is_kind(var, BTF_KIND_VAR)) {
      log_vsi(v.t, &vsi[i], "Not a VAR kind member");
      return -EINVAL;
    }
    if (!is_sink(var) && !resolved(var_id)) {
      v.next_member = static_cast<uint16_t>(i + 1);
      return push(var, var_id);
    }
    uint32_t type_id = var->type, type_size = 0;
    if (!b_.type_id_size(&type_id, &type_size)) {
      log_vsi(v.t, &vsi[i], "Invalid type");
      return -EINVAL;
    }
    if (vsi[i].size < type_size) {
      log_vsi(v.t, &vsi[i], "Invalid size");
      return -EINVAL;
    }
  }
  pop_resolved(0, 0);
  return 0;
}

int Verifier::decl_tag_resolve(const Vertex &v) {
  uint32_t next_id = v.t->type;
  const struct btf_type *next = b_.type_by_id(next_id);
  bool target = next && (is_kind(next, BTF_KIND_FUNC) || is_struct(next) || is_kind(next, BTF_KIND_VAR) ||
                         is_kind(next, BTF_KIND_TYPEDEF));
  if (!target) return fail_type(v.t, -EINVAL, "Invalid type_id");
  if (!is_sink(next) && !resolved(next_id)) return push(next, next_id);
  int32_t component_idx = reinterpret_cast<const btf_decl_tag *>(v.t + 1)->component_idx;
  if (component_idx != -1) {
    if (is_kind(next, BTF_KIND_VAR) || is_kind(next, BTF_KIND_TYPEDEF))
      return fail_type(v.t, -EINVAL, "Invalid component_idx");
    uint32_t vlen;
    if (is_struct(next)) {
      vlen = vlen_of(next);
    } else {
      // A FUNC: its prototype's parameters (a resolved FUNC has one).
      const struct btf_type *proto = b_.type_by_id(next->type);
      vlen = proto && !is_void(proto) ? vlen_of(proto) : 0;
    }
    if (static_cast<uint32_t>(component_idx) >= vlen) return fail_type(v.t, -EINVAL, "Invalid component_idx");
  }
  pop_resolved(next_id, 0);
  return 0;
}

int Verifier::func_check(const struct btf_type *t) {
  const struct btf_type *proto = b_.type_by_id(t->type);
  if (!proto || !is_kind(proto, BTF_KIND_FUNC_PROTO)) return fail_type(t, -EINVAL, "Invalid type_id");
  const btf_param *args = params_of(proto);
  for (uint32_t i = 0; i < vlen_of(proto); i++)
    if (!args[i].name_off && args[i].type) return fail_type(t, -EINVAL, "Invalid arg#%u", i + 1);
  return 0;
}

int Verifier::resolve_step() {
  Vertex &v = stack_[top_ - 1];
  switch (kind_of(v.t)) {
    case BTF_KIND_PTR:
    case BTF_KIND_TYPEDEF:
    case BTF_KIND_VOLATILE:
    case BTF_KIND_CONST:
    case BTF_KIND_RESTRICT:
    case BTF_KIND_TYPE_TAG: return modifier_or_ptr_resolve(v);
    case BTF_KIND_VAR: return var_resolve(v);
    case BTF_KIND_ARRAY: return array_resolve(v);
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION: return struct_resolve(v);
    case BTF_KIND_DATASEC: return datasec_resolve(v);
    case BTF_KIND_DECL_TAG: return decl_tag_resolve(v);
    case BTF_KIND_FUNC: {
      if (int err = func_check(v.t)) return err;
      pop_resolved(v.t->type, 0);
      return 0;
    }
    default: log_basic(v.t, "Unsupported resolve"); return -EINVAL;
  }
}

bool Verifier::resolve_valid(const struct btf_type *t, uint32_t id) const {
  if (!resolved(id)) return false;
  uint32_t rid = b_.resolved_ids_[id], rsize = b_.resolved_sizes_[id];
  if (is_struct(t) || is_kind(t, BTF_KIND_DATASEC)) return !rid && !rsize;
  if (is_kind(t, BTF_KIND_DECL_TAG) || is_kind(t, BTF_KIND_FUNC)) return rid && !rsize;
  if (is_modifier(t) || is_kind(t, BTF_KIND_PTR) || is_kind(t, BTF_KIND_VAR)) {
    const struct btf_type *rt = b_.type_by_id(rid);
    return rt && !is_modifier(rt) && !is_kind(rt, BTF_KIND_VAR) && !is_kind(rt, BTF_KIND_DATASEC);
  }
  if (is_kind(t, BTF_KIND_ARRAY)) {
    const btf_array *a = array_of(t);
    uint32_t eid = a->type, esize = 0;
    const struct btf_type *e = b_.type_id_size(&eid, &esize);
    return e && !is_modifier(e) && a->nelems * esize == rsize;
  }
  return false;
}

int Verifier::resolve(const struct btf_type *t, uint32_t id) {
  uint32_t saved = log_id_;
  mode_ = Mode::kTbd;
  int err = push(t, id);
  while (!err && top_) {
    log_id_ = stack_[top_ - 1].id;
    err = resolve_step();
  }
  log_id_ = id;
  if (err == -E2BIG) {
    char msg[64];
    snprintf(msg, sizeof(msg), "Exceeded max resolving depth:%u", kMaxResolveDepth);
    log_type(t, msg);
  } else if (err == -EEXIST) {
    log_type(t, "Loop detected");
  }
  if (!err && !resolve_valid(t, id)) {
    log_type(t, "Invalid resolve state");
    err = -EINVAL;
  }
  // An error leaves vertices on the stack; nothing resolves after it.
  top_ = 0;
  log_id_ = saved;
  return err;
}

int Verifier::func_proto_check(const struct btf_type *t) {
  const btf_param *args = params_of(t);
  uint32_t n = vlen_of(t);
  if (t->type) {
    uint32_t ret_id = t->type;
    const struct btf_type *ret = b_.type_by_id(ret_id);
    if (!ret) return fail_type(t, -EINVAL, "Invalid return type");
    if (needs_resolve(ret) && !resolved(ret_id))
      if (int err = resolve(ret, ret_id)) return err;
    if (!b_.type_id_size(&ret_id, nullptr)) return fail_type(t, -EINVAL, "Invalid return type");
  }
  if (!n) return 0;
  // The last parameter may be a vararg: type 0, no name.
  if (!args[n - 1].type) {
    if (args[n - 1].name_off) return fail_type(t, -EINVAL, "Invalid arg#%u", n);
    n--;
  }
  for (uint32_t i = 0; i < n; i++) {
    uint32_t arg_id = args[i].type;
    const struct btf_type *arg = b_.type_by_id(arg_id);
    if (!arg) return fail_type(t, -EINVAL, "Invalid arg#%u", i + 1);
    if (args[i].name_off && (!name_offset_valid(args[i].name_off) || !name_valid_identifier(args[i].name_off)))
      return fail_type(t, -EINVAL, "Invalid arg#%u", i + 1);
    if (needs_resolve(arg) && !resolved(arg_id))
      if (int err = resolve(arg, arg_id)) return err;
    if (!b_.type_id_size(&arg_id, nullptr)) return fail_type(t, -EINVAL, "Invalid arg#%u", i + 1);
  }
  return 0;
}

int Verifier::check_all_types() {
  uint32_t n = b_.nr_types();
  b_.resolved_ids_.assign(n, 0);
  b_.resolved_sizes_.assign(n, 0);
  visit_.assign(n, kNotVisited);
  meta_phase_ = false;
  for (uint32_t id = 1; id < n; id++) {
    const struct btf_type *t = b_.type_by_id(id);
    log_id_ = id;
    if (needs_resolve(t) && !resolved(id))
      if (int err = resolve(t, id)) return err;
    if (is_kind(t, BTF_KIND_FUNC_PROTO))
      if (int err = func_proto_check(t)) return err;
  }
  return 0;
}

// Type tags must come first in a chain of modifiers (btf_check_type_tags).
int Verifier::check_type_tags() {
  uint32_t n = b_.nr_types();
  uint32_t good_id = 0;
  for (uint32_t i = 1; i < n; i++) {
    const struct btf_type *t = b_.type_by_id(i);
    if (!t) return -EINVAL;
    if (!is_modifier(t)) continue;
    int chain_limit = 32;
    uint32_t cur = i;
    bool in_tags = kind_of(t) == BTF_KIND_TYPE_TAG;
    while (t && !is_void(t) && is_modifier(t)) {
      if (!chain_limit--) {
        logf("Max chain length or cycle detected");
        return -ELOOP;
      }
      if (kind_of(t) == BTF_KIND_TYPE_TAG) {
        if (!in_tags) {
          logf("Type tags don't precede modifiers");
          return -EINVAL;
        }
      } else {
        in_tags = false;
      }
      if (cur <= good_id) break;
      cur = t->type;
      t = b_.type_by_id(cur);
      if (!t) return -EINVAL;
    }
    good_id = i;
  }
  return 0;
}

int Verifier::run() {
  if (int err = parse_hdr()) return err;
  if (int err = parse_str_sec()) return err;
  const btf_header &h = b_.hdr_;
  if (h.type_off & 3) {
    logf("Unaligned type_off");
    return -EINVAL;
  }
  if (!h.type_len) {
    logf("No type found");
    return -EINVAL;
  }
  b_.types_.assign(1, &kVoid);
  if (int err = check_all_metas()) return err;
  if (int err = check_all_types()) return err;
  return check_type_tags();
}

int Btf::parse(const uint8_t *data, uint32_t size, std::string *log, std::unique_ptr<Btf> *out) {
  if (size > kMaxSize) return -E2BIG;
  auto b = std::unique_ptr<Btf>(new Btf());
  // Place the blob so that what follows the header is 4-byte aligned: the
  // type section is read as 32-bit words (type_off itself must be aligned).
  uint32_t hdr_len = 0;
  if (size >= offsetof(struct btf_header, hdr_len) + sizeof(uint32_t))
    memcpy(&hdr_len, data + offsetof(struct btf_header, hdr_len), sizeof(hdr_len));
  uint32_t pad = (4 - (hdr_len & 3)) & 3;
  b->storage_.resize((uint64_t{size} + pad + 3) / 4 + 1);
  b->base_ = reinterpret_cast<uint8_t *>(b->storage_.data()) + pad;
  b->size_ = size;
  if (size) memcpy(b->base_, data, size);
  Verifier v(*b, log);
  if (int err = v.run()) return err;
  *out = std::move(b);
  return 0;
}

} // namespace userbpf::btf
