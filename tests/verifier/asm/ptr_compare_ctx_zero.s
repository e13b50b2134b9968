# type: socket_filter
# priv: accept
# unpriv: reject EACCES
# unpriv-log: R1 pointer comparison prohibited
# why: comparing the (never NULL) context pointer with 0
mov %r0, 0
jeq %r1, 0, out
mov %r0, 1
out:
exit
