#include "map_commands.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>

#include "btf_format.h"
#include "cli_common.h"
#include "pins.h"

namespace ubcli {
namespace {

// bpftool's names, indexed by the <linux/bpf.h> constant.
struct MapTypeName {
  uint32_t type;
  const char *name;
};
constexpr MapTypeName kMapTypeNames[] = {
    {BPF_MAP_TYPE_HASH, "hash"},
    {BPF_MAP_TYPE_ARRAY, "array"},
    {BPF_MAP_TYPE_PROG_ARRAY, "prog_array"},
    {BPF_MAP_TYPE_PERF_EVENT_ARRAY, "perf_event_array"},
    {BPF_MAP_TYPE_PERCPU_HASH, "percpu_hash"},
    {BPF_MAP_TYPE_PERCPU_ARRAY, "percpu_array"},
    {BPF_MAP_TYPE_STACK_TRACE, "stack_trace"},
    {BPF_MAP_TYPE_CGROUP_ARRAY, "cgroup_array"},
    {BPF_MAP_TYPE_LRU_HASH, "lru_hash"},
    {BPF_MAP_TYPE_LRU_PERCPU_HASH, "lru_percpu_hash"},
    {BPF_MAP_TYPE_LPM_TRIE, "lpm_trie"},
    {BPF_MAP_TYPE_ARRAY_OF_MAPS, "array_of_maps"},
    {BPF_MAP_TYPE_HASH_OF_MAPS, "hash_of_maps"},
    {BPF_MAP_TYPE_DEVMAP, "devmap"},
    {BPF_MAP_TYPE_SOCKMAP, "sockmap"},
    {BPF_MAP_TYPE_CPUMAP, "cpumap"},
    {BPF_MAP_TYPE_XSKMAP, "xskmap"},
    {BPF_MAP_TYPE_SOCKHASH, "sockhash"},
    {BPF_MAP_TYPE_CGROUP_STORAGE, "cgroup_storage"},
    {BPF_MAP_TYPE_REUSEPORT_SOCKARRAY, "reuseport_sockarray"},
    {BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE, "percpu_cgroup_storage"},
    {BPF_MAP_TYPE_QUEUE, "queue"},
    {BPF_MAP_TYPE_STACK, "stack"},
    {BPF_MAP_TYPE_SK_STORAGE, "sk_storage"},
    {BPF_MAP_TYPE_DEVMAP_HASH, "devmap_hash"},
    {BPF_MAP_TYPE_STRUCT_OPS, "struct_ops"},
    {BPF_MAP_TYPE_RINGBUF, "ringbuf"},
    {BPF_MAP_TYPE_INODE_STORAGE, "inode_storage"},
    {BPF_MAP_TYPE_TASK_STORAGE, "task_storage"},
    {BPF_MAP_TYPE_BLOOM_FILTER, "bloom_filter"},
    {BPF_MAP_TYPE_USER_RINGBUF, "user_ringbuf"},
};

uint32_t parse_map_type(const std::string &word) {
  for (const auto &t : kMapTypeNames)
    if (word == t.name) return t.type;
  // A number is accepted too, for types this table does not name yet.
  if (!word.empty() && isdigit(static_cast<unsigned char>(word[0]))) return parse_number(word, "map type", UINT32_MAX);
  std::string known;
  for (const auto &t : kMapTypeNames) known += std::string(known.empty() ? "" : ", ") + t.name;
  throw CliError("unknown map type '" + word + "' (known: " + known + ")");
}

// Per-CPU maps hold one value per possible CPU; user space reads and writes
// them all at once, each slot rounded up to 8 bytes (as the kernel does).
bool is_percpu(uint32_t type) {
  return type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_ARRAY ||
         type == BPF_MAP_TYPE_LRU_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

uint32_t possible_cpus() {
  int n = userbpf_num_possible_cpus();
  return n > 0 ? static_cast<uint32_t>(n) : 1;
}

// How many per-CPU values an element has (0: one plain value).
unsigned percpu_cpus(const bpf_map_info &info) { return is_percpu(info.type) ? possible_cpus() : 0; }

size_t percpu_slot_size(const bpf_map_info &info) { return (static_cast<size_t>(info.value_size) + 7) / 8 * 8; }

// Bytes of the user buffer for one value: value_size, or all CPUs' slots.
size_t value_buffer_size(const bpf_map_info &info) {
  return is_percpu(info.type) ? percpu_slot_size(info) * possible_cpus() : info.value_size;
}

// ---- objects by id / path

bpf_map_info get_map_info(int fd) {
  bpf_map_info info;
  if (map_info_by_fd(fd, &info) < 0) fail_errno("can't get map info");
  return info;
}

// The next map id after start_id, or nullopt when there is none.
std::optional<uint32_t> next_map_id(uint32_t start_id) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.start_id = start_id;
  if (bpf_call(BPF_MAP_GET_NEXT_ID, attr) < 0) {
    if (errno == ENOENT) return std::nullopt;
    fail_errno("can't get next map id");
  }
  return attr.next_id;
}

// The name as a string; never reads past the 16-byte field.
std::string map_name(const bpf_map_info &info) { return std::string(info.name, strnlen(info.name, sizeof(info.name))); }

// -1 with errno when the map is gone (ENOENT) or cannot be opened.
int map_fd_by_id(uint32_t id) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.map_id = id;
  return static_cast<int>(bpf_call(BPF_MAP_GET_FD_BY_ID, attr));
}

struct OpenMap {
  Fd fd;
  bpf_map_info info;
};

OpenMap open_map_fd(Fd fd) {
  OpenMap m;
  m.info = get_map_info(fd.get());
  m.fd = std::move(fd);
  return m;
}

// Every map whose name is `name`.
std::vector<OpenMap> maps_named(const std::string &name) {
  std::vector<OpenMap> found;
  uint32_t id = 0;
  while (auto next = next_map_id(id)) {
    id = *next;
    Fd fd(map_fd_by_id(id));
    if (fd.get() < 0) continue; // freed between GET_NEXT_ID and GET_FD_BY_ID
    bpf_map_info info = get_map_info(fd.get());
    if (name == map_name(info)) found.push_back(OpenMap{std::move(fd), info});
  }
  return found;
}

// MAP := id ID | pinned FILE | name NAME, as bpftool.
std::vector<OpenMap> open_maps(Words &words) {
  std::string how = words.next("map reference (id ID | pinned FILE | name NAME)");
  if (how == "id") {
    std::string word = words.next("map id");
    uint32_t id = static_cast<uint32_t>(parse_number(word, "map id", UINT32_MAX));
    Fd fd(map_fd_by_id(id));
    if (fd.get() < 0) fail_errno("can't get map by id " + word);
    std::vector<OpenMap> maps;
    maps.push_back(open_map_fd(std::move(fd)));
    return maps;
  }
  if (how == "pinned") {
    std::string path = words.next("pinned path");
    Fd fd(open_pinned(path));
    if (fd.get() < 0) fail_errno("can't open pinned object " + path);
    bpf_map_info info;
    if (map_info_by_fd(fd.get(), &info) < 0 || !is_map_fd(fd.get(), info))
      throw CliError(path + " is a pinned object, but not a map");
    std::vector<OpenMap> maps;
    maps.push_back(OpenMap{std::move(fd), info});
    return maps;
  }
  if (how == "name") {
    std::string name = words.next("map name");
    auto maps = maps_named(name);
    if (maps.empty()) throw CliError("no map named '" + name + "'");
    return maps;
  }
  throw CliError("expected 'id', 'pinned' or 'name' to name a map, got '" + how + "'");
}

// Exactly one map (verbs that change a map refuse an ambiguous name).
OpenMap open_one_map(Words &words) {
  auto maps = open_maps(words);
  if (maps.size() > 1)
    throw CliError(std::to_string(maps.size()) + " maps have the name '" + map_name(maps[0].info) +
                   "': name one with 'id ID' or 'pinned FILE'");
  return std::move(maps[0]);
}

// Why a BPF_OBJ_PIN failed, with the hint a bpffs user needs.
std::string pin_error(const std::string &what, const std::string &path, int err) {
  std::string msg = errno_message(what + " at " + path, err);
  if (err == EPERM)
    msg += std::string(" (pins go under /sys/fs/bpf/ or inside the pin root ") + userbpf_fs_root() + ")";
  else if (err == ENOENT)
    msg += " (the directory must exist first: mkdir it under the pin root)";
  return msg;
}

// ---- printing

// bpftool's plain layout: 16 bytes per line, an extra space between the two
// groups of 8.
std::string hex_block(const uint8_t *data, size_t len) {
  std::string s;
  for (size_t i = 0; i < len; ++i) {
    if (i) s += (i % 16 == 0) ? "\n" : (i % 8 == 0) ? "  " : " ";
    s += hex_string(data + i, 1);
  }
  return s;
}

void print_hex_block(const uint8_t *data, size_t len) { std::cout << hex_block(data, len) << "\n"; }

// bpftool's JSON element: hex bytes, and under "formatted" the same element
// through the map's BTF when it has one.
Json element_json(const bpf_map_info &info, const uint8_t *key, const uint8_t *value, const MapBtf *btf) {
  Json elem;
  elem["key"] = hex_json(key, info.key_size);
  if (is_percpu(info.type)) {
    Json values = Json::array();
    for (uint32_t cpu = 0; cpu < possible_cpus(); ++cpu)
      values.push_back({{"cpu", cpu}, {"value", hex_json(value + cpu * percpu_slot_size(info), info.value_size)}});
    elem["values"] = values;
  } else {
    elem["value"] = hex_json(value, info.value_size);
  }
  if (btf) elem["formatted"] = btf->element_json(key, value, percpu_cpus(info));
  return elem;
}

// One element, laid out as bpftool does: a short key and value share a line,
// long ones (over 16 bytes) get blocks of their own, per-CPU maps one
// "value (CPU NN)" per CPU.
void print_element(const bpf_map_info &info, const uint8_t *key, const uint8_t *value) {
  if (is_percpu(info.type)) {
    if (info.key_size) std::cout << "key:\n" << hex_block(key, info.key_size) << "\n";
    if (info.value_size == 0) return;
    char label[32];
    for (uint32_t cpu = 0; cpu < possible_cpus(); ++cpu) {
      snprintf(label, sizeof(label), "value (CPU %02u):%c", cpu, info.value_size > 16 ? '\n' : ' ');
      std::cout << label << hex_block(value + cpu * percpu_slot_size(info), info.value_size) << "\n";
    }
    return;
  }
  bool own_lines = info.key_size > 16 || info.value_size > 16;
  bool one_line = !own_lines && info.key_size + info.value_size <= 24;
  const char *after_label = own_lines ? "\n" : " ";
  if (info.key_size)
    std::cout << "key:" << after_label << hex_block(key, info.key_size) << (one_line ? "  " : "\n");
  if (info.value_size) std::cout << "value:" << after_label << hex_block(value, info.value_size);
  std::cout << "\n";
}

Json map_info_json(const bpf_map_info &info) {
  Json j;
  j["id"] = info.id;
  std::string type = map_type_name(info.type);
  if (type.empty()) j["type"] = info.type;
  else j["type"] = type;
  if (info.name[0]) j["name"] = map_name(info);
  j["flags"] = info.map_flags;
  j["bytes_key"] = info.key_size;
  j["bytes_value"] = info.value_size;
  j["max_entries"] = info.max_entries;
  if (info.map_extra) j["map_extra"] = info.map_extra;
  return j;
}

void print_map_info(const bpf_map_info &info, const std::vector<std::string> &pins) {
  std::string type = map_type_name(info.type);
  std::cout << info.id << ": " << (type.empty() ? "type " + std::to_string(info.type) : type) << "  ";
  if (info.name[0]) std::cout << "name " << map_name(info) << "  ";
  char flags[32];
  snprintf(flags, sizeof(flags), "flags 0x%x", info.map_flags);
  std::cout << flags << "\n";
  std::cout << "\tkey " << info.key_size << "B  value " << info.value_size << "B  max_entries " << info.max_entries;
  if (info.map_extra) std::cout << "  map_extra " << info.map_extra;
  std::cout << "\n";
  for (const auto &p : pins) std::cout << "\tpinned " << p << "\n";
}

std::vector<uint8_t> parse_key(Words &words, const bpf_map_info &info) {
  // Maps without keys (queue, stack, bloom filter) take none.
  if (info.key_size == 0) return {};
  if (!words.accept("key")) throw CliError("'key' expected (the map's keys are " + std::to_string(info.key_size) + " bytes)");
  return parse_bytes(words, "key", info.key_size);
}

const uint8_t *ptr_or_null(const std::vector<uint8_t> &v) { return v.empty() ? nullptr : v.data(); }

// ---- verbs

void verb_show(std::vector<std::string> args, const OutputMode &mode, Json *out) {
  Words words(std::move(args));
  std::vector<OpenMap> maps;
  bool all = words.empty();
  if (all) {
    uint32_t id = 0;
    while (auto next = next_map_id(id)) {
      id = *next;
      Fd fd(map_fd_by_id(id));
      if (fd.get() < 0) {
        if (errno == ENOENT) continue; // freed meanwhile
        fail_errno("can't get map by id " + std::to_string(id));
      }
      maps.push_back(open_map_fd(std::move(fd)));
    }
  } else {
    maps = open_maps(words);
    words.expect_end();
  }
  PinIndex pins;
  if (mode.show_pinned) pins = index_pinned_maps();
  Json list = Json::array();
  for (const auto &m : maps) {
    auto it = pins.find(m.info.id);
    std::vector<std::string> paths = it == pins.end() ? std::vector<std::string>{} : it->second;
    if (mode.json) {
      Json j = map_info_json(m.info);
      if (mode.show_pinned) j["pinned"] = paths;
      list.push_back(j);
    } else {
      print_map_info(m.info, paths);
    }
  }
  // bpftool prints one object for a single named map, an array for a listing.
  if (mode.json) *out = (!all && list.size() == 1) ? list[0] : list;
}

void verb_dump(std::vector<std::string> args, const OutputMode &mode, Json *out) {
  Words words(std::move(args));
  OpenMap m = open_one_map(words);
  words.expect_end();
  const bpf_map_info &info = m.info;
  if (info.key_size == 0)
    throw CliError("can't dump a map of type " + map_type_name(info.type) + ": it has no keys to walk");

  std::vector<uint8_t> key(info.key_size), next_key(info.key_size), value(value_buffer_size(info));
  // With BTF, bpftool's plain dump is one pretty "JSON" array of elements.
  std::unique_ptr<MapBtf> btf = MapBtf::for_map(info);
  BpftoolJsonWriter pretty(true);
  if (btf && !mode.json) pretty.begin_array();
  Json elements = Json::array();
  uint64_t found = 0, failed = 0;
  bool first = true;
  // A map never holds more than max_entries elements; the bound keeps a walk
  // finite even if the map changes underneath (a hash walk restarts at the
  // first key when the current one is deleted).
  for (uint64_t steps = 0; steps < info.max_entries; ++steps) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.map_fd = static_cast<uint32_t>(m.fd.get());
    attr.key = first ? 0 : reinterpret_cast<uintptr_t>(key.data());
    attr.next_key = reinterpret_cast<uintptr_t>(next_key.data());
    if (bpf_call(BPF_MAP_GET_NEXT_KEY, attr) < 0) {
      if (errno == ENOENT) break; // walked past the last key
      fail_errno("can't get next key");
    }
    first = false;
    key = next_key;

    memset(&attr, 0, sizeof(attr));
    attr.map_fd = static_cast<uint32_t>(m.fd.get());
    attr.key = reinterpret_cast<uintptr_t>(key.data());
    attr.value = reinterpret_cast<uintptr_t>(value.data());
    if (bpf_call(BPF_MAP_LOOKUP_ELEM, attr) < 0) {
      if (errno == ENOENT) continue; // deleted between GET_NEXT_KEY and LOOKUP
      // Some types (e.g. perf_event_array) cannot be read from user space:
      // show the key and why its value is missing, and go on.
      std::string why = errno_message("lookup failed", errno);
      ++failed;
      if (mode.json) {
        elements.push_back({{"key", hex_json(key.data(), key.size())}, {"error", why}});
      } else if (btf) {
        std::cerr << "key " << hex_string(key.data(), key.size()) << ": " << why << "\n";
      } else {
        std::cout << "key: " << hex_string(key.data(), key.size()) << "  value: <" << why << ">\n";
      }
      continue;
    }
    ++found;
    if (mode.json) elements.push_back(element_json(info, key.data(), value.data(), btf.get()));
    else if (btf) btf->write_element(pretty, key.data(), value.data(), percpu_cpus(info), true);
    else print_element(info, key.data(), value.data());
  }
  if (mode.json) {
    *out = elements;
  } else if (btf) {
    pretty.end_array(); // bpftool says no "Found N elements" after a BTF dump
    std::cout << pretty.text() << "\n";
  } else std::cout << "Found " << found << " element" << (found == 1 ? "" : "s") << "\n";
  if (failed) std::cerr << "Warning: " << failed << " element(s) could not be read\n";
}

