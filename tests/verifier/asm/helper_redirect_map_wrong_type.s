# type: xdp
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: cannot pass map_type 1 into func bpf_redirect_map#51
# priv-log: cannot pass map_type 1 into func bpf_redirect_map#51
# map: name=m type=hash key=4 value=8 entries=16
# why: bpf_redirect_map does not take a hash map
lddw %r1, map:m
mov %r2, 0
mov %r3, 0
call 51
exit
