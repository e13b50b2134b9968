# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R7 !read_ok
# priv-log: R7 !read_ok
# why: LD_IND reads its src_reg
mov %r6, %r1
.insn 0x40, 0, 7, 0, 0
exit
