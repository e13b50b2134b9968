# type: socket_filter
# priv: accept
# unpriv: accept
# why: code behind an always-taken branch still counts as reachable (CFG check ignores values)
mov %r0, 0
jeq %r0, 0, out
mov %r0, 1
out:
exit
