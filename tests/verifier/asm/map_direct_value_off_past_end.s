# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: invalid access to map value pointer, value_size=8 off=8
# priv-log: invalid access to map value pointer, value_size=8 off=8
# map: name=a type=array key=4 value=8 entries=1
# why: BPF_PSEUDO_MAP_VALUE with an offset at value_size
lddw %r1, mapvalue:a+8
mov %r0, 0
exit
