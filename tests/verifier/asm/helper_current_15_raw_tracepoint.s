# type: raw_tracepoint
# priv: accept
# unpriv: reject EPERM
# why: helper 15 (the current task) in a raw_tracepoint program
call 15
mov %r0, 0
exit
