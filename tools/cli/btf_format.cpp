#include "btf_format.h"

#include <errno.h>
#include <string.h>

#include <cctype>
#include <cstdarg>
#include <cinttypes>
#include <cstdio>
#include <vector>
#include <algorithm>

#include <bpf/btf.h>
#include <linux/btf.h>

namespace ubcli {

// ---- BpftoolJsonWriter

void BpftoolJsonWriter::separate() {
  if (owe_separator_) out_ += ',';
  owe_separator_ = true;
}

void BpftoolJsonWriter::new_line() {
  if (!pretty_) return;
  out_ += '\n';
  out_.append(4 * depth_, ' ');
}

void BpftoolJsonWriter::open(char bracket) {
  separate();
  out_ += bracket;
  ++depth_;
  owe_separator_ = false;
}

void BpftoolJsonWriter::close(char bracket) {
  if (depth_ > 0) --depth_;
  // An empty object or array closes on its own line ("[]", "{}").
  if (owe_separator_) new_line();
  out_ += bracket;
  owe_separator_ = true;
}

void BpftoolJsonWriter::quoted(const std::string &text) {
  out_ += '"';
  for (char c : text) {
    switch (c) {
    case '\t': out_ += "\\t"; break;
    case '\n': out_ += "\\n"; break;
    case '\r': out_ += "\\r"; break;
    case '\f': out_ += "\\f"; break;
    case '\b': out_ += "\\b"; break;
    case '\\': out_ += "\\\\"; break;
    case '"': out_ += "\\\""; break;
    default: out_ += c;
    }
  }
  out_ += '"';
}

void BpftoolJsonWriter::name(const std::string &member) {
  separate();
  new_line();
  owe_separator_ = false;
  quoted(member);
  out_ += pretty_ ? ": " : ":";
}

void BpftoolJsonWriter::raw(const std::string &text) {
  separate();
  out_ += text;
}

void BpftoolJsonWriter::string(const std::string &text) {
  separate();
  quoted(text);
}

// ---- values by BTF type

namespace {

std::string format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char *fmt, ...) {
  char buf[128];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  return buf;
}

// Writes one value of a BTF type read from [data, end): every read is
// checked against end, so a type larger than the bytes given (a damaged or
// mismatched BTF) is an error, never a read past the buffer.
class ValueWriter {
public:
  ValueWriter(const struct btf *btf, BpftoolJsonWriter &out, bool plain_text)
      : btf_(btf), out_(out), plain_(plain_text) {}

  void write(uint32_t type_id, const uint8_t *data, const uint8_t *end) { write_type(type_id, 0, data, end, 0); }

private:
  // Deep enough for any real type; stops a cycle in a damaged BTF.
  static constexpr int kMaxDepth = 64;
  static constexpr uint32_t kMaxEmptyElements = 4096;

  const struct btf_type *type(uint32_t id) const {
    const struct btf_type *t = btf__type_by_id(btf_, id);
    if (!t) throw CliError("the map's BTF has no type " + std::to_string(id));
    return t;
  }

  std::string name_of(uint32_t name_off) const {
    const char *s = btf__name_by_offset(btf_, name_off);
    return s ? s : "";
  }

  static void need(const uint8_t *data, const uint8_t *end, size_t bytes) {
    if (data > end || static_cast<size_t>(end - data) < bytes)
      throw CliError("the map's BTF type is larger than its data");
  }

  template <typename T> static T read(const uint8_t *data, const uint8_t *end) {
    need(data, end, sizeof(T));
    T v;
    memcpy(&v, data, sizeof(T));
    return v;
  }

  // nr_bits bits starting bit_offset bits into data (little-endian), as
  // bpftool prints bitfields and odd-sized integers: hex.
  void write_bits(uint32_t nr_bits, uint32_t bit_offset, const uint8_t *data, const uint8_t *end) {
    data += bit_offset / 8;
    bit_offset %= 8;
    if (nr_bits == 0 || nr_bits > 128) throw CliError("the map's BTF has a " + std::to_string(nr_bits) + "-bit integer");
    size_t bytes = (bit_offset + nr_bits + 7) / 8;
    need(data, end, bytes);
    unsigned __int128 v = 0;
    for (size_t i = bytes; i-- > 0;) v = (v << 8) | data[i];
    v >>= bit_offset;
    if (nr_bits < 128) v &= (static_cast<unsigned __int128>(1) << nr_bits) - 1;
    write_u128(v);
  }

