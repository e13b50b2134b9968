#include "elf_verify.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cctype>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <vector>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

namespace ubcli {
namespace {

// libbpf's warnings and notes (its debug chatter is dropped), gathered per
// open or load so they can be reported with the program they concern.
std::string g_libbpf_messages;

// libbpf raises RLIMIT_MEMLOCK before its first load and warns when it
// cannot (no CAP_SYS_RESOURCE). The limit does not apply here (verify_elf
// sets USERBPF_MEMLOCK_LIMIT), so the warning would only mislead; Debian's
// libbpf 1.1 does not export libbpf_set_memlock_rlim() to turn the raise off.
bool is_memlock_noise(const char *fmt) { return strstr(fmt, "Failed to bump RLIMIT_MEMLOCK") != nullptr; }

int capture_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap) {
  if (level == LIBBPF_DEBUG || is_memlock_noise(fmt)) return 0;
  va_list again;
  va_copy(again, ap);
  char buf[1024];
  int n = vsnprintf(buf, sizeof(buf), fmt, ap);
  if (n >= 0 && static_cast<size_t>(n) < sizeof(buf)) {
    g_libbpf_messages += buf;
  } else if (n >= 0) {
    std::vector<char> big(static_cast<size_t>(n) + 1);
    vsnprintf(big.data(), big.size(), fmt, again);
    g_libbpf_messages += big.data();
  }
  va_end(again);
  return 0;
}

struct ObjectCloser {
  void operator()(bpf_object *obj) const { bpf_object__close(obj); }
};
using Object = std::unique_ptr<bpf_object, ObjectCloser>;

std::string trim_trailing_newlines(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// libbpf's own errnos (LIBBPF_ERRNO__*, 4000 and up) have texts of their own.
bool is_libbpf_errno(int err) { return err >= 4000 && err < 4100; }

std::string error_text(const std::string &what, int err) {
  if (!is_libbpf_errno(err)) return errno_message(what, err);
  char buf[256];
  libbpf_strerror(err, buf, sizeof(buf));
  return what + ": " + buf;
}

Object open_object(const std::string &path) {
  g_libbpf_messages.clear();
  bpf_object *obj = bpf_object__open_file(path.c_str(), nullptr);
  if (!obj) {
    int err = errno;
    std::string why = trim_trailing_newlines(g_libbpf_messages);
    throw CliError(error_text("'" + path + "': libbpf cannot open it as a BPF object", err) +
                   (why.empty() ? "" : "\n" + why));
  }
  return Object(obj);
}

std::string errno_name(int err) {
  if (err == 524) return "ENOTSUPP";
  if (is_libbpf_errno(err)) return "libbpf error " + std::to_string(err);
  if (const char *name = strerrorname_np(err)) return name;
  return "errno " + std::to_string(err);
}

bool starts_with(const std::string &s, const char *prefix) { return s.rfind(prefix, 0) == 0; }

// One line naming what failed, where and why: "program 'p' in section 'xdp'
// rejected (EACCES) at insn 1 `(71) r1 = *(u8 *)(r1 +12)`: <reason>".
std::string rejection_summary(const std::string &name, const std::string &section, int err, const std::string &log,
                              const std::string &reason) {
  std::string s = "program '" + name + "'";
  if (!section.empty()) s += " in section '" + section + "'";
  s += " rejected (" + errno_name(err) + ")";
  return s + failing_place(log) + ": " + reason;
}

// When the program never reached the verifier (relocation, map creation,
// unknown section...), libbpf's first warning about the program is the
// cause (or its first warning at all).
std::string libbpf_reason(const std::string &messages, const std::string &name) {
  std::istringstream lines(messages);
  std::string line, first;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    if (starts_with(line, "libbpf: ")) line = line.substr(8);
    if (line.find("prog '" + name + "'") != std::string::npos) return line;
    if (first.empty()) first = line;
  }
  return first;
}

struct ProgResult {
  std::string name;
  std::string section;
  std::string type;
  int err = 0; // positive errno; 0 when accepted
  long processed = -1;
  std::string log;
  std::string libbpf_log;
};

// One program of the object loaded alone: a fresh object each time, so one
// program's failure cannot hide another's verdict.
ProgResult load_one(const std::string &path, const std::string &name, std::optional<uint32_t> type, uint32_t level) {
  ProgResult r;
  r.name = name;
  for (size_t size = size_t{1} << 20;; size *= 4) {
    Object obj = open_object(path);
    bpf_map *map;
    bpf_object__for_each_map(map, obj.get()) bpf_map__set_pin_path(map, nullptr);
    std::vector<char> log(size);
    bpf_program *mine = nullptr, *prog;
    bpf_object__for_each_program(prog, obj.get()) {
      bool is_mine = name == bpf_program__name(prog);
      bpf_program__set_autoload(prog, is_mine);
      if (is_mine) mine = prog;
    }
    if (!mine) throw CliError("'" + path + "': program '" + name + "' is gone on reopening");
    if (type) bpf_program__set_type(mine, static_cast<enum bpf_prog_type>(*type));
    bpf_program__set_log_buf(mine, log.data(), log.size());
    bpf_program__set_log_level(mine, level);
    const char *section = bpf_program__section_name(mine);
    r.section = section ? section : "";
    const char *type_name = libbpf_bpf_prog_type_str(bpf_program__type(mine));
    r.type = type_name ? type_name : "type " + std::to_string(bpf_program__type(mine));
    g_libbpf_messages.clear();
    int err = bpf_object__load(obj.get());
    log.back() = '\0';
    r.log.assign(log.data());
    r.libbpf_log = g_libbpf_messages;
    // A log that did not fit must not decide the verdict: again, bigger.
    if (err == -ENOSPC && r.log.size() + 1 >= size && size < (size_t{1} << 28)) continue;
    r.err = err < 0 ? -err : 0;
    if (r.err == 0) {
      r.libbpf_log.clear();
      r.processed = processed_insns(r.log);
      if (r.processed < 0) {
        bpf_prog_info info;
        memset(&info, 0, sizeof(info));
        uint32_t len = sizeof(info);
        if (bpf_obj_get_info_by_fd(bpf_program__fd(mine), &info, &len) == 0) r.processed = info.verified_insns;
      }
    }
    return r;
  }
}

// Why a program was rejected: the verifier's last line, else libbpf's.
std::string rejection_reason(const ProgResult &r) {
  std::string reason = verifier_reason(r.log);
  if (!reason.empty()) return reason;
  reason = libbpf_reason(r.libbpf_log, r.name);
  if (r.type == "unspec" && !reason.empty())
    reason += " (a section libbpf does not know: give the program type with --type)";
  return reason.empty() ? strerror(r.err) : reason;
}

Json to_json(const ProgResult &r) {
  return Json{{"name", r.name}, {"section", r.section}, {"type", r.type}, {"err", r.err},
              {"processed", r.processed}, {"log", r.log}, {"libbpf_log", r.libbpf_log}};
}

ProgResult from_json(const Json &j) {
  ProgResult r;
  r.name = j.at("name").get<std::string>();
  r.section = j.at("section").get<std::string>();
  r.type = j.at("type").get<std::string>();
  r.err = j.at("err").get<int>();
  r.processed = j.at("processed").get<long>();
  r.log = j.at("log").get<std::string>();
  r.libbpf_log = j.at("libbpf_log").get<std::string>();
  return r;
}

// Opens the object, lists its programs and loads each alone. Returns
// {"programs": [...]} or {"error": "..."}.
Json verify_programs(const std::string &path, std::optional<uint32_t> type, uint32_t level) {
  try {
    std::vector<std::string> names;
    {
      Object obj = open_object(path);
      bpf_program *prog;
      bpf_object__for_each_program(prog, obj.get()) names.push_back(bpf_program__name(prog));
    }
    if (names.empty())
      throw CliError("'" + path + "': no BPF programs in this object (they live in SEC(\"...\") sections)");
    Json progs = Json::array();
    for (const std::string &name : names) progs.push_back(to_json(load_one(path, name, type, level)));
    return Json{{"programs", progs}};
  } catch (const CliError &e) {
    return Json{{"error", e.what()}};
  } catch (const std::exception &e) {
    return Json{{"error", "'" + path + "': " + e.what()}};
  }
}

void write_all(int fd, const std::string &data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

// libbpf parses the ELF file itself, and libbpf 1.1 can crash on a corrupt
// one (a damaged .BTF or relocation section). The work runs in a child
// process so a crash there becomes an error message here, never a crash of
// the CLI; the child sends its results back as JSON through a pipe. What the
// child pins outlives it, as any pinned object does.
Json run_isolated(const std::string &path, const std::function<Json()> &work) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) fail_errno("pipe");
  std::cout.flush();
  std::cerr.flush();
  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    close(fds[0]);
    close(fds[1]);
    throw CliError(errno_message("fork", err));
  }
  if (pid == 0) {
    close(fds[0]);
    write_all(fds[1], work().dump(-1, ' ', false, Json::error_handler_t::replace));
    close(fds[1]);
    _exit(0);
  }
  close(fds[1]);
  std::string data;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fds[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status))
    throw CliError("'" + path + "': libbpf crashed reading this object (" + strsignal(WTERMSIG(status)) +
                   "): the ELF file is corrupt");
  Json result = Json::parse(data, nullptr, false);
  if (result.is_discarded() || !result.is_object())
    throw CliError("'" + path + "': the libbpf process ended without a result (exit status " +
                   std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")");
  return result;
}

