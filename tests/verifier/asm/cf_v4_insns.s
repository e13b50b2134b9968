# type: socket_filter
# priv: accept
# unpriv: accept
# why: ISA v4 instructions (movsx, sdiv, bswap, gotol) verify
mov %r1, -7
movsx832 %r0, %r1
sdiv %r0, 3
bswap16 %r0
ja32 +0
exit
