# type: perf_event
# priv: reject EACCES
# unpriv: reject EPERM
# priv-log: invalid bpf_context access off=0 size=4
# why: perf event programs read the registers as whole longs
ldxw %r0, [%r1+0]
exit
