# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: misaligned value access off 0+0+1 size 4
# priv-log: misaligned value access off 0+0+1 size 4
# map: name=m type=hash key=4 value=8 entries=16
# flags: strict_alignment
# why: the same read with BPF_F_STRICT_ALIGNMENT
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map:m
call 1
jeq %r0, 0, out
ldxw %r0, [%r0+1]
exit
out:
mov %r0, 0
exit
