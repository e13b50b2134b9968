# type: sched_cls
# priv: reject EACCES
# unpriv: reject EACCES
# priv-log: R1 type=fp expected=ctx
# map: name=p type=prog_array key=4 value=4 entries=4
# why: bpf_tail_call passes the context on: r1 must be it
mov %r1, %r10
lddw %r2, map:p
mov %r3, 0
call 12
mov %r0, 0
exit
