# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R6 !read_ok
# priv-log: R6 !read_ok
# why: LD_ABS reads r6
.insn 0x30, 0, 0, 0, 0
exit
