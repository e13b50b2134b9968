# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: LD_ABS is not allowed in subprogs without BTF
# priv-log: LD_ABS is not allowed in subprogs without BTF
# why: LD_ABS in a callee of raw instructions (no BTF, no func_info): refused before exploring (check_abnormal_return); c/ld_abs.c has the BTF forms
mov %r6, %r1
call local f
mov %r2, %r10
add %r2, -520
add %r2, %r0
stb [%r2], 0
mov %r0, 0
exit
f:
mov %r6, %r1
.insn 0x30, 0, 0, 0, 0
mov %r0, 8
exit
