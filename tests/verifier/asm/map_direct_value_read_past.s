# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: R1 min value is outside of the allowed memory range
# priv-log: R1 min value is outside of the allowed memory range
# map: name=a type=array key=4 value=8 entries=1
# why: a read through a direct value pointer past value_size
lddw %r1, mapvalue:a+4
ldxdw %r0, [%r1+0]
exit
