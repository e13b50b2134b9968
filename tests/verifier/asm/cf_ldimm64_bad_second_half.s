# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: invalid bpf_ld_imm64 insn
# priv-log: invalid bpf_ld_imm64 insn
# why: the second half of LD_IMM64 must be all zero but imm
.insn 0x18, 1, 0, 0, 1
.insn 0x00, 1, 0, 0, 0
mov %r0, 0
exit
