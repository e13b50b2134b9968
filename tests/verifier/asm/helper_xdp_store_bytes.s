# type: xdp
# priv: accept
# unpriv: accept
# why: bpf_xdp_store_bytes copies initialised stack bytes into the packet
stdw [%r10-8], 0
mov %r2, 0
mov %r3, %r10
add %r3, -8
mov %r4, 8
call 190
mov %r0, 2
exit