  void write_u128(unsigned __int128 v) {
    uint64_t upper = static_cast<uint64_t>(v >> 64), lower = static_cast<uint64_t>(v);
    std::string hex = upper ? format("0x%" PRIx64 "%016" PRIx64, upper, lower) : format("0x%" PRIx64, lower);
    out_.raw(plain_ ? hex : "\"" + hex + "\"");
  }

  void write_int(const struct btf_type *t, uint32_t bit_offset, const uint8_t *data, const uint8_t *end) {
    uint32_t bits = btf_int_bits(t);
    if (bit_offset || btf_int_offset(t) || bits % 8) {
      write_bits(bits, bit_offset + btf_int_offset(t), data, end);
      return;
    }
    if (bits == 128) {
      need(data, end, 16);
      unsigned __int128 v;
      memcpy(&v, data, 16);
      write_u128(v);
      return;
    }
    switch (btf_int_encoding(t)) {
    case 0:
      if (bits == 64) out_.raw(format("%" PRIu64, read<uint64_t>(data, end)));
      else if (bits == 32) out_.raw(format("%" PRIu32, read<uint32_t>(data, end)));
      else if (bits == 16) out_.raw(format("%u", unsigned{read<uint16_t>(data, end)}));
      else if (bits == 8) out_.raw(format("%u", unsigned{read<uint8_t>(data, end)}));
      else write_bits(bits, 0, data, end);
      return;
    case BTF_INT_SIGNED:
      if (bits == 64) out_.raw(format("%" PRId64, read<int64_t>(data, end)));
      else if (bits == 32) out_.raw(format("%" PRId32, read<int32_t>(data, end)));
      else if (bits == 16) out_.raw(format("%d", int{read<int16_t>(data, end)}));
      else if (bits == 8) out_.raw(format("%d", int{read<int8_t>(data, end)}));
      else write_bits(bits, 0, data, end);
      return;
    case BTF_INT_CHAR: {
      char c = static_cast<char>(read<uint8_t>(data, end));
      unsigned byte = static_cast<unsigned char>(c);
      if (isprint(byte)) out_.raw(format("\"%c\"", c));
      else if (plain_) out_.raw(format("0x%x", byte));
      else out_.raw(format("\"\\u00%02x\"", byte));
      return;
    }
    case BTF_INT_BOOL: {
      // The bool's own bytes (bpftool reads an int here, past a 1-byte bool).
      size_t size = t->size ? t->size : 1;
      need(data, end, size);
      bool set = false;
      for (size_t i = 0; i < size; i++) set |= data[i] != 0;
      out_.raw(set ? "true" : "false");
      return;
    }
    default:
      throw CliError("the map's BTF has an integer of unknown encoding " + std::to_string(btf_int_encoding(t)));
    }
  }

  // A char array holding a printable, NUL-terminated string prints as one.
  bool is_string(const struct btf_array *arr, const uint8_t *data, const uint8_t *end) const {
    if (arr->nelems == 0) return false;
    const struct btf_type *elem = btf__type_by_id(btf_, arr->type);
    while (elem && btf_is_mod(elem)) elem = btf__type_by_id(btf_, elem->type);
    if (!elem || !btf_is_int(elem) || elem->size != 1) return false;
    if (btf_int_encoding(elem) != BTF_INT_CHAR && name_of(elem->name_off) != "char") return false;
    if (data > end || static_cast<size_t>(end - data) < arr->nelems) return false;
    for (uint32_t i = 0; i < arr->nelems; i++) {
      if (data[i] == 0) return true;
      if (data[i] <= 0x1f || data[i] >= 0x7f) return false;
    }
    return false; // no terminating NUL
  }

