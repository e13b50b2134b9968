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

} // namespace userbpf
