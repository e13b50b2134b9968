# type: socket_filter
# priv: accept
# unpriv: reject EPERM
# unpriv-log: 'struct bpf_htab' access is allowed only to CAP_PERFMON and CAP_SYS_ADMIN
# map: name=m type=hash key=4 value=8 entries=16
# why: reading through the map pointer: allowed with CAP_PERFMON (BTF-typed struct bpf_htab), EPERM without
lddw %r1, map:m
ldxdw %r0, [%r1+0]
exit
