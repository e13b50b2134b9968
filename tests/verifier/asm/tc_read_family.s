# type: sched_act
# priv: reject EACCES
# unpriv: reject EACCES
# priv-log: invalid bpf_context access off=88 size=4
# why: tc programs may not read the socket fields family..local_port
ldxw %r0, [%r1+88]
exit
