# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: write into map forbidden
# priv-log: write into map forbidden
# map: name=q type=queue key=0 value=8 entries=4 flags=128
# why: bpf_map_pop_elem changes a map that programs may only read (BPF_F_RDONLY_PROG)
lddw %r1, map:q
mov %r2, %r10
add %r2, -8
call 88
mov %r0, 0
exit
