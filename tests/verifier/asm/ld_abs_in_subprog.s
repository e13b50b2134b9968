# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: LD_ABS is not allowed in subprogs without BTF
# priv-log: LD_ABS is not allowed in subprogs without BTF
# why: LD_ABS in a bpf-to-bpf callee (no BTF): the skb must be in the callee r6
mov %r6, %r1
call local f
exit
f:
mov %r6, %r1
.insn 0x30, 0, 0, 0, 0
exit
