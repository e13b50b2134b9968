# type: socket_filter
# priv: accept
# unpriv: accept
# why: several paths to one exit
ldxw %r2, [%r1+0]
mov %r0, 0
jeq %r2, 1, done
jeq %r2, 2, done
mov %r0, 1
done:
exit
