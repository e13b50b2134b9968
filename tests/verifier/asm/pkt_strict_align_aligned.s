# type: xdp
# priv: accept
# unpriv: accept
# flags: strict_alignment
# why: twin: with BPF_F_STRICT_ALIGNMENT a 4-byte read at offset 2 (IP header) is aligned
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov %r0, 2
mov %r4, %r2
add %r4, 8
jgt %r4, %r3, out
ldxw %r0, [%r2+2]
out:
exit
