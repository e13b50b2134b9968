// Map keys and values printed through their BTF types, shaped as bpftool
// prints them: plain text is bpftool's pretty "JSON" (its json_writer layout,
// with its few non-JSON spellings such as "(nil)" pointers), and -j mode adds
// the same data as JSON under "formatted".
//
// The BTF comes from userbpf itself (BTF_GET_FD_BY_ID + BTF info, through
// libbpf's btf__load_from_kernel_by_id, whose bpf() calls libuserbpf serves).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "cli_common.h"

struct btf;

namespace ubcli {

// bpftool's json_writer layout: with pretty, every member name starts a new
// line indented four spaces per level, while array elements stay on the line
// of the '[' ("[0,0\n    ]"); without pretty, compact JSON.
class BpftoolJsonWriter {
public:
  explicit BpftoolJsonWriter(bool pretty) : pretty_(pretty) {}

  void begin_object() { open('{'); }
  void end_object() { close('}'); }
  void begin_array() { open('['); }
  void end_array() { close(']'); }
  void name(const std::string &member);
  // A value written as given ("7", "true", "(nil)").
  void raw(const std::string &text);
  // A string value, quoted and escaped as bpftool's writer does.
  void string(const std::string &text);

  const std::string &text() const { return out_; }

private:
  void open(char bracket);
  void close(char bracket);
  void separate(); // the ',' owed before the next item, if any
  void new_line();
  void quoted(const std::string &text);

  bool pretty_;
  unsigned depth_ = 0;
  bool owe_separator_ = false;
  std::string out_;
};

// A map's BTF and the ids of its key and value types.
class MapBtf {
public:
  // nullptr when the map has no BTF value type (bpftool then prints hex);
  // CliError when it has one that cannot be read.
  static std::unique_ptr<MapBtf> for_map(const bpf_map_info &info);
  ~MapBtf();
  MapBtf(const MapBtf &) = delete;
  MapBtf &operator=(const MapBtf &) = delete;

  // One element as bpftool's do_dump_btf: {"key": ..., "value": ...}, or
  // for a per-CPU map (percpu_cpus > 0) "values": [{"cpu": N, "value": ...}]
  // with value holding every CPU's slot, each rounded up to 8 bytes.
  // plain_text picks bpftool's plain spellings (pointers "%p", unprintable
  // chars 0x..) over JSON's. CliError when the data does not fit its type.
  void write_element(BpftoolJsonWriter &out, const uint8_t *key, const uint8_t *value, unsigned percpu_cpus,
                     bool plain_text) const;

  // The same element as JSON (for -j's "formatted").
  Json element_json(const uint8_t *key, const uint8_t *value, unsigned percpu_cpus) const;

private:
  MapBtf(struct btf *btf, const bpf_map_info &info) : btf_(btf), info_(info) {}

  struct btf *btf_;
  bpf_map_info info_;
};

// A program's BTF annotations, as bpftool's `prog dump xlated` prints them:
// at each func_info record's instruction the function's C prototype, and at
// each line_info record's instruction its source line (from the BTF string
// section), both by the insn_off the records hold.
class ProgSourceInfo {
public:
  // nullptr when the program was loaded without BTF (no func_info or
  // line_info); CliError when it has some that cannot be read.
  static std::unique_ptr<ProgSourceInfo> for_prog(int prog_fd);

  // "int prog(struct xdp_md * ctx)" when a function starts at insn.
  std::optional<std::string> prototype_at(uint32_t insn) const;
  // The source line, leading blanks trimmed, when a line starts at insn.
  std::optional<std::string> source_at(uint32_t insn) const;

private:
  std::map<uint32_t, std::string> prototypes_, lines_;
};

} // namespace ubcli
