// Loading into the kernel as an unprivileged BPF loader: the kernel's
// bpf_capable() without perfmon_capable() (CAP_BPF, CAP_NET_ADMIN kept).
#pragma once

#include <linux/capability.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace ubt {

// Drops CAP_SYS_ADMIN and CAP_PERFMON from this thread's effective set;
// restores them on destruction. ok() says whether the drop happened.
class KernelWithoutPerfmon {
public:
  KernelWithoutPerfmon() {
    __user_cap_header_struct h{_LINUX_CAPABILITY_VERSION_3, 0};
    if (syscall(SYS_capget, &h, saved_) != 0) return;
    __user_cap_data_struct d[2];
    memcpy(d, saved_, sizeof d);
    for (int cap : {CAP_SYS_ADMIN, CAP_PERFMON}) d[cap / 32].effective &= ~(1u << (cap % 32));
    ok_ = syscall(SYS_capset, &h, d) == 0;
  }
  ~KernelWithoutPerfmon() {
    __user_cap_header_struct h{_LINUX_CAPABILITY_VERSION_3, 0};
    if (ok_) syscall(SYS_capset, &h, saved_);
  }
  KernelWithoutPerfmon(const KernelWithoutPerfmon &) = delete;
  KernelWithoutPerfmon &operator=(const KernelWithoutPerfmon &) = delete;
  bool ok() const { return ok_; }

private:
  __user_cap_data_struct saved_[2] = {};
  bool ok_ = false;
};

} // namespace ubt
