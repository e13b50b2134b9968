# type: xdp
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R7 !read_ok
# priv-log: R7 invalid mem access 'scalar'
# why: bpf_xdp_adjust_tail invalidates earlier packet pointers
mov %r6, %r1
ldxw %r2, [%r1+0]
ldxw %r3, [%r1+4]
mov %r4, %r2
add %r4, 4
jgt %r4, %r3, out
mov %r7, %r2
mov %r1, %r6
mov %r2, -4
call 65
ldxw %r0, [%r7+0]
exit
out:
mov %r0, 2
exit
