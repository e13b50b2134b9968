# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: unrecognized bpf_ld_imm64 insn
# priv-log: unrecognized bpf_ld_imm64 insn
# why: LD_IMM64 with an undefined src_reg (pseudo) value
.insn 0x18, 1, 9, 0, 1
.insn 0x00, 0, 0, 0, 0
mov %r0, 0
exit
