# type: socket_filter
# priv: reject EBADF
# unpriv: reject EBADF
# unpriv-log: fd 999 is not pointing to valid bpf_map
# priv-log: fd 999 is not pointing to valid bpf_map
# why: LD_IMM64 of a map fd that is not a map
.insn 0x18, 1, 1, 0, 999
.insn 0x00, 0, 0, 0, 0
mov %r0, 0
exit
