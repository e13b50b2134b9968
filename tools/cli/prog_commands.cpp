#include "prog_commands.h"

#include <errno.h>
#include <string.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <optional>

#include <capstone/capstone.h>

#include <userbpf/bpf.h>
#include <userbpf/userbpf.hpp>

#include "btf_format.h"
#include "elf_verify.h"
#include "pins.h"

namespace ubcli {
namespace {

// Hex text ("b7 00 00 00 ...", whitespace anywhere) or raw bytes.
std::vector<uint8_t> read_program(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CliError("cannot open '" + path + "': " + strerror(errno));
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  bool is_hex = !data.empty();
  for (unsigned char c : data)
    if (!std::isxdigit(c) && !std::isspace(c)) {
      is_hex = false;
      break;
    }
  std::vector<uint8_t> bytes;
  if (!is_hex) return std::vector<uint8_t>(data.begin(), data.end());
  std::istringstream words(data);
  std::string word;
  while (words >> word) {
    if (word.size() % 2) throw CliError("'" + path + "': hex byte '" + word + "' has an odd number of digits");
    for (size_t i = 0; i < word.size(); i += 2) bytes.push_back(static_cast<uint8_t>(std::stoul(word.substr(i, 2), nullptr, 16)));
  }
  return bytes;
}

struct ProgTypeName {
  const char *name;
  uint32_t type;
};
// bpftool's names of the program types the verifier supports.
constexpr ProgTypeName kProgTypes[] = {
    {"socket_filter", BPF_PROG_TYPE_SOCKET_FILTER},
    {"socket", BPF_PROG_TYPE_SOCKET_FILTER},
    {"xdp", BPF_PROG_TYPE_XDP},
    {"sched_cls", BPF_PROG_TYPE_SCHED_CLS},
    {"sched_act", BPF_PROG_TYPE_SCHED_ACT},
    {"cgroup_skb", BPF_PROG_TYPE_CGROUP_SKB},
    {"kprobe", BPF_PROG_TYPE_KPROBE},
    {"tracepoint", BPF_PROG_TYPE_TRACEPOINT},
    {"raw_tracepoint", BPF_PROG_TYPE_RAW_TRACEPOINT},
    {"perf_event", BPF_PROG_TYPE_PERF_EVENT},
};

uint32_t parse_prog_type(const std::string &word) {
  for (const auto &t : kProgTypes)
    if (word == t.name) return t.type;
  if (!word.empty() && std::isdigit(static_cast<unsigned char>(word[0])))
    return static_cast<uint32_t>(parse_number(word, "program type", UINT32_MAX));
  throw CliError("unknown program type '" + word + "' (socket_filter, xdp, sched_cls, sched_act, cgroup_skb, kprobe, tracepoint, raw_tracepoint, perf_event, or a number)");
}

std::string prog_type_name(uint32_t type) {
  static const char *const kNames[] = {
      "unspec", "socket_filter", "kprobe", "sched_cls", "sched_act", "tracepoint", "xdp", "perf_event",
      "cgroup_skb", "cgroup_sock", "lwt_in", "lwt_out", "lwt_xmit", "sock_ops", "sk_skb", "cgroup_device",
      "sk_msg", "raw_tracepoint", "cgroup_sock_addr", "lwt_seg6local", "lirc_mode2", "sk_reuseport",
      "flow_dissector", "cgroup_sysctl", "raw_tracepoint_writable", "cgroup_sockopt", "tracing", "struct_ops",
      "ext", "lsm", "sk_lookup", "syscall", "netfilter"};
  return type < sizeof(kNames) / sizeof(kNames[0]) ? kNames[type] : "type " + std::to_string(type);
}

struct OpenProg {
  Fd fd;
  bpf_prog_info info;
  std::vector<uint32_t> map_ids;
};

OpenProg open_prog_fd(Fd fd) {
  OpenProg p;
  p.fd = std::move(fd);
  for (;;) {
    memset(&p.info, 0, sizeof(p.info));
    p.info.nr_map_ids = static_cast<uint32_t>(p.map_ids.size());
    p.info.map_ids = reinterpret_cast<uintptr_t>(p.map_ids.data());
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.info.bpf_fd = static_cast<uint32_t>(p.fd.get());
    attr.info.info_len = sizeof(p.info);
    attr.info.info = reinterpret_cast<uintptr_t>(&p.info);
    if (bpf_call(BPF_OBJ_GET_INFO_BY_FD, attr) < 0) fail_errno("can't get program info");
    if (p.info.nr_map_ids <= p.map_ids.size()) break;
    p.map_ids.resize(p.info.nr_map_ids);
  }
  p.map_ids.resize(p.info.nr_map_ids);
  return p;
}

std::optional<uint32_t> next_prog_id(uint32_t start_id) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.start_id = start_id;
  if (bpf_call(BPF_PROG_GET_NEXT_ID, attr) < 0) {
    if (errno == ENOENT) return std::nullopt;
    fail_errno("can't get next program id");
  }
  return attr.next_id;
}

int prog_fd_by_id(uint32_t id) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.prog_id = id;
  return static_cast<int>(bpf_call(BPF_PROG_GET_FD_BY_ID, attr));
}

