# type: socket_filter
# priv: accept
# unpriv: reject EACCES
# unpriv-log: R10 pointer comparison prohibited
# why: comparing two pointers of different kinds
mov %r0, 0
jgt %r1, %r10, out
mov %r0, 1
out:
exit
