# type: socket_filter
# priv: accept
# unpriv: accept
# map: name=a type=array key=4 value=8 entries=1
# why: BPF_PSEUDO_MAP_VALUE into a single-entry array: a map value pointer without a lookup
lddw %r1, mapvalue:a+0
ldxdw %r0, [%r1+0]
exit