std::string tag_hex(const bpf_prog_info &info) {
  char buf[2 * BPF_TAG_SIZE + 1];
  for (int i = 0; i < BPF_TAG_SIZE; i++) snprintf(buf + 2 * i, 3, "%02x", info.tag[i]);
  return buf;
}

// load_time is nanoseconds since boot; bpftool prints it as wall-clock
// seconds (JSON) or local time.
time_t loaded_at_epoch(uint64_t load_time_ns) {
  struct timespec boot, real;
  clock_gettime(CLOCK_BOOTTIME, &boot);
  clock_gettime(CLOCK_REALTIME, &real);
  int64_t boot_ns = int64_t{boot.tv_sec} * 1000000000 + boot.tv_nsec;
  int64_t real_ns = int64_t{real.tv_sec} * 1000000000 + real.tv_nsec;
  return static_cast<time_t>((real_ns - (boot_ns - static_cast<int64_t>(load_time_ns))) / 1000000000);
}

std::string loaded_at(uint64_t load_time_ns) {
  time_t t = loaded_at_epoch(load_time_ns);
  struct tm tm;
  localtime_r(&t, &tm);
  char buf[64];
  strftime(buf, sizeof(buf), "%FT%T%z", &tm);
  return buf;
}

// Is fd the program of this id? (bpf_map_info also begins with type and id;
// the program opened again by id must be the very same file.)
bool is_prog_fd(int fd) {
  bpf_prog_info info;
  memset(&info, 0, sizeof(info));
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.info.bpf_fd = static_cast<uint32_t>(fd);
  attr.info.info_len = sizeof(info);
  attr.info.info = reinterpret_cast<uintptr_t>(&info);
  if (bpf_call(BPF_OBJ_GET_INFO_BY_FD, attr) < 0) return false;
  Fd by_id(prog_fd_by_id(info.id));
  if (by_id.get() < 0) return false;
  struct stat a, b;
  if (fstat(fd, &a) != 0 || fstat(by_id.get(), &b) != 0) return false;
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// PROG := id ID | pinned FILE, as bpftool.
Fd open_prog_ref(Words &words) {
  std::string how = words.next("program reference (id ID | pinned FILE)");
  Fd fd;
  if (how == "id") {
    uint32_t id = static_cast<uint32_t>(parse_number(words.next("program id"), "program id", UINT32_MAX));
    fd = Fd(prog_fd_by_id(id));
    if (fd.get() < 0) fail_errno("can't get program by id " + std::to_string(id));
  } else if (how == "pinned") {
    std::string path = words.next("pinned path");
    fd = Fd(open_pinned(path));
    if (fd.get() < 0) fail_errno("can't open pinned object " + path);
    if (!is_prog_fd(fd.get())) throw CliError(path + " is a pinned object, but not a program");
  } else {
    throw CliError("expected 'id' or 'pinned' to name a program, got '" + how + "'");
  }
  return fd;
}

// The program's xlated instructions (the kernel's dump form: maps by id).
std::vector<uint8_t> xlated_of(int fd) {
  std::vector<uint8_t> bytes;
  for (;;) {
    bpf_prog_info info;
    memset(&info, 0, sizeof(info));
    info.xlated_prog_len = static_cast<uint32_t>(bytes.size());
    info.xlated_prog_insns = reinterpret_cast<uintptr_t>(bytes.data());
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.info.bpf_fd = static_cast<uint32_t>(fd);
    attr.info.info_len = sizeof(info);
    attr.info.info = reinterpret_cast<uintptr_t>(&info);
    if (bpf_call(BPF_OBJ_GET_INFO_BY_FD, attr) < 0) fail_errno("can't get program info");
    if (info.xlated_prog_len <= bytes.size()) {
      bytes.resize(info.xlated_prog_len);
      return bytes;
    }
    bytes.resize(info.xlated_prog_len);
  }
}

} // namespace

