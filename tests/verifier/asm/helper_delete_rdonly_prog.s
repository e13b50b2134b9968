# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: write into map forbidden
# priv-log: write into map forbidden
# map: name=h type=hash key=4 value=8 entries=4 flags=128
# why: bpf_map_delete_elem on a map programs may only read (BPF_F_RDONLY_PROG)
stdw [%r10-8], 0
lddw %r1, map:h
mov %r2, %r10
add %r2, -4
call 3
mov %r0, 0
exit
