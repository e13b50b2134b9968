// userbpf: a bpftool-like command line over userbpf's C ABI.
//
//   userbpf [-j|-p] [-f] map { show | list | create | dump | lookup | update |
//                              delete | getnext | push | enqueue | pop | dequeue |
//                              peek | freeze | pin } ...
//   userbpf [-j|-p] prog dump xlated { file PATH | id ID | pinned FILE }
//   userbpf [-j|-p] [--interpret] prog dump jited { file PATH | id ID | pinned FILE }
//   userbpf [-j|-p] prog show [id ID | pinned FILE]
//   userbpf [-j|-p] prog load FILE PATH [type TYPE] [name NAME]
//   userbpf [-j|-p] prog run { id ID | pinned FILE } [data_in FILE | hex BYTES] [data_out FILE]
//                    [ctx_in FILE] [ctx_out FILE] [repeat N]
//   userbpf [-j|-p] verify FILE [--type xdp|socket_filter|N] [--unprivileged] [--log-level N]
//                    (FILE: an ELF object, or raw instructions)
//   userbpf version
//
// The words after a verb follow bpftool's grammar (`id 3`, `pinned FILE`,
// `key hex 01 00 00 00`), so bpftool habits and scripts carry over. Only verbs
// that work are offered: loaded programs, links, run/conformance come with
// the layers that implement them.
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include <userbpf/userbpf.hpp>

#include "cli_common.h"
#include "map_commands.h"
#include "prog_commands.h"