// lookup (cmd BPF_MAP_LOOKUP_ELEM; a queue's or stack's peek) or pop
// (BPF_MAP_LOOKUP_AND_DELETE_ELEM), printing the element.
void print_one_element(std::vector<std::string> args, const OutputMode &mode, Json *out, int cmd) {
  Words words(std::move(args));
  OpenMap m = open_one_map(words);
  std::vector<uint8_t> key = parse_key(words, m.info);
  words.expect_end();
  std::vector<uint8_t> value(value_buffer_size(m.info));
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.map_fd = static_cast<uint32_t>(m.fd.get());
  attr.key = reinterpret_cast<uintptr_t>(ptr_or_null(key));
  attr.value = reinterpret_cast<uintptr_t>(value.data());
  const char *what = cmd == BPF_MAP_LOOKUP_ELEM ? "lookup" : "pop";
  if (bpf_call(cmd, attr) < 0) {
    if (errno == ENOENT && !key.empty()) fail_errno("key " + hex_string(key.data(), key.size()) + " not found");
    if (errno == ENOENT && key.empty()) fail_errno(std::string(what) + " failed (the map is empty)");
    fail_errno(std::string(what) + " failed");
  }
  std::unique_ptr<MapBtf> btf = MapBtf::for_map(m.info);
  if (mode.json) {
    *out = element_json(m.info, key.data(), value.data(), btf.get());
  } else if (btf) {
    BpftoolJsonWriter pretty(true);
    btf->write_element(pretty, key.data(), value.data(), percpu_cpus(m.info), true);
    std::cout << pretty.text() << "\n";
  } else {
    print_element(m.info, key.data(), value.data());
  }
}

