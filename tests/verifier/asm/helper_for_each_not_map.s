# type: socket_filter
# priv: reject EACCES
# priv-log: R1 type=scalar expected=map_ptr
# unpriv: reject EACCES
# unpriv-log: R1 type=scalar expected=map_ptr
# why: bpf_for_each_map_elem's first argument must be a map pointer (ARG_CONST_MAP_PTR), not a number
mov %r1, 0
mov %r2, 0
mov %r3, 0
mov %r4, 0
call 164
mov %r0, 0
exit
