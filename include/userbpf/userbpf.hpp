// userbpf's C++ API: settings a host program makes for the whole process.
// The bpf() ABI itself is <userbpf/bpf.h>.
#pragma once

namespace userbpf {

// The capabilities BPF_PROG_LOAD verifies programs with, as the kernel's
// verifier derives them from the loader's capabilities:
//   kPrivileged    CAP_BPF + CAP_PERFMON (+ CAP_SYS_ADMIN): what a root
//                  loader gets. Reads of uninitialized stack, pointer leaks
//                  and pointer comparisons are allowed; mispredicted branches
//                  are not explored.
//   kUnprivileged  CAP_BPF alone: the kernel's stricter verdicts (no pointer
//                  leaks, no uninitialized stack reads, Spectre v1/v4
//                  sanitation, e.g. a bounded loop is "infinite loop detected").
// The default is kPrivileged, unless the environment variable
// USERBPF_UNPRIVILEGED=1 was set when libuserbpf first needed the setting.
enum class LoaderPrivilege { kPrivileged, kUnprivileged };

__attribute__((visibility("default"))) void set_loader_privilege(LoaderPrivilege privilege);
__attribute__((visibility("default"))) LoaderPrivilege loader_privilege();

// How loaded programs run in this process:
//   kJit          native code (x86-64): the default where there is a JIT;
//   kInterpreter  the interpreter: the default on other CPUs, and on request.
// Both give the same results. The environment variable USERBPF_JIT=0 chooses
// the interpreter, USERBPF_JIT=1 the JIT, when libuserbpf first needs the
// setting. A program's run-time form is built the first time this process
// runs it, with the setting of that moment; set_execution_engine() returns
// -EOPNOTSUPP (and changes nothing) for kJit on a CPU without a JIT, else 0.
enum class ExecutionEngine { kInterpreter, kJit };

__attribute__((visibility("default"))) int set_execution_engine(ExecutionEngine engine);
__attribute__((visibility("default"))) ExecutionEngine execution_engine();

// Constant blinding of JIT code, as the kernel's net.core.bpf_jit_harden:
//   kOff           never (the kernel's default, 0);
//   kUnprivileged  for programs loaded with LoaderPrivilege::kUnprivileged (1);
//   kAll           for every program (2).
// Blinded code carries no constant the program chose (JIT spraying). The
// environment variable USERBPF_JIT_HARDEN=0/1/2 sets it at first use.
enum class JitHarden { kOff, kUnprivileged, kAll };

__attribute__((visibility("default"))) void set_jit_harden(JitHarden harden);
__attribute__((visibility("default"))) JitHarden jit_harden();

} // namespace userbpf
