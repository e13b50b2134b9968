# type: xdp
# priv: accept
# unpriv: reject EACCES
# unpriv-log: invalid read from stack R3 off=-8 size=8
# why: bpf_xdp_store_bytes reads its source (read-only memory): uninitialised stack is a leak without CAP_PERFMON
mov %r2, 0
mov %r3, %r10
add %r3, -8
mov %r4, 8
call 190
mov %r0, 2
exit
