# type: xdp
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R4 invalid zero-sized read: u64=[0,0]
# priv-log: R4 invalid zero-sized read: u64=[0,0]
# why: bpf_xdp_load_bytes's size is ARG_CONST_SIZE: zero is refused
mov %r2, 0
mov %r3, %r10
add %r3, -8
mov %r4, 0
call 189
mov %r0, 2
exit
