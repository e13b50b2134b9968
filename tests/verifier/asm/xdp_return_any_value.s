# type: xdp
# priv: accept
# unpriv: accept
# why: XDP's return value is not range-checked by the verifier
mov %r0, 1000
exit
