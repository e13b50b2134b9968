# type: xdp
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R0 invalid mem access 'scalar'
# priv-log: R0 invalid mem access 'scalar'
# why: bpf_redirect returns a scalar, not a pointer: dereferencing it is rejected
mov %r1, 1
mov %r2, 0
call 23
ldxw %r0, [%r0+0]
exit
