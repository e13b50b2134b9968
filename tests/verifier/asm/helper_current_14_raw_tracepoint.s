# type: raw_tracepoint
# priv: accept
# unpriv: reject EPERM
# why: helper 14 (the current task) in a raw_tracepoint program
call 14
mov %r0, 0
exit