void verb_lookup(std::vector<std::string> args, const OutputMode &mode, Json *out) {
  print_one_element(std::move(args), mode, out, BPF_MAP_LOOKUP_ELEM);
}

// bpftool's verbs for queues and stacks: pop/dequeue take the element.
void verb_pop(std::vector<std::string> args, const OutputMode &mode, Json *out) {
  print_one_element(std::move(args), mode, out, BPF_MAP_LOOKUP_AND_DELETE_ELEM);
}

void verb_update(std::vector<std::string> args, const OutputMode &mode, Json *out) {
  Words words(std::move(args));
  OpenMap m = open_one_map(words);
  std::vector<uint8_t> key = parse_key(words, m.info);
  if (!words.accept("value")) throw CliError("'value' expected (the map's values are " + std::to_string(m.info.value_size) + " bytes)");
  std::vector<uint8_t> one_value = parse_bytes(words, "value", m.info.value_size);
  uint64_t flags = BPF_ANY;
  if (words.accept("any")) flags = BPF_ANY;
  else if (words.accept("noexist")) flags = BPF_NOEXIST;
  else if (words.accept("exist")) flags = BPF_EXIST;
  words.expect_end();

  // A per-CPU map takes every CPU's value at once; as bpftool, set them all
  // to the one value given.
  std::vector<uint8_t> value(value_buffer_size(m.info));
  if (is_percpu(m.info.type)) {
    for (uint32_t cpu = 0; cpu < possible_cpus(); ++cpu)
      memcpy(value.data() + cpu * percpu_slot_size(m.info), one_value.data(), one_value.size());
  } else {
    value = one_value;
  }
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.map_fd = static_cast<uint32_t>(m.fd.get());
  attr.key = reinterpret_cast<uintptr_t>(ptr_or_null(key));
  attr.value = reinterpret_cast<uintptr_t>(value.data());
  attr.flags = flags;
  if (bpf_call(BPF_MAP_UPDATE_ELEM, attr) < 0) {
    int err = errno;
    std::string hint;
    if (err == EEXIST && flags == BPF_NOEXIST) hint = " (the key exists and 'noexist' was given)";
    else if (err == ENOENT && flags == BPF_EXIST) hint = " (the key does not exist and 'exist' was given)";
    else if (err == E2BIG) hint = " (the map is full, or the index is past max_entries)";
    else if (err == EPERM) hint = " (is the map frozen?)";
    throw CliError(errno_message("update failed", err) + hint);
  }
  if (mode.json) *out = nullptr;
}

