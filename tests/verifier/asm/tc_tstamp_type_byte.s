# type: sched_cls
# priv: accept
# unpriv: accept
# why: tc programs may read __sk_buff.tstamp_type as a byte
ldxb %r0, [%r1+180]
exit
