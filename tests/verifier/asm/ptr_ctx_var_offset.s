# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R1 has pointer with unsupported alu operation, pointer arithmetic with it prohibited for !root
# priv-log: variable ctx access var_off=(0x0; 0x4) disallowed
# why: the context pointer plus a variable offset cannot be dereferenced
ldxw %r3, [%r1+0]
and %r3, 4
add %r1, %r3
ldxw %r0, [%r1+0]
exit