  void write_type(uint32_t type_id, uint32_t bit_offset, const uint8_t *data, const uint8_t *end, int depth) {
    if (depth > kMaxDepth) throw CliError("the map's BTF types nest too deep (a loop?)");
    const struct btf_type *t = type(type_id);
    switch (btf_kind(t)) {
    case BTF_KIND_INT:
      write_int(t, bit_offset, data, end);
      return;
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION: {
      out_.begin_object();
      const struct btf_member *m = btf_members(t);
      for (uint32_t i = 0; i < btf_vlen(t); i++) {
        uint32_t member_bits = btf_member_bit_offset(t, i);
        uint32_t bitfield = btf_member_bitfield_size(t, i);
        out_.name(name_of(m[i].name_off));
        const uint8_t *at = data + member_bits / 8;
        if (bitfield) write_bits(bitfield, member_bits % 8, at, end);
        else write_type(m[i].type, member_bits % 8, at, end, depth + 1);
      }
      out_.end_object();
      return;
    }
    case BTF_KIND_ARRAY: {
      const struct btf_array *arr = btf_array(t);
      if (is_string(arr, data, end)) {
        out_.string(reinterpret_cast<const char *>(data));
        return;
      }
      long long elem_size = btf__resolve_size(btf_, arr->type);
      if (elem_size < 0) throw CliError("the map's BTF has an array of elements of no size");
      // Zero-sized elements take no bytes, so the data cannot bound them.
      if (elem_size == 0 && arr->nelems > kMaxEmptyElements)
        throw CliError("the map's BTF has an array of " + std::to_string(arr->nelems) + " empty elements");
      need(data, end, static_cast<size_t>(elem_size) * arr->nelems);
      out_.begin_array();
      for (uint32_t i = 0; i < arr->nelems; i++)
        write_type(arr->type, 0, data + i * static_cast<size_t>(elem_size), end, depth + 1);
      out_.end_array();
      return;
    }
    case BTF_KIND_ENUM: {
      int64_t value;
      switch (t->size) {
      case 8: value = read<int64_t>(data, end); break;
      case 4: value = read<int32_t>(data, end); break;
      case 2: value = read<int16_t>(data, end); break;
      case 1: value = read<int8_t>(data, end); break;
      default: throw CliError("the map's BTF has an enum of " + std::to_string(t->size) + " bytes");
      }
      const struct btf_enum *e = btf_enum(t);
      for (uint32_t i = 0; i < btf_vlen(t); i++)
        if (value == e[i].val) {
          out_.string(name_of(e[i].name_off));
          return;
        }
      out_.raw(format("%" PRId64, value));
      return;
    }
    case BTF_KIND_ENUM64: {
      uint64_t value = read<uint64_t>(data, end);
      const struct btf_enum64 *e = btf_enum64(t);
      for (uint32_t i = 0; i < btf_vlen(t); i++)
        if (value == btf_enum64_value(&e[i])) {
          out_.string(name_of(e[i].name_off));
          return;
        }
      out_.raw(format("%" PRId64, static_cast<int64_t>(value)));
      return;
    }
    case BTF_KIND_PTR: {
      uint64_t value = read<uint64_t>(data, end);
      // printf's "%p" in plain text, as bpftool.
      if (plain_) out_.raw(value ? format("0x%" PRIx64, value) : "(nil)");
      else out_.raw(format("%" PRIu64, value));
      return;
    }
    case BTF_KIND_FLOAT: {
      // bpftool has no case for floats; print the number.
      if (t->size == 4) out_.raw(format("%.9g", static_cast<double>(read<float>(data, end))));
      else if (t->size == 8) out_.raw(format("%.17g", read<double>(data, end)));
      else write_bits(8 * t->size, 0, data, end);
      return;
    }
    case BTF_KIND_TYPEDEF:
    case BTF_KIND_VOLATILE:
    case BTF_KIND_CONST:
    case BTF_KIND_RESTRICT:
    case BTF_KIND_TYPE_TAG:
      write_type(t->type, bit_offset, data, end, depth + 1);
      return;
    case BTF_KIND_VAR:
      out_.begin_object();
      out_.name(name_of(t->name_off));
      write_type(t->type, bit_offset, data, end, depth + 1);
      out_.end_object();
      return;
    case BTF_KIND_DATASEC: {
      // A global data section: {".data": [{"var": value}, ...]}.
      out_.begin_object();
      out_.name(name_of(t->name_off));
      out_.begin_array();
      const struct btf_var_secinfo *v = btf_var_secinfos(t);
      for (uint32_t i = 0; i < btf_vlen(t); i++) write_type(v[i].type, 0, data + v[i].offset, end, depth + 1);
      out_.end_array();
      out_.end_object();
      return;
    }
    default:
      throw CliError("the map's BTF type " + std::to_string(type_id) + " is of a kind (" +
                     std::to_string(btf_kind(t)) + ") a map element cannot have");
    }
  }

