# type: socket_filter
# priv: accept
# unpriv: accept
# map: name=a type=array key=4 value=8 entries=1
# why: BPF_PSEUDO_MAP_VALUE with an offset inside the value
lddw %r1, mapvalue:a+4
ldxw %r0, [%r1+0]
exit
