// BPF_PROG_TEST_RUN: run a loaded program once or `repeat` times on a packet
// (and context) the caller gives, as the kernel's net/bpf/test_run.c does
// (bpf_prog_test_run_xdp, bpf_prog_test_run_skb), and hand back the return
// value, the average duration, the packet and the context after the run.
//
// src/syscall decodes union bpf_attr and checks what bpf_prog_test_run()
// checks before it reaches the program type (CHECK_ATTR, ctx pointer/size
// pairs, the prog fd); everything per type happens here, in the kernel's
// order, so the first error is the kernel's first error. User memory is
// reached only through UserMemory, so an unmapped buffer is EFAULT at the
// same step as in the kernel. See docs/PROGRAMS.md.
#pragma once

#include <cstdint>
#include <functional>

#include "object/handle.h"

namespace userbpf {

// Copies between this library and the caller's buffers: 0 or -EFAULT.
struct UserMemory {
  std::function<int(void *dst, uint64_t user_src, size_t n)> read;
  std::function<int(uint64_t user_dst, const void *src, size_t n)> write;
};

// attr->test, as the caller passed it.
struct TestRunRequest {
  uint64_t data_in = 0, data_out = 0, ctx_in = 0, ctx_out = 0;
  uint32_t data_size_in = 0, data_size_out = 0, ctx_size_in = 0, ctx_size_out = 0;
  uint32_t repeat = 0, flags = 0, cpu = 0, batch_size = 0;
  uint32_t duration = 0; // an output, but some types refuse a non-zero one
};

// What goes back into attr->test. The kernel writes the fields only once the
// run reached the step that writes them (bpf_test_finish, bpf_ctx_finish).
struct TestRunReply {
  bool data_written = false; // data_size_out, retval, duration are valid
  uint32_t data_size_out = 0;
  uint32_t retval = 0;
  uint32_t duration = 0;
  bool ctx_written = false;  // ctx_size_out is valid
  uint32_t ctx_size_out = 0;
  bool retval_written = false; // only retval is valid (raw tracepoint, syscall programs)
};

// Run program object `prog` (kind kProg). Returns 0 or the kernel's -errno
// (-ENOSPC when data_out or ctx_out was too small: what fits is copied and
// the reply is filled in, as the kernel does; -ENOTSUPP (524) for program
// types the kernel cannot test-run). The caller holds an RcuReadGuard.
int prog_test_run(Object &prog, const TestRunRequest &req, const UserMemory &user, TestRunReply *reply);

} // namespace userbpf