long processed_insns(const std::string &log) {
  size_t at = log.rfind("processed ");
  if (at == std::string::npos) return -1;
  char *end = nullptr;
  long n = strtol(log.c_str() + at + 10, &end, 10);
  return end && strncmp(end, " insns", 6) == 0 ? n : -1;
}

void prog_show(const std::vector<std::string> &args, const OutputMode &mode, Json *out) {
  Words words(args);
  std::vector<OpenProg> progs;
  bool all = words.empty();
  if (all) {
    uint32_t id = 0;
    while (auto next = next_prog_id(id)) {
      id = *next;
      Fd fd(prog_fd_by_id(id));
      if (fd.get() < 0) {
        if (errno == ENOENT) continue; // released meanwhile
        fail_errno("can't get program by id " + std::to_string(id));
      }
      progs.push_back(open_prog_fd(std::move(fd)));
    }
  } else {
    Fd fd = open_prog_ref(words);
    words.expect_end();
    OpenProg p = open_prog_fd(std::move(fd));
    progs.push_back(std::move(p));
  }
  Json list = Json::array();
  for (const auto &p : progs) {
    const bpf_prog_info &info = p.info;
    std::string name(info.name, strnlen(info.name, sizeof(info.name)));
    if (mode.json) {
      Json j;
      j["id"] = info.id;
      j["type"] = prog_type_name(info.type);
      if (!name.empty()) j["name"] = name;
      j["tag"] = tag_hex(info);
      j["gpl_compatible"] = info.gpl_compatible != 0;
      j["loaded_at"] = static_cast<int64_t>(loaded_at_epoch(info.load_time));
      j["uid"] = info.created_by_uid;
      j["bytes_xlated"] = info.xlated_prog_len;
      // bpftool's fields: bytes_jited only when there is native code.
      j["jited"] = info.jited_prog_len != 0;
      if (info.jited_prog_len) j["bytes_jited"] = info.jited_prog_len;
      if (!p.map_ids.empty()) j["map_ids"] = p.map_ids;
      j["verified_insns"] = info.verified_insns;
      list.push_back(j);
      continue;
    }
    std::cout << info.id << ": " << prog_type_name(info.type) << "  ";
    if (!name.empty()) std::cout << "name " << name << "  ";
    std::cout << "tag " << tag_hex(info) << (info.gpl_compatible ? "  gpl" : "") << "\n";
    std::cout << "\tloaded_at " << loaded_at(info.load_time) << "  uid " << info.created_by_uid << "\n";
    std::cout << "\txlated " << info.xlated_prog_len << "B  ";
    if (info.jited_prog_len) std::cout << "jited " << info.jited_prog_len << "B";
    else std::cout << "not jited";
    if (!p.map_ids.empty()) {
      std::cout << "  map_ids ";
      for (size_t i = 0; i < p.map_ids.size(); i++) std::cout << (i ? "," : "") << p.map_ids[i];
    }
    std::cout << "\n\tverified_insns " << info.verified_insns << "\n";
  }
  if (mode.json) *out = (!all && list.size() == 1) ? list[0] : list;
}

