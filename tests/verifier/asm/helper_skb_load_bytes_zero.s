# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R4 invalid zero-sized read: u64=[0,0]
# priv-log: R4 invalid zero-sized read: u64=[0,0]
# why: bpf_skb_load_bytes with size 0 (ARG_CONST_SIZE, not _OR_ZERO)
mov %r2, 0
mov %r3, %r10
add %r3, -8
mov %r4, 0
call 26
mov %r0, 0
exit
