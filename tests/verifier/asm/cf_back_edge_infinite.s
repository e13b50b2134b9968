# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: infinite loop detected at insn 1
# priv-log: infinite loop detected at insn 1
# why: a loop whose exit condition can never hold (state repeats)
mov %r0, 0
loop:
jeq %r0, 1, out
ja loop
out:
exit
