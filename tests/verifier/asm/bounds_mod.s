# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: math between map_value pointer and register with unbounded min value is not allowed
# priv-log: math between map_value pointer and register with unbounded min value is not allowed
# map: name=m type=array key=4 value=64 entries=4
# why: x % 64 as an offset: the kernel does not bound the result of BPF_MOD
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map:m
call 1
jeq %r0, 0, out
ldxdw %r1, [%r0+0]
mod %r1, 64
add %r0, %r1
ldxb %r0, [%r0+0]
exit
out:
mov %r0, 0
exit