namespace {

// Raw instructions from a file, checked for shape.
std::vector<uint8_t> read_raw_instructions(const std::string &path) {
  std::vector<uint8_t> bytes = read_program(path);
  if (bytes.size() >= 4 && memcmp(bytes.data(), "\x7f" "ELF", 4) == 0)
    throw CliError("'" + path + "': an ELF object where raw instructions (8-byte words) are expected");
  if (bytes.empty() || bytes.size() % 8)
    throw CliError("'" + path + "': " + std::to_string(bytes.size()) +
                   " bytes is not a whole number of 8-byte instructions");
  return bytes;
}

struct Loaded {
  long fd = -1; // the program, or -1 (err)
  int err = 0;
  std::string log;
};

// BPF_PROG_LOAD with a log (at least level 1: the statistics line says how
// many instructions were processed); the buffer grows until the log fits.
Loaded load_raw(const std::vector<uint8_t> &bytes, uint32_t type, uint32_t level, const std::string &name) {
  Loaded l;
  for (uint32_t size = 1u << 20;; size *= 4) {
    std::vector<char> buf(size);
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.prog_type = type;
    attr.insns = reinterpret_cast<uintptr_t>(bytes.data());
    attr.insn_cnt = static_cast<uint32_t>(bytes.size() / 8);
    attr.license = reinterpret_cast<uintptr_t>("GPL");
    attr.log_level = level;
    attr.log_buf = reinterpret_cast<uintptr_t>(buf.data());
    attr.log_size = size;
    memcpy(attr.prog_name, name.data(), std::min(name.size(), sizeof(attr.prog_name) - 1));
    l.fd = userbpf_bpf(BPF_PROG_LOAD, &attr, sizeof(attr));
    l.err = l.fd < 0 ? errno : 0;
    l.log.assign(buf.data());
    if (!(l.fd < 0 && l.err == ENOSPC && size < (1u << 28))) break;
  }
  return l;
}

} // namespace

bool verify_file(const VerifyOptions &options, const OutputMode &mode, Json *out, std::string *error) {
  std::optional<uint32_t> given_type;
  if (!options.type.empty()) given_type = parse_prog_type(options.type);
  uint32_t type = given_type.value_or(BPF_PROG_TYPE_SOCKET_FILTER);
  if (options.log_level < -1 || options.log_level > 15)
    throw CliError("--log-level " + std::to_string(options.log_level) + ": expected 0..15 (BPF_LOG_* bits)");
  if (options.unprivileged) userbpf::set_loader_privilege(userbpf::LoaderPrivilege::kUnprivileged);
  uint32_t level = options.log_level > 0 ? static_cast<uint32_t>(options.log_level) : 1;
  if (is_elf_file(options.path))
    return verify_elf(options, given_type, level, options.log_level > 0, mode, out, error);
  std::vector<uint8_t> bytes = read_raw_instructions(options.path);
  Loaded l = load_raw(bytes, type, level, "");
  if (l.fd >= 0) close(static_cast<int>(l.fd));
  bool accepted = l.fd >= 0;
  long processed = processed_insns(l.log);
  bool show_log = !accepted || options.log_level > 0;
  if (mode.json) {
    *out = Json{{"file", options.path}, {"verified", accepted}};
    if (processed >= 0) (*out)["processed_insns"] = processed;
    if (!accepted) (*out)["error"] = errno_message("verifier", l.err);
    (*out)["log"] = l.log;
  } else {
    if (show_log) std::cout << l.log;
    if (accepted) std::cout << "verified: " << processed << " instructions processed\n";
  }
  if (!accepted) *error = errno_message("'" + options.path + "': rejected by the verifier", l.err) + where_and_why(l.log);
  return accepted;
}