void verb_delete(std::vector<std::string> args, const OutputMode &mode, Json *out) {
  Words words(std::move(args));
  OpenMap m = open_one_map(words);
  std::vector<uint8_t> key = parse_key(words, m.info);
  words.expect_end();
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.map_fd = static_cast<uint32_t>(m.fd.get());
  attr.key = reinterpret_cast<uintptr_t>(ptr_or_null(key));
  if (bpf_call(BPF_MAP_DELETE_ELEM, attr) < 0) fail_errno("delete failed");
  if (mode.json) *out = nullptr;
}

void verb_getnext(std::vector<std::string> args, const OutputMode &mode, Json *out) {
  Words words(std::move(args));
  OpenMap m = open_one_map(words);
  std::vector<uint8_t> key;
  bool have_key = false;
  if (!words.empty()) {
    key = parse_key(words, m.info);
    have_key = true;
  }
  words.expect_end();
  std::vector<uint8_t> next_key(m.info.key_size);
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.map_fd = static_cast<uint32_t>(m.fd.get());
  attr.key = have_key ? reinterpret_cast<uintptr_t>(ptr_or_null(key)) : 0;
  attr.next_key = reinterpret_cast<uintptr_t>(next_key.data());
  if (bpf_call(BPF_MAP_GET_NEXT_KEY, attr) < 0) fail_errno("can't get next key");
  if (mode.json) {
    *out = {{"key", have_key ? hex_json(key.data(), key.size()) : Json(nullptr)},
            {"next_key", hex_json(next_key.data(), next_key.size())}};
    return;
  }
  if (have_key) {
    std::cout << "key:\n";
    print_hex_block(key.data(), key.size());
  } else {
    std::cout << "key: None\n";
  }
  std::cout << "next key:\n";
  print_hex_block(next_key.data(), next_key.size());
}

