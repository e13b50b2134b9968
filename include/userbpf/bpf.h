/* userbpf: the Linux BPF subsystem in user space.
 *
 * The C ABI. userbpf_bpf() behaves like syscall(__NR_bpf, cmd, attr, size):
 * it returns >= 0 on success, or -1 with errno set. union bpf_attr and every
 * command, map type, program type, helper and flag number are the system's
 * <linux/bpf.h>.
 */
#ifndef USERBPF_BPF_H
#define USERBPF_BPF_H

#include <stddef.h>
#include <linux/bpf.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define USERBPF_API __attribute__((visibility("default")))
#else
#define USERBPF_API
#endif

/* The bpf(2) system call, served by userbpf. Nothing reaches the host kernel. */
USERBPF_API long userbpf_bpf(int cmd, union bpf_attr *attr, unsigned int size);

/* Real path of a pin: bpffs_path is either a path inside the userbpf pin
 * root or a bpffs-style path under /sys/fs/bpf/. Returns 0, or -1 with errno. */
USERBPF_API int userbpf_pin_path(const char *bpffs_path, char *buf, size_t len);

/* The pin root in use (USERBPF_FS, else $XDG_RUNTIME_DIR/userbpf, else
 * /dev/shm/userbpf-$UID). Never NULL. */
USERBPF_API const char *userbpf_fs_root(void);

/* Number of possible CPUs, as libbpf computes it (/sys/devices/system/cpu/possible).
 * Per-CPU map values are round_up(value_size, 8) * userbpf_num_possible_cpus() bytes. */
USERBPF_API int userbpf_num_possible_cpus(void);

/* Disassemble raw BPF instructions (8-byte little-endian struct bpf_insn
 * words) in the kernel's syntax, one "   N: (op) text" line per instruction,
 * as `bpftool prog dump xlated` prints them. Writes a NUL-terminated string to
 * buf and returns its length (excluding the NUL), or the length needed when
 * len is too small; -1 with errno EINVAL for invalid instructions (the reason,
 * naming the instruction, is written to buf instead). */
USERBPF_API long userbpf_disassemble(const void *insns, size_t insn_bytes, char *buf, size_t len);

/* The x86-64 code this process runs a loaded program with (compiled on first
 * use, as BPF_PROG_TEST_RUN would). Copies min(code_len, size) bytes of it to
 * code; for i < offsets_count, offsets[i] = the offset in it where the code of
 * the program's instruction i starts (a function's first instruction includes
 * its prologue; offsets[instruction count] = the code size; the code before
 * offsets[0] is the entry trampoline and the error exits). *address, if not
 * NULL, receives the address the code runs at in this process. Returns the
 * code size, or -1 with errno: EBADF (not an fd), EINVAL (not a program),
 * EOPNOTSUPP (programs run in the interpreter here: USERBPF_JIT=0, or a CPU
 * without a JIT). userbpf extension; the kernel has no equivalent. */
USERBPF_API long userbpf_prog_jited(int prog_fd, void *code, size_t code_len, unsigned int *offsets,
                                    size_t offsets_count, unsigned long long *address);

#ifdef __cplusplus
}
#endif

#endif /* USERBPF_BPF_H */