void prog_load_pin(const std::vector<std::string> &args, const OutputMode &mode, Json *out) {
  Words words(args);
  std::string path = words.next("FILE (an ELF object or raw instructions)");
  std::string pin = words.next("PATH to pin the program at");
  std::optional<uint32_t> given_type;
  std::string name;
  while (!words.empty()) {
    if (words.accept("type")) given_type = parse_prog_type(words.next("program type"));
    else if (words.accept("name")) name = words.next("program name");
    else throw CliError("unexpected '" + words.peek() + "' (expected 'type TYPE' or 'name NAME')");
  }
  if (is_elf_file(path)) {
    if (!name.empty()) throw CliError("'name' is for raw instructions: an ELF object's programs have their names");
    load_elf_and_pin(path, pin, given_type);
    if (mode.json) *out = nullptr; // bpftool prints "null" for a successful load
    return;
  }
  const uint32_t type = given_type.value_or(BPF_PROG_TYPE_SOCKET_FILTER);
  std::vector<uint8_t> bytes = read_raw_instructions(path);
  Loaded l = load_raw(bytes, type, 1, name);
  if (l.fd < 0) {
    if (!mode.json) std::cerr << l.log;
    throw CliError(errno_message("'" + path + "': can't load the program", l.err) + where_and_why(l.log));
  }
  Fd fd(static_cast<int>(l.fd));
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.pathname = reinterpret_cast<uintptr_t>(pin.c_str());
  attr.bpf_fd = static_cast<uint32_t>(fd.get());
  if (bpf_call(BPF_OBJ_PIN, attr) < 0) fail_errno("can't pin the program at " + pin);
  if (mode.json) *out = nullptr; // bpftool prints "null" for a successful load
}

namespace {

// The whole file, or stdin for "-" (bpftool's convention).
std::vector<uint8_t> read_file_bytes(const std::string &path, const std::string &what) {
  std::ifstream file;
  std::istream *in = &std::cin;
  if (path != "-") {
    file.open(path, std::ios::binary);
    if (!file) throw CliError("cannot open " + what + " file '" + path + "': " + strerror(errno));
    in = &file;
  }
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(*in)), std::istreambuf_iterator<char>());
}

void write_file_bytes(const std::string &path, const std::vector<uint8_t> &bytes, const std::string &what) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file.write(reinterpret_cast<const char *>(bytes.data()), static_cast<std::streamsize>(bytes.size())))
    throw CliError("cannot write " + what + " to '" + path + "': " + strerror(errno));
}

// "hex 0a 0b ..." or "hex 0a0b...": the words up to the next keyword.
std::vector<uint8_t> parse_hex_words(Words &words) {
  std::vector<uint8_t> bytes;
  static const char *const kKeywords[] = {"data_in", "hex", "data_out", "data_size_out", "ctx_in", "ctx_out",
                                          "ctx_size_out", "repeat"};
  while (!words.empty() && std::find(std::begin(kKeywords), std::end(kKeywords), words.peek()) == std::end(kKeywords)) {
    std::string word = words.next("hex bytes");
    if (word.size() % 2 || !std::all_of(word.begin(), word.end(), [](unsigned char c) { return std::isxdigit(c); }))
      throw CliError("'" + word + "' is not hex bytes");
    for (size_t i = 0; i < word.size(); i += 2)
      bytes.push_back(static_cast<uint8_t>(std::stoul(word.substr(i, 2), nullptr, 16)));
  }
  if (bytes.empty()) throw CliError("hex: bytes expected");
  return bytes;
}

} // namespace

