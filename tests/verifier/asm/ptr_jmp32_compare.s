# type: socket_filter
# priv: accept
# unpriv: reject EACCES
# unpriv-log: R1 pointer comparison prohibited
# why: a 32-bit comparison of a pointer
mov %r0, 0
jeq32 %r1, 0, out
mov %r0, 1
out:
exit
