# type: xdp
# priv: accept
# unpriv: accept
# why: without strict alignment a misaligned packet read is fine (x86)
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov %r0, 2
mov %r4, %r2
add %r4, 8
jgt %r4, %r3, out
ldxw %r0, [%r2+1]
out:
exit
