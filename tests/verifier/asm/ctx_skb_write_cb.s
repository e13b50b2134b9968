# type: socket_filter
# priv: accept
# unpriv: accept
# why: socket filters may write __sk_buff.cb[]
stw [%r1+48], 1
mov %r2, 7
stxw [%r1+64], %r2
mov %r0, 0
exit
