# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: LD_ABS is not allowed in subprogs without BTF
# priv-log: LD_ABS is not allowed in subprogs without BTF
# why: LD_ABS in a callee whose r6 is not the skb
mov %r6, %r1
call local f
exit
f:
.insn 0x30, 0, 0, 0, 0
exit
