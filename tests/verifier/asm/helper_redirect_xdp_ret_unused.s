# type: xdp
# priv: accept
# unpriv: accept
# why: bpf_redirect's result is a scalar: an XDP program may return its own verdict instead
mov %r1, 1
mov %r2, 0
call 23
mov %r0, 2
exit
