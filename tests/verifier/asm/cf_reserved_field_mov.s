# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: BPF_MOV uses reserved fields
# priv-log: BPF_MOV uses reserved fields
# why: MOV with a non-zero src_reg field in its immediate form
.insn 0xb7, 0, 1, 0, 0
exit
