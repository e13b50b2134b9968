# type: socket_filter
# priv: accept
# unpriv: accept
# map: name=m type=hash key=4 value=8 entries=16
# flags: any_alignment
# why: BPF_F_ANY_ALIGNMENT with a misaligned map value read
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
