# type: sched_cls
# priv: reject EACCES
# unpriv: reject EACCES
# priv-log: invalid bpf_context access off=180 size=4
# why: __sk_buff.tstamp_type is a byte
ldxw %r0, [%r1+180]
exit