  const struct btf *btf_;
  BpftoolJsonWriter &out_;
  bool plain_;
};

} // namespace

// ---- MapBtf

std::unique_ptr<MapBtf> MapBtf::for_map(const bpf_map_info &info) {
  if (!info.btf_id || !info.btf_value_type_id) return nullptr;
  struct btf *btf = btf__load_from_kernel_by_id(info.btf_id);
  if (!btf) throw CliError(errno_message("can't get the map's BTF (id " + std::to_string(info.btf_id) + ")", errno));
  return std::unique_ptr<MapBtf>(new MapBtf(btf, info));
}

MapBtf::~MapBtf() { btf__free(btf_); }

void MapBtf::write_element(BpftoolJsonWriter &out, const uint8_t *key, const uint8_t *value, unsigned percpu_cpus,
                           bool plain_text) const {
  ValueWriter values(btf_, out, plain_text);
  out.begin_object();
  if (info_.btf_key_type_id) {
    out.name("key");
    values.write(info_.btf_key_type_id, key, key + info_.key_size);
  }
  if (percpu_cpus == 0) {
    out.name("value");
    values.write(info_.btf_value_type_id, value, value + info_.value_size);
  } else {
    size_t slot = (static_cast<size_t>(info_.value_size) + 7) / 8 * 8;
    out.name("values");
    out.begin_array();
    for (unsigned cpu = 0; cpu < percpu_cpus; cpu++) {
      out.begin_object();
      out.name("cpu");
      out.raw(std::to_string(cpu));
      out.name("value");
      const uint8_t *slot_data = value + cpu * slot;
      values.write(info_.btf_value_type_id, slot_data, slot_data + info_.value_size);
      out.end_object();
    }
    out.end_array();
  }
  out.end_object();
}

// ---- program annotations

namespace {

// The C spelling of a type, word by word with a trailing blank as bpftool
// writes it ("struct xdp_md * "): the prototype line of `prog dump xlated`.
std::string type_words(const struct btf *btf, uint32_t id, int depth = 0) {
  if (id == 0) return "void ";
  const struct btf_type *t = btf__type_by_id(btf, id);
  if (!t || depth > 64) return "? ";
  const char *n = btf__name_by_offset(btf, t->name_off);
  std::string name = n ? n : "";
  switch (btf_kind(t)) {
  case BTF_KIND_INT:
  case BTF_KIND_TYPEDEF:
  case BTF_KIND_FLOAT: return name + " ";
  case BTF_KIND_STRUCT: return "struct " + name + " ";
  case BTF_KIND_UNION: return "union " + name + " ";
  case BTF_KIND_ENUM:
  case BTF_KIND_ENUM64: return "enum " + name + " ";
  case BTF_KIND_FWD: return (btf_kflag(t) ? "union " : "struct ") + name + " ";
  case BTF_KIND_ARRAY: return type_words(btf, btf_array(t)->type, depth + 1) + "[" + std::to_string(btf_array(t)->nelems) + "]";
  case BTF_KIND_PTR: return type_words(btf, t->type, depth + 1) + "* ";
  case BTF_KIND_CONST: return "const " + type_words(btf, t->type, depth + 1);
  case BTF_KIND_VOLATILE: return "volatile " + type_words(btf, t->type, depth + 1);
  case BTF_KIND_RESTRICT: return "restrict " + type_words(btf, t->type, depth + 1);
  case BTF_KIND_TYPE_TAG: return type_words(btf, t->type, depth + 1);
  default: return "? ";
  }
}

// "int prog(struct xdp_md * ctx)" for a FUNC type; empty for anything else.
std::string func_prototype(const struct btf *btf, uint32_t func_id) {
  const struct btf_type *func = btf__type_by_id(btf, func_id);
  if (!func || !btf_is_func(func)) return "";
  const struct btf_type *proto = btf__type_by_id(btf, func->type);
  if (!proto || !btf_is_func_proto(proto)) return "";
  const char *name = btf__name_by_offset(btf, func->name_off);
  std::string sig = type_words(btf, proto->type) + (name ? name : "") + "(";
  const struct btf_param *params = btf_params(proto);
  for (uint32_t i = 0; i < btf_vlen(proto); i++) {
    if (i) sig += ", ";
    if (i + 1 == btf_vlen(proto) && params[i].type == 0) {
      sig += "...";
      break;
    }
    const char *param = btf__name_by_offset(btf, params[i].name_off);
    sig += type_words(btf, params[i].type) + (param ? param : "");
  }
  return sig + ")";
}

// OBJ_GET_INFO_BY_FD asking for the func_info and line_info arrays (sized by
// a first call).
void prog_info(int prog_fd, bpf_prog_info *info) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.info.bpf_fd = static_cast<uint32_t>(prog_fd);
  attr.info.info_len = sizeof(*info);
  attr.info.info = reinterpret_cast<uintptr_t>(info);
  if (bpf_call(BPF_OBJ_GET_INFO_BY_FD, attr) < 0) fail_errno("can't get program info");
}

} // namespace

