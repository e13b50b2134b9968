# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: program of this type cannot use helper bpf_redirect#23
# priv-log: program of this type cannot use helper bpf_redirect#23
# why: bpf_redirect is not available to socket filters
mov %r1, 1
mov %r2, 0
call 23
exit
