# type: xdp
# priv: accept
# unpriv: accept
# why: bpf_redirect is available to XDP
mov %r1, 1
mov %r2, 0
call 23
exit
