# type: socket_filter
# priv: accept
# unpriv: reject EACCES
# unpriv-log: invalid read from stack R10 off=-8 size=8
# why: atomic add on a stack slot never written
mov %r1, 1
lock add [%r10-8], %r1
mov %r0, 0
exit
