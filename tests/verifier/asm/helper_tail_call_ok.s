# type: xdp
# priv: accept
# unpriv: accept
# map: name=p type=prog_array key=4 value=4 entries=4
# why: bpf_tail_call through a program array, falling through to exit
lddw %r2, map:p
mov %r3, 1
call 12
mov %r0, 2
exit
