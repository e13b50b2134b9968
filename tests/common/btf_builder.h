// A tiny BTF blob builder for tests: types as raw words, a string table, and
// a header that can be bent afterwards to build corrupt blobs.
#pragma once

#include <linux/btf.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace ubt {

// The encodings the uapi header leaves to tools (tools/lib/bpf's libbpf_internal.h).
constexpr uint32_t btf_info_enc(uint32_t kind, uint32_t kflag, uint32_t vlen) {
  return (kflag << 31) | (kind << 24) | vlen;
}
constexpr uint32_t btf_int_enc(uint32_t encoding, uint32_t offset, uint32_t bits) {
  return (encoding << 24) | (offset << 16) | bits;
}

class BtfBuilder {
 public:
  BtfBuilder() { strings_.push_back('\0'); }

  // Offset of a string in the string section (added once).
  uint32_t str(const std::string &s) {
    if (s.empty()) return 0;
    size_t at = 0;
    while (at < strings_.size()) {
      if (at && std::string(strings_.c_str() + at) == s) return static_cast<uint32_t>(at);
      at += strlen(strings_.c_str() + at) + 1;
    }
    uint32_t off = static_cast<uint32_t>(strings_.size());
    strings_ += s;
    strings_.push_back('\0');
    return off;
  }

  // A type: its btf_type words followed by `extra` words. Returns its id.
  uint32_t type(uint32_t name_off, uint32_t kind, uint32_t vlen, bool kflag, uint32_t size_or_type,
                std::vector<uint32_t> extra = {}) {
    words_.push_back(name_off);
    words_.push_back(btf_info_enc(kind, kflag ? 1 : 0, vlen));
    words_.push_back(size_or_type);
    words_.insert(words_.end(), extra.begin(), extra.end());
    return ++nr_types_;
  }

  uint32_t int_type(const std::string &name, uint32_t size, uint32_t bits, uint32_t encoding = BTF_INT_SIGNED,
                    uint32_t offset = 0) {
    return type(str(name), BTF_KIND_INT, 0, false, size, {btf_int_enc(encoding, offset, bits)});
  }
  uint32_t ref(uint32_t kind, uint32_t target, const std::string &name = "") {
    return type(str(name), kind, 0, false, target);
  }
  uint32_t array(uint32_t elem, uint32_t index, uint32_t nelems) {
    return type(0, BTF_KIND_ARRAY, 0, false, 0, {elem, index, nelems});
  }
  struct Member {
    std::string name;
    uint32_t type;
    uint32_t bit_offset;
  };
  uint32_t composite(uint32_t kind, const std::string &name, uint32_t size, const std::vector<Member> &members,
                     bool kflag = false) {
    std::vector<uint32_t> extra;
    for (const Member &m : members) {
      extra.push_back(str(m.name));
      extra.push_back(m.type);
      extra.push_back(m.bit_offset);
    }
    return type(str(name), kind, static_cast<uint32_t>(members.size()), kflag, size, extra);
  }
  uint32_t func_proto(uint32_t ret, const std::vector<std::pair<std::string, uint32_t>> &params) {
    std::vector<uint32_t> extra;
    for (const auto &[n, t] : params) {
      extra.push_back(str(n));
      extra.push_back(t);
    }
    return type(0, BTF_KIND_FUNC_PROTO, static_cast<uint32_t>(params.size()), false, ret, extra);
  }
  uint32_t func(const std::string &name, uint32_t proto, uint32_t linkage = BTF_FUNC_GLOBAL) {
    return type(str(name), BTF_KIND_FUNC, linkage, false, proto);
  }
  uint32_t var(const std::string &name, uint32_t t, uint32_t linkage = BTF_VAR_GLOBAL_ALLOCATED) {
    return type(str(name), BTF_KIND_VAR, 0, false, t, {linkage});
  }
  struct SecVar {
    uint32_t type, offset, size;
  };
  uint32_t datasec(const std::string &name, uint32_t size, const std::vector<SecVar> &vars) {
    std::vector<uint32_t> extra;
    for (const SecVar &v : vars) extra.insert(extra.end(), {v.type, v.offset, v.size});
    return type(str(name), BTF_KIND_DATASEC, static_cast<uint32_t>(vars.size()), false, size, extra);
  }

  // The blob: header, types, strings. `hdr` can be edited before build_with().
  std::vector<uint8_t> build() const { return build_with(header()); }
  struct btf_header header() const {
    struct btf_header h = {};
    h.magic = BTF_MAGIC;
    h.version = BTF_VERSION;
    h.hdr_len = sizeof(h);
    h.type_off = 0;
    h.type_len = static_cast<uint32_t>(words_.size() * 4);
    h.str_off = h.type_len;
    h.str_len = static_cast<uint32_t>(strings_.size());
    return h;
  }
  std::vector<uint8_t> build_with(const struct btf_header &h) const {
    std::vector<uint8_t> out(sizeof(h) + words_.size() * 4 + strings_.size());
    memcpy(out.data(), &h, sizeof(h));
    if (!words_.empty()) memcpy(out.data() + sizeof(h), words_.data(), words_.size() * 4);
    memcpy(out.data() + sizeof(h) + words_.size() * 4, strings_.data(), strings_.size());
    return out;
  }
  std::vector<uint32_t> &words() { return words_; }
  std::string &strings() { return strings_; }

 private:
  std::vector<uint32_t> words_;
  std::string strings_;
  uint32_t nr_types_ = 0;
};

} // namespace ubt