struct FailedProgram {
  std::string name;
  std::string log; // the verifier's, when libbpf printed it
};

// The program whose load failed, from libbpf's messages ("prog 'NAME': BPF
// program load failed: ...", then its log between "-- BEGIN PROG LOAD LOG
// --" and "-- END PROG LOAD LOG --", as libbpf 1.x prints them).
// A program that failed before reaching the verifier (an unknown section,
// a bad relocation) is the first one libbpf's messages name.
std::optional<FailedProgram> failed_program(const std::string &messages) {
  const std::string failed_mark = "': BPF program load failed";
  size_t at = messages.find(failed_mark);
  if (at == std::string::npos) {
    size_t open = messages.find("prog '");
    size_t close = open == std::string::npos ? open : messages.find("'", open + 6);
    if (close == std::string::npos) return std::nullopt;
    return FailedProgram{messages.substr(open + 6, close - (open + 6)), ""};
  }
  size_t open = messages.rfind("prog '", at);
  if (open == std::string::npos) return std::nullopt;
  FailedProgram f;
  f.name = messages.substr(open + 6, at - (open + 6));
  const std::string begin = "prog '" + f.name + "': -- BEGIN PROG LOAD LOG --\n", end = "-- END PROG LOAD LOG --";
  size_t log_at = messages.find(begin, at);
  if (log_at != std::string::npos) {
    log_at += begin.size();
    size_t log_end = messages.find(end, log_at);
    if (log_end != std::string::npos) f.log = messages.substr(log_at, log_end - log_at);
  }
  return f;
}

