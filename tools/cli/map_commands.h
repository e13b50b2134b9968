// `userbpf map ...`: the bpftool map verbs over userbpf's C ABI.
#pragma once

#include <string>
#include <vector>

#include "cli_common.h"

namespace ubcli {

// How results are printed: bpftool's plain text, or JSON (-j, -p).
struct OutputMode {
  bool json = false;
  bool pretty = false;
  bool show_pinned = false; // -f: list pinned paths in `map show`
};

// Every verb reads its bpftool-style words, prints its result (plain text to
// stdout, or fills *json_out in JSON mode) and throws CliError on failure.
using MapVerb = void (*)(std::vector<std::string> words, const OutputMode &mode, Json *json_out);

struct MapVerbInfo {
  const char *name;
  const char *usage;   // the words after the verb
  const char *summary; // one line for --help
  MapVerb run;
};

const std::vector<MapVerbInfo> &map_verbs();

// Names of map types as bpftool prints them ("hash", "percpu_array", ...).
std::string map_type_name(uint32_t type);

} // namespace ubcli
