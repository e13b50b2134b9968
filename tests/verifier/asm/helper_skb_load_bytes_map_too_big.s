# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R3 min value is outside of the allowed memory range
# priv-log: R3 min value is outside of the allowed memory range
# map: name=m type=hash key=4 value=8 entries=16
# why: bpf_skb_load_bytes of 9 bytes into an 8-byte map value
mov %r6, %r1
stw [%r10-4], 0
mov %r2, %r10
add %r2, -4
lddw %r1, map:m
call 1
jeq %r0, 0, out
mov %r1, %r6
mov %r2, 0
mov %r3, %r0
mov %r4, 9
call 26
out:
mov %r0, 0
exit