// bpftool's `prog load OBJ PATH`: every program of the object loaded, the
// first pinned at PATH (its maps live on through it). Returns {"program":
// NAME} or {"error": "..."} with libbpf's messages (the verifier's log among
// them) when the load fails.
Json load_and_pin(const std::string &path, const std::string &pin, std::optional<uint32_t> type) {
  try {
    Object obj = open_object(path);
    bpf_map *map;
    bpf_object__for_each_map(map, obj.get()) bpf_map__set_pin_path(map, nullptr);
    bpf_program *first = bpf_object__next_program(obj.get(), nullptr);
    if (!first) throw CliError("'" + path + "': no BPF programs in this object (they live in SEC(\"...\") sections)");
    if (type) {
      bpf_program *prog;
      bpf_object__for_each_program(prog, obj.get()) bpf_program__set_type(prog, static_cast<enum bpf_prog_type>(*type));
    }
    g_libbpf_messages.clear();
    int err = bpf_object__load(obj.get());
    if (err) {
      std::string why = trim_trailing_newlines(g_libbpf_messages);
      std::string headline = error_text("'" + path + "': can't load the object", -err);
      if (auto failed = failed_program(g_libbpf_messages)) {
        bpf_program *prog = bpf_object__find_program_by_name(obj.get(), failed->name.c_str());
        const char *section = prog ? bpf_program__section_name(prog) : nullptr;
        std::string reason = verifier_reason(failed->log);
        if (reason.empty()) reason = libbpf_reason(g_libbpf_messages, failed->name);
        headline = "'" + path + "': " + rejection_summary(failed->name, section ? section : "", -err, failed->log, reason);
      }
      throw CliError(headline + (why.empty() ? "" : "\n" + why));
    }
    if (bpf_obj_pin(bpf_program__fd(first), pin.c_str()) != 0)
      throw CliError(errno_message("can't pin the program at " + pin, errno));
    return Json{{"program", bpf_program__name(first)}};
  } catch (const CliError &e) {
    return Json{{"error", e.what()}};
  } catch (const std::exception &e) {
    return Json{{"error", "'" + path + "': " + e.what()}};
  }
}

} // namespace

// The verifier's reason: its last line that is not part of the statistics
// the kernel prints at the end of every log.
std::string verifier_reason(const std::string &log) {
  std::istringstream lines(log);
  std::string line, reason;
  while (std::getline(lines, line)) {
    if (line.empty() || starts_with(line, "processed ") || starts_with(line, "verification time ") ||
        starts_with(line, "stack depth "))
      continue;
    reason = line;
  }
  return reason;
}

