# type: perf_event
# priv: accept
# unpriv: reject EPERM
# why: sample_period and addr may be read narrower
ldxdw %r0, [%r1+168]
ldxw %r2, [%r1+176]
ldxdw %r3, [%r1+0]
exit
