# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: BPF_EXIT uses reserved fields
# priv-log: BPF_EXIT uses reserved fields
# why: EXIT with a non-zero imm
mov %r0, 0
.insn 0x95, 0, 0, 0, 1
