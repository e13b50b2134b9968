# type: xdp
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: misaligned packet access off 2+0+0+1 size 4
# priv-log: misaligned packet access off 2+0+0+1 size 4
# flags: strict_alignment
# why: with BPF_F_STRICT_ALIGNMENT a 4-byte read at packet offset 1 (NET_IP_ALIGN 2 + 1) is misaligned
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov %r0, 2
mov %r4, %r2
add %r4, 8
jgt %r4, %r3, out
ldxw %r0, [%r2+1]
out:
exit