namespace {

constexpr const char *kMapGrammar =
    "MAP   := id ID | pinned FILE | name NAME\n"
    "FILE  := a pin path: /sys/fs/bpf/... (mapped onto the userbpf pin root) or a path inside the pin root\n"
    "BYTES := [hex] BYTE...  (C notation per byte: 10, 0x0a, 012; after 'hex' every byte is base 16)\n"
    "TYPE  := hash | array | percpu_hash | percpu_array | lru_hash | lru_percpu_hash | ... (or a number)\n"
    "Per-CPU maps: lookup and dump print one value per possible CPU; update sets every CPU's value.";

// Map names and paths come from users and may not be UTF-8: replace bad
// bytes instead of letting the JSON writer throw.
void print_json(const ubcli::Json &j, bool pretty) {
  std::cout << j.dump(pretty ? 4 : -1, ' ', false, ubcli::Json::error_handler_t::replace) << "\n";
}

void print_version(const ubcli::OutputMode &mode) {
  if (mode.json) {
    print_json(ubcli::Json{{"version", USERBPF_CLI_VERSION},
                           {"pin_root", userbpf_fs_root()},
                           {"possible_cpus", userbpf_num_possible_cpus()}},
               mode.pretty);
    return;
  }
  std::cout << "userbpf v" << USERBPF_CLI_VERSION << "\n";
  std::cout << "pin root: " << userbpf_fs_root() << "  (/sys/fs/bpf/... paths map onto it)\n";
  std::cout << "possible cpus: " << userbpf_num_possible_cpus() << "\n";
}

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"userbpf: the Linux BPF subsystem in user space -- a bpftool-like command line"};
  app.name("userbpf");
  app.require_subcommand(1);

  ubcli::OutputMode mode;
  app.add_flag("-j,--json", mode.json, "print JSON, shaped like bpftool's");
  app.add_flag("-p,--pretty", mode.pretty, "print pretty JSON (implies -j)");
  app.add_flag("-f,--bpffs", mode.show_pinned, "in 'map show', list the paths where each map is pinned");
  bool interpret = false;
  app.add_flag("--interpret", interpret,
               "run programs in the interpreter, not as JIT code (as USERBPF_JIT=0; the JIT is the default on x86-64)");

  CLI::App *version = app.add_subcommand("version", "print the version, the pin root and the CPU count");

  std::vector<std::string> prog_words;
  CLI::App *prog = app.add_subcommand("prog", "inspect programs");
  prog->require_subcommand(1);
  std::vector<std::string> prog_show_words;
  CLI::App *prog_show = prog->add_subcommand("show", "show one loaded program, or all of them");
  CLI::App *prog_list = prog->add_subcommand("list", "same as show");
  prog_list->add_option("words", prog_show_words, "[id ID | pinned FILE]")->type_name("");
  prog_show->add_option("words", prog_show_words, "[id ID | pinned FILE]")->type_name("");
  prog_show->footer("Usage: userbpf [-j|-p] prog show [id ID | pinned FILE]");
  std::vector<std::string> prog_load_words;
  CLI::App *prog_load = prog->add_subcommand("load", "load an ELF object or raw instructions and pin the program");
  prog_load->add_option("words", prog_load_words, "FILE PATH [type TYPE] [name NAME]")->type_name("");
  prog_load->footer("Usage: userbpf [-j|-p] prog load FILE PATH [type socket_filter|xdp|sched_cls|sched_act|cgroup_skb|N] [name NAME]\n"
                    "FILE: an ELF object (clang -target bpf; loaded by libbpf, its first program pinned at PATH)\n"
                    "      or raw instructions (8-byte words, or hex text).");
  std::vector<std::string> prog_run_words;
  CLI::App *prog_run = prog->add_subcommand("run", "test-run a loaded program (BPF_PROG_TEST_RUN)");
  prog_run->add_option("words", prog_run_words, "PROG [data_in FILE | hex BYTES] [data_out FILE] ...")->type_name("");
  prog_run->footer("Usage: userbpf [-j|-p] prog run PROG [data_in FILE | hex BYTES] [data_out FILE] [data_size_out L]\n"
                   "                       [ctx_in FILE] [ctx_out FILE] [ctx_size_out M] [repeat N]\n"
                   "PROG := id ID | pinned FILE; FILE '-' is stdin (data_in, ctx_in) or stdout (data_out, ctx_out).\n"
                   "Prints data_out in hex (unless written to a file), the return value and the duration.");
  CLI::App *prog_dump = prog->add_subcommand("dump", "print a program's instructions");
  prog_dump->require_subcommand(1);
  CLI::App *prog_xlated = prog_dump->add_subcommand("xlated", "disassemble, in the kernel's syntax");
  prog_xlated->add_option("words", prog_words, "file PATH (raw or hex instructions) | id ID | pinned FILE")
      ->type_name("");
  prog_xlated->footer("Usage: userbpf [-j|-p] prog dump xlated { file PATH | id ID | pinned FILE }");
  std::vector<std::string> prog_jited_words;
  CLI::App *prog_jited = prog_dump->add_subcommand("jited", "the x86-64 code (JIT), under the BPF instruction of each part");
  prog_jited->add_option("words", prog_jited_words, "file PATH (raw or hex instructions) | id ID | pinned FILE")
      ->type_name("");
  prog_jited->footer("Usage: userbpf [-j|-p] prog dump jited { file PATH | id ID | pinned FILE }\n"
                     "The code this process would run (USERBPF_JIT=0 selects the interpreter: then there is none).");

  ubcli::VerifyOptions verify_options;
  CLI::App *verify = app.add_subcommand("verify", "run the verifier on a program and print its verdict and log");
  verify->add_option("FILE", verify_options.path,
                      "an ELF object (clang -target bpf), or raw instructions (8-byte struct bpf_insn words, "
                      "or hex text)")
      ->required();
  verify->add_option("--type", verify_options.type,
                     "program type: socket_filter, xdp, or a number (default: socket_filter for raw instructions, "
                     "the section's type for ELF programs)");
  verify->add_flag("--unprivileged", verify_options.unprivileged,
                   "verify as a loader with CAP_BPF only (no CAP_PERFMON / CAP_SYS_ADMIN)");
  verify->add_option("--log-level", verify_options.log_level,
                     "BPF_LOG_* bits (1: the verifier's trace of errors, 2: every instruction, 4: statistics); "
                     "the log is printed even when the program is accepted");
  verify->footer("ELF objects are loaded with libbpf, one program at a time; each gets its own verdict:\n"
                 "  PROG (SECTION): verified, N instructions processed\n"
                 "  PROG (SECTION): rejected (ERRNO): <the verifier's last line>, then its log\n"
                 "Exit status: 0 when the verifier accepts every program, 1 otherwise (the log says why).");

  CLI::App *map = app.add_subcommand("map", "inspect and change maps");
  map->require_subcommand(1);
  map->fallthrough();
  map->footer(kMapGrammar);

  struct ParsedVerb {
    CLI::App *app;
    const ubcli::MapVerbInfo *info;
  };
  std::vector<ParsedVerb> verbs;
  std::vector<std::string> words;
  for (const auto &verb : ubcli::map_verbs()) {
    CLI::App *sub = map->add_subcommand(verb.name, verb.summary);
    sub->fallthrough();
    sub->add_option("words", words, verb.usage)->type_name("");
    sub->footer(std::string("Usage: userbpf [-j|-p] map ") + verb.name + " " + verb.usage + "\n\n" + kMapGrammar);
    verbs.push_back({sub, &verb});
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    return app.exit(e);
  }
  if (mode.pretty) mode.json = true;
  if (interpret) userbpf::set_execution_engine(userbpf::ExecutionEngine::kInterpreter);

  // Runs one verb: its JSON (with -j) or its error, and the exit status.
  auto run_verb = [&mode](const std::function<void(ubcli::Json *)> &verb) {
    ubcli::Json out;
    try {
      verb(&out);
    } catch (const ubcli::CliError &e) {
      if (mode.json) print_json(ubcli::Json{{"error", e.what()}}, mode.pretty);
      else std::cerr << "Error: " << e.what() << "\n";
      return 1;
    }
    if (mode.json) print_json(out, mode.pretty);
    return 0;
  };

  if (version->parsed()) {
    print_version(mode);
    return 0;
  }

  if (prog_show->parsed() || prog_list->parsed()) {
    return run_verb([&](ubcli::Json *out) { ubcli::prog_show(prog_show_words, mode, out); });
  }

  if (prog_load->parsed()) {
    return run_verb([&](ubcli::Json *out) { ubcli::prog_load_pin(prog_load_words, mode, out); });
  }

  if (prog_run->parsed()) {
    return run_verb([&](ubcli::Json *out) { ubcli::prog_run(prog_run_words, mode, out); });
  }

  if (prog_xlated->parsed()) {
    return run_verb([&](ubcli::Json *out) { ubcli::prog_dump_xlated(prog_words, mode, out); });
  }

  if (prog_jited->parsed()) {
    return run_verb([&](ubcli::Json *out) { ubcli::prog_dump_jited(prog_jited_words, mode, out); });
  }

  if (verify->parsed()) {
    ubcli::Json out;
    std::string error;
    bool accepted = false;
    try {
      accepted = ubcli::verify_file(verify_options, mode, &out, &error);
    } catch (const ubcli::CliError &e) {
      if (mode.json) print_json(ubcli::Json{{"error", e.what()}}, mode.pretty);
      else std::cerr << "Error: " << e.what() << "\n";
      return 1;
    }
    if (mode.json) print_json(out, mode.pretty);
    else if (!accepted) std::cerr << "Error: " << error << "\n";
    return accepted ? 0 : 1;
  }

  for (const auto &v : verbs) {
    if (!v.app->parsed()) continue;
    return run_verb([&](ubcli::Json *out) { v.info->run(words, mode, out); });
  }
  std::cerr << "Error: no command given (see userbpf --help)\n";
  return 1;
}
