# type: socket_filter
# priv: accept
# unpriv: reject EINVAL
# unpriv-log: program of this type cannot use helper bpf_get_current_comm#16
# why: bpf_get_current_comm (16) into a 16-byte stack buffer in a socket_filter program
mov %r1, %r10
add %r1, -16
mov %r2, 16
call 16
ldxdw %r0, [%r10-16]
mov %r0, 0
exit
