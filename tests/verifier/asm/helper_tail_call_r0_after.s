# type: xdp
# priv: reject EACCES
# unpriv: reject EACCES
# priv-log: R0 !read_ok
# map: name=p type=prog_array key=4 value=4 entries=4
# why: bpf_tail_call returns nothing a fall-through could read
lddw %r2, map:p
mov %r3, 1
call 12
exit