void verb_freeze(std::vector<std::string> args, const OutputMode &mode, Json *out) {
  Words words(std::move(args));
  OpenMap m = open_one_map(words);
  words.expect_end();
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.map_fd = static_cast<uint32_t>(m.fd.get());
  if (bpf_call(BPF_MAP_FREEZE, attr) < 0) fail_errno("freeze failed");
  if (mode.json) *out = nullptr;
}

void verb_pin(std::vector<std::string> args, const OutputMode &mode, Json *out) {
  Words words(std::move(args));
  OpenMap m = open_one_map(words);
  std::string path = words.next("path to pin the map at");
  words.expect_end();
  if (pin_object(m.fd.get(), path) < 0) throw CliError(pin_error("can't pin the map", path, errno));
  if (mode.json) *out = nullptr;
}

void verb_create(std::vector<std::string> args, const OutputMode &mode, Json *out) {
  Words words(std::move(args));
  std::string path = words.next("path to pin the new map at");
  std::optional<uint32_t> type, key_size, value_size, max_entries;
  uint32_t flags = 0;
  std::string name;
  while (!words.empty()) {
    std::string kw = words.next("keyword");
    if (kw == "type") type = parse_map_type(words.next("map type"));
    else if (kw == "key") key_size = static_cast<uint32_t>(parse_number(words.next("key size"), "key size", UINT32_MAX));
    else if (kw == "value")
      value_size = static_cast<uint32_t>(parse_number(words.next("value size"), "value size", UINT32_MAX));
    else if (kw == "entries")
      max_entries = static_cast<uint32_t>(parse_number(words.next("entries"), "entries", UINT32_MAX));
    else if (kw == "name") name = words.next("map name");
    else if (kw == "flags") flags = static_cast<uint32_t>(parse_number(words.next("flags"), "flags", UINT32_MAX));
    else throw CliError("unknown keyword '" + kw + "' (expected type, key, value, entries, name or flags)");
  }
  if (!type) throw CliError("map type not specified ('type TYPE')");
  if (!key_size) throw CliError("key size not specified ('key BYTES')");
  if (!value_size) throw CliError("value size not specified ('value BYTES')");
  if (!max_entries) throw CliError("number of entries not specified ('entries N')");
  if (name.size() >= BPF_OBJ_NAME_LEN)
    throw CliError("map name '" + name + "' is too long (at most " + std::to_string(BPF_OBJ_NAME_LEN - 1) +
                   " characters)");

  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.map_type = *type;
  attr.key_size = *key_size;
  attr.value_size = *value_size;
  attr.max_entries = *max_entries;
  attr.map_flags = flags;
  memcpy(attr.map_name, name.data(), name.size());
  Fd fd(static_cast<int>(bpf_call(BPF_MAP_CREATE, attr)));
  if (fd.get() < 0) {
    int err = errno;
    std::string hint;
    if (err == EINVAL)
      hint = " (userbpf checks type, sizes and flags as the kernel does; is type " + map_type_name(*type) +
             " supported yet?)";
    throw CliError(errno_message("map create failed", err) + hint);
  }
  // The map lives on through its pin; closing our fd then is what bpftool does.
  if (pin_object(fd.get(), path) < 0) throw CliError(pin_error("can't pin the new map", path, errno));
  if (mode.json) *out = nullptr;
}

} // namespace

