# type: socket_filter
# priv: accept
# unpriv: accept
# map: name=q type=queue key=0 value=8 entries=4 flags=128
# why: bpf_map_peek_elem only reads a BPF_F_RDONLY_PROG map
lddw %r1, map:q
mov %r2, %r10
add %r2, -8
call 89
mov %r0, 0
exit
