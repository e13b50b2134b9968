# type: xdp
# priv: accept
# unpriv: reject EACCES
# unpriv-log: R2 pointer comparison prohibited
# why: comparing a packet pointer with a scalar
ldxw %r2, [%r1+0]
mov %r0, 2
jgt %r2, 100, out
mov %r0, 1
out:
exit