void prog_run(const std::vector<std::string> &args, const OutputMode &mode, Json *out) {
  Words words(args);
  Fd fd = open_prog_ref(words);
  std::vector<uint8_t> data_in, ctx_in;
  std::string data_out_path, ctx_out_path;
  uint32_t data_size_out = 0, ctx_size_out = 0, repeat = 1;
  bool have_ctx_out = false;
  while (!words.empty()) {
    if (words.accept("data_in")) data_in = read_file_bytes(words.next("data_in FILE"), "data_in");
    else if (words.accept("hex")) data_in = parse_hex_words(words);
    else if (words.accept("data_out")) data_out_path = words.next("data_out FILE");
    else if (words.accept("data_size_out"))
      data_size_out = static_cast<uint32_t>(parse_number(words.next("data_size_out"), "data_size_out", UINT32_MAX));
    else if (words.accept("ctx_in")) ctx_in = read_file_bytes(words.next("ctx_in FILE"), "ctx_in");
    else if (words.accept("ctx_out")) {
      ctx_out_path = words.next("ctx_out FILE");
      have_ctx_out = true;
    } else if (words.accept("ctx_size_out"))
      ctx_size_out = static_cast<uint32_t>(parse_number(words.next("ctx_size_out"), "ctx_size_out", UINT32_MAX));
    else if (words.accept("repeat"))
      repeat = static_cast<uint32_t>(parse_number(words.next("repeat count"), "repeat", UINT32_MAX));
    else
      throw CliError("unexpected '" + words.peek() +
                     "' (expected data_in FILE, hex BYTES, data_out FILE, ctx_in FILE, ctx_out FILE or repeat N)");
  }
  // Room for what comes back: bpftool's default is 32 KiB of data and the
  // context's size again.
  std::vector<uint8_t> data_out(data_size_out ? data_size_out : 32768);
  if (!ctx_in.empty() || have_ctx_out) have_ctx_out = true;
  std::vector<uint8_t> ctx_out(ctx_size_out ? ctx_size_out : std::max<size_t>(ctx_in.size(), 256));
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.test.prog_fd = static_cast<uint32_t>(fd.get());
  attr.test.data_in = reinterpret_cast<uintptr_t>(data_in.data());
  attr.test.data_size_in = static_cast<uint32_t>(data_in.size());
  attr.test.data_out = reinterpret_cast<uintptr_t>(data_out.data());
  attr.test.data_size_out = static_cast<uint32_t>(data_out.size());
  if (!ctx_in.empty()) {
    attr.test.ctx_in = reinterpret_cast<uintptr_t>(ctx_in.data());
    attr.test.ctx_size_in = static_cast<uint32_t>(ctx_in.size());
  }
  if (have_ctx_out) {
    attr.test.ctx_out = reinterpret_cast<uintptr_t>(ctx_out.data());
    attr.test.ctx_size_out = static_cast<uint32_t>(ctx_out.size());
  }
  attr.test.repeat = repeat;
  if (bpf_call(BPF_PROG_TEST_RUN, attr) < 0) fail_errno("failed to run program");
  data_out.resize(std::min<size_t>(attr.test.data_size_out, data_out.size()));
  ctx_out.resize(have_ctx_out ? std::min<size_t>(attr.test.ctx_size_out, ctx_out.size()) : 0);
  if (!data_out_path.empty() && data_out_path != "-") write_file_bytes(data_out_path, data_out, "data_out");
  if (!ctx_out_path.empty() && ctx_out_path != "-") write_file_bytes(ctx_out_path, ctx_out, "ctx_out");
  const bool print_data = data_out_path.empty() || data_out_path == "-";
  const bool print_ctx = have_ctx_out && (ctx_out_path.empty() || ctx_out_path == "-");
  if (mode.json) {
    *out = Json::object();
    if (print_data) (*out)["data_out"] = hex_json(data_out.data(), data_out.size());
    if (print_ctx) (*out)["ctx_out"] = hex_json(ctx_out.data(), ctx_out.size());
    (*out)["retval"] = attr.test.retval;
    (*out)["duration"] = attr.test.duration;
    return;
  }
  if (print_data) std::cout << "data_out:\n" << hex_string(data_out.data(), data_out.size()) << "\n\n";
  if (print_ctx) std::cout << "ctx_out:\n" << hex_string(ctx_out.data(), ctx_out.size()) << "\n\n";
  std::cout << "Return value: " << attr.test.retval << ", duration" << (repeat > 1 ? " (average)" : "") << ": "
            << attr.test.duration << "ns\n";
}

