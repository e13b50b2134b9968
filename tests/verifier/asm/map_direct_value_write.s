# type: socket_filter
# priv: accept
# unpriv: accept
# map: name=a type=array key=4 value=8 entries=1
# why: a store through a direct value pointer
lddw %r1, mapvalue:a+0
stdw [%r1+0], 1
mov %r0, 0
exit
