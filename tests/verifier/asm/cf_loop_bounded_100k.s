# type: socket_filter
# priv: accept
# unpriv: reject EFAULT
# unpriv-log: The sequence of 8193 jumps is too complex.
# why: a 100000-iteration loop stays under the 1M processed-insn limit
mov %r0, 0
mov %r1, 0
loop:
add %r1, 1
jlt %r1, 100000, loop
exit