void prog_dump_xlated(const std::vector<std::string> &words, const OutputMode &mode, Json *out) {
  if (words.size() != 2 || (words[0] != "file" && words[0] != "id" && words[0] != "pinned"))
    throw CliError("usage: userbpf prog dump xlated { file PATH | id ID | pinned FILE }");
  const std::string &path = words[1];
  std::vector<uint8_t> bytes;
  Fd prog_fd;
  if (words[0] == "file") {
    bytes = read_program(path);
  } else {
    Words ref(words);
    prog_fd = open_prog_ref(ref);
    bytes = xlated_of(prog_fd.get());
  }
  long need = userbpf_disassemble(bytes.data(), bytes.size(), nullptr, 0);
  std::string text(static_cast<size_t>(need < 0 ? 4096 : need + 1), '\0');
  long r = userbpf_disassemble(bytes.data(), bytes.size(), text.data(), text.size());
  if (r < 0) throw CliError("'" + path + "': " + std::string(text.c_str()));
  text.resize(static_cast<size_t>(r));
  // A loaded program's dump names its maps by id (the kernel's dump form,
  // xlated_of), which the disassembler, made for files, calls "fd".
  if (prog_fd.get() >= 0) {
    for (size_t at = text.find("map[fd:"); at != std::string::npos; at = text.find("map[fd:", at))
      text.replace(at, 7, "map[id:");
  }
  // A loaded program with BTF: its functions' prototypes and source lines
  // go before the instructions they start at, as bpftool prints them.
  std::unique_ptr<ProgSourceInfo> source = prog_fd.get() >= 0 ? ProgSourceInfo::for_prog(prog_fd.get()) : nullptr;
  if (mode.json) *out = Json::array();
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    size_t colon = line.find(": ");
    if (colon == std::string::npos) {
      if (!mode.json) std::cout << line << "\n";
      continue;
    }
    uint32_t insn = static_cast<uint32_t>(strtoul(line.c_str(), nullptr, 10));
    std::optional<std::string> proto, src;
    if (source) {
      proto = source->prototype_at(insn);
      src = source->source_at(insn);
    }
    if (!mode.json) {
      if (proto) std::cout << *proto << ":\n";
      if (src) std::cout << "; " << *src << "\n";
      std::cout << line << "\n";
      continue;
    }
    // bpftool's JSON shape for xlated dumps: one object per instruction.
    Json insn_json;
    if (proto) insn_json["proto"] = *proto;
    if (src) insn_json["src"] = *src;
    insn_json["disasm"] = line.substr(colon + 2);
    out->push_back(insn_json);
  }
}

// Kernel-syntax text of each instruction of a program, by instruction index
// (an LD_IMM64's second slot has none).
std::vector<std::string> disassembly_by_insn(const std::vector<uint8_t> &bytes) {
  long need = userbpf_disassemble(bytes.data(), bytes.size(), nullptr, 0);
  std::string text(static_cast<size_t>(need < 0 ? 4096 : need + 1), '\0');
  long r = userbpf_disassemble(bytes.data(), bytes.size(), text.data(), text.size());
  if (r < 0) throw CliError("the program's instructions: " + std::string(text.c_str()));
  text.resize(static_cast<size_t>(r));
  std::vector<std::string> lines(bytes.size() / 8);
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    size_t colon = line.find(": ");
    if (colon == std::string::npos) continue;
    unsigned long at = strtoul(line.c_str(), nullptr, 10);
    if (at < lines.size()) lines[at] = line.substr(colon + 2);
  }
  return lines;
}

