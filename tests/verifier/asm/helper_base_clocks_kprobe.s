# type: kprobe
# priv: accept
# unpriv: reject EPERM
# why: the base clock helpers in a tracing program type (which needs CAP_PERFMON to load at all)
call 125
mov %r6, %r0
call 208
sub %r0, %r6
mov %r0, 0
exit
