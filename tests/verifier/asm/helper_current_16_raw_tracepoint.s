# type: raw_tracepoint
# priv: accept
# unpriv: reject EPERM
# why: bpf_get_current_comm (16) into a 16-byte stack buffer in a raw_tracepoint program
mov %r1, %r10
add %r1, -16
mov %r2, 16
call 16
ldxdw %r0, [%r10-16]
mov %r0, 0
exit