void prog_dump_jited(const std::vector<std::string> &words, const OutputMode &mode, Json *out) {
  if (words.size() != 2 || (words[0] != "file" && words[0] != "id" && words[0] != "pinned"))
    throw CliError("usage: userbpf prog dump jited { file PATH | id ID | pinned FILE }");
  Fd fd;
  if (words[0] == "file") {
    // Loaded (so verified) as a socket filter, as `verify` does, then compiled.
    Loaded l = load_raw(read_raw_instructions(words[1]), BPF_PROG_TYPE_SOCKET_FILTER, 1, "");
    if (l.fd < 0) {
      if (!mode.json) std::cerr << l.log;
      throw CliError(errno_message("'" + words[1] + "': can't load the program", l.err));
    }
    fd = Fd(static_cast<int>(l.fd));
  } else {
    Words ref(words);
    fd = open_prog_ref(ref);
  }
  std::vector<uint8_t> xlated = xlated_of(fd.get());
  std::vector<std::string> bpf_text = disassembly_by_insn(xlated);
  const size_t insn_count = xlated.size() / 8;
  long size = userbpf_prog_jited(fd.get(), nullptr, 0, nullptr, 0, nullptr);
  if (size < 0) {
    if (errno == EOPNOTSUPP) throw CliError("programs run in the interpreter here (USERBPF_JIT=0 or no JIT for this CPU)");
    fail_errno("can't get the program's JIT code");
  }
  std::vector<uint8_t> code(static_cast<size_t>(size));
  std::vector<unsigned int> offsets(insn_count + 1);
  unsigned long long address = 0;
  if (userbpf_prog_jited(fd.get(), code.data(), code.size(), offsets.data(), offsets.size(), &address) != size)
    fail_errno("can't get the program's JIT code");

  csh cs;
  if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK) throw CliError("capstone: cannot open the x86-64 disassembler");
  // The parts: [entry + error exits], then one per BPF instruction.
  struct Part {
    std::string title;
    size_t begin, end;
  };
  std::vector<Part> parts;
  parts.push_back({"entry, error exits", 0, offsets[0]});
  for (size_t i = 0; i < insn_count; i++)
    if (offsets[i + 1] > offsets[i]) parts.push_back({std::to_string(i) + ": " + bpf_text[i], offsets[i], offsets[i + 1]});
  if (mode.json) *out = Json::array();
  for (const Part &part : parts) {
    cs_insn *insns = nullptr;
    size_t n = cs_disasm(cs, code.data() + part.begin, part.end - part.begin, address + part.begin, 0, &insns);
    Json x86 = Json::array();
    if (!mode.json) std::cout << "; " << part.title << "\n";
    for (size_t k = 0; k < n; k++) {
      const cs_insn &x = insns[k];
      size_t off = static_cast<size_t>(x.address - address);
      if (mode.json) {
        char pc[32];
        snprintf(pc, sizeof pc, "0x%zx", off);
        std::vector<int> opcodes(x.bytes, x.bytes + x.size);
        x86.push_back(Json{{"pc", pc}, {"operation", x.mnemonic}, {"operands", x.op_str}, {"opcodes", opcodes}});
      } else {
        char head[48];
        snprintf(head, sizeof head, "%5zx:\t%-8s", off, x.mnemonic);
        std::cout << head << x.op_str << "\n";
      }
    }
    if (insns) cs_free(insns, n);
    if (mode.json) (*out).push_back(Json{{"bpf", part.title}, {"insns", x86}});
  }
  cs_close(&cs);
}

} // namespace ubcli