// The verifier log's last instruction line ("1: (71) r1 = *(u8 *)(r1 +12)"):
// the instruction the verifier stopped at. Empty when there is none (the
// program never reached the verifier, or failed a check before the walk).
std::string failing_instruction(const std::string &log) {
  std::istringstream lines(log);
  std::string line, last;
  while (std::getline(lines, line)) {
    size_t digits = 0;
    while (digits < line.size() && isdigit(static_cast<unsigned char>(line[digits]))) ++digits;
    // "N: (op) ..." is an instruction; "N: R1=..." (log level 2) is state.
    if (digits > 0 && line.compare(digits, 3, ": (") == 0) last = line;
  }
  return last;
}

std::string failing_place(const std::string &log) {
  std::string insn = failing_instruction(log);
  if (insn.empty()) return "";
  size_t colon = insn.find(": ");
  return " at insn " + insn.substr(0, colon) + " `" + insn.substr(colon + 2) + "`";
}

std::string where_and_why(const std::string &log) {
  std::string place = failing_place(log);
  return place.empty() ? "" : place + ": " + verifier_reason(log);
}

void load_elf_and_pin(const std::string &path, const std::string &pin, std::optional<uint32_t> type) {
  setenv("USERBPF_MEMLOCK_LIMIT", "unlimited", 0); // as verify_elf, for the same reason
  libbpf_set_print(capture_libbpf);
  Json result = run_isolated(path, [&] { return load_and_pin(path, pin, type); });
  if (result.contains("error")) throw CliError(result["error"].get<std::string>());
}

bool is_elf_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  return in.read(magic, sizeof(magic)) && memcmp(magic, "\x7f" "ELF", 4) == 0;
}

bool verify_elf(const VerifyOptions &options, std::optional<uint32_t> type, uint32_t level, bool log_shown,
                const OutputMode &mode, Json *out, std::string *error) {
  const std::string &path = options.path;
  // Maps the object declares are created for the load. userbpf charges them
  // to RLIMIT_MEMLOCK as pre-5.11 kernels did, and an unprivileged user's
  // hard limit (often 8 MiB) cannot be raised, while today's kernels charge
  // them to the memory cgroup: without this, a large map would fail the load
  // for a reason that is not the verifier's. A value the user set is kept.
  setenv("USERBPF_MEMLOCK_LIMIT", "unlimited", 0);
  libbpf_set_print(capture_libbpf);

  Json result = run_isolated(path, [&] { return verify_programs(path, type, level); });
  if (result.contains("error")) throw CliError(result["error"].get<std::string>());
  std::vector<ProgResult> results;
  size_t rejected = 0;
  try {
    for (const Json &j : result.at("programs")) {
      results.push_back(from_json(j));
      if (results.back().err) rejected++;
    }
  } catch (const Json::exception &e) {
    throw CliError("'" + path + "': malformed result from the verifying process: " + e.what());
  }

  if (mode.json) {
    Json progs = Json::array();
    for (const ProgResult &r : results) {
      Json j{{"name", r.name}, {"section", r.section}, {"type", r.type}, {"verified", r.err == 0}};
      if (r.processed >= 0) j["processed_insns"] = r.processed;
      if (r.err) {
        j["errno"] = errno_name(r.err);
        j["error"] = rejection_reason(r);
        std::string insn = failing_instruction(r.log);
        if (!insn.empty()) j["insn"] = insn;
      }
      j["log"] = r.log;
      if (!r.libbpf_log.empty()) j["libbpf_log"] = r.libbpf_log;
      progs.push_back(j);
    }
    *out = Json{{"file", path}, {"verified", rejected == 0}, {"programs", progs}};
  } else {
    for (const ProgResult &r : results) {
      std::cout << r.name << " (" << r.section << "): ";
      if (r.err == 0) {
        std::cout << "verified, " << r.processed << " instructions processed\n";
        if (log_shown) std::cout << r.log;
        continue;
      }
      std::cout << "rejected (" << errno_name(r.err) << "): " << rejection_reason(r) << "\n" << r.log;
      std::cout.flush();
      std::cerr << r.libbpf_log;
      std::cerr.flush();
    }
  }
  if (rejected) {
    *error = "'" + path + "': " + std::to_string(rejected) + " of " + std::to_string(results.size()) +
             (results.size() == 1 ? " program" : " programs") + " rejected";
    for (const ProgResult &r : results)
      if (r.err) *error += "\n  " + rejection_summary(r.name, r.section, r.err, r.log, rejection_reason(r));
  }
  return rejected == 0;
}

} // namespace ubcli
