# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R2 !read_ok
# priv-log: R2 !read_ok
# why: r1-r5 are scratched by LD_ABS
mov %r6, %r1
mov %r2, 7
.insn 0x30, 0, 0, 0, 0
mov %r0, %r2
exit