std::unique_ptr<ProgSourceInfo> ProgSourceInfo::for_prog(int prog_fd) {
  bpf_prog_info info;
  memset(&info, 0, sizeof(info));
  prog_info(prog_fd, &info);
  if (!info.btf_id || (!info.nr_func_info && !info.nr_line_info)) return nullptr;
  const uint32_t nr_func = info.nr_func_info, nr_line = info.nr_line_info;
  std::vector<bpf_func_info> funcs(nr_func);
  std::vector<bpf_line_info> lines(nr_line);
  const uint32_t btf_id = info.btf_id;
  memset(&info, 0, sizeof(info));
  info.nr_func_info = nr_func;
  info.func_info_rec_size = sizeof(bpf_func_info);
  info.func_info = reinterpret_cast<uintptr_t>(funcs.data());
  info.nr_line_info = nr_line;
  info.line_info_rec_size = sizeof(bpf_line_info);
  info.line_info = reinterpret_cast<uintptr_t>(lines.data());
  prog_info(prog_fd, &info);
  // The program cannot change, but trust only what both calls agree on.
  funcs.resize(std::min(nr_func, info.nr_func_info));
  lines.resize(std::min(nr_line, info.nr_line_info));

  struct btf *btf = btf__load_from_kernel_by_id(btf_id);
  if (!btf) throw CliError(errno_message("can't get the program's BTF (id " + std::to_string(btf_id) + ")", errno));
  std::unique_ptr<ProgSourceInfo> result(new ProgSourceInfo);
  for (const auto &f : funcs) {
    std::string sig = func_prototype(btf, f.type_id);
    if (!sig.empty()) result->prototypes_.emplace(f.insn_off, sig);
  }
  for (const auto &l : lines) {
    const char *text = btf__name_by_offset(btf, l.line_off);
    if (!text) continue;
    while (isspace(static_cast<unsigned char>(*text))) ++text;
    result->lines_.emplace(l.insn_off, text); // the first record at an offset wins
  }
  btf__free(btf);
  return result;
}

std::optional<std::string> ProgSourceInfo::prototype_at(uint32_t insn) const {
  auto it = prototypes_.find(insn);
  if (it == prototypes_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> ProgSourceInfo::source_at(uint32_t insn) const {
  auto it = lines_.find(insn);
  if (it == lines_.end()) return std::nullopt;
  return it->second;
}

Json MapBtf::element_json(const uint8_t *key, const uint8_t *value, unsigned percpu_cpus) const {
  BpftoolJsonWriter out(false);
  write_element(out, key, value, percpu_cpus, false);
  // Valid JSON by construction in non-plain mode (strings are printable
  // ASCII, pointers numbers, wide integers quoted).
  try {
    return Json::parse(out.text());
  } catch (const Json::exception &e) {
    throw CliError(std::string("the map's BTF-formatted element is not valid JSON: ") + e.what());
  }
}

} // namespace ubcli
