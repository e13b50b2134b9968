# type: socket_filter
# priv: accept
# unpriv: reject EACCES
# unpriv-log: R1 pointer comparison prohibited
# why: comparing a pointer with a non-zero constant
mov %r0, 0
jeq %r1, 7, out
mov %r0, 1
out:
exit