std::string map_type_name(uint32_t type) {
  for (const auto &t : kMapTypeNames)
    if (t.type == type) return t.name;
  return "";
}

const std::vector<MapVerbInfo> &map_verbs() {
  static const std::vector<MapVerbInfo> verbs = {
      {"show", "[id ID | pinned FILE | name NAME]", "show one map, or all maps", verb_show},
      {"list", "[id ID | pinned FILE | name NAME]", "same as show", verb_show},
      {"create", "FILE type TYPE key KEY_SIZE value VALUE_SIZE entries MAX_ENTRIES [name NAME] [flags FLAGS]",
       "create a map and pin it at FILE", verb_create},
      {"dump", "MAP", "print every element", verb_dump},
      {"lookup", "MAP key BYTES", "print the value of one key", verb_lookup},
      {"update", "MAP key BYTES value BYTES [any | noexist | exist]", "set the value of a key", verb_update},
      {"delete", "MAP key BYTES", "delete a key", verb_delete},
      {"push", "MAP value BYTES [exist]", "push onto a queue or stack ('exist': drop the oldest if full)", verb_update},
      {"enqueue", "MAP value BYTES [exist]", "same as push", verb_update},
      {"peek", "MAP", "print the element a pop would take, leaving it", verb_lookup},
      {"pop", "MAP", "take and print the oldest (queue) or newest (stack) element", verb_pop},
      {"dequeue", "MAP", "same as pop", verb_pop},
      {"getnext", "MAP [key BYTES]", "print the key after KEY (the first key without one)", verb_getnext},
      {"freeze", "MAP", "make the map read-only for user space", verb_freeze},
      {"pin", "MAP FILE", "pin the map at FILE", verb_pin},
  };
  return verbs;
}

} // namespace ubcli
