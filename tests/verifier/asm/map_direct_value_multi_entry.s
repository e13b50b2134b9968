# type: socket_filter
# priv: reject ENOTSUPP
# unpriv: reject ENOTSUPP
# unpriv-log: invalid access to map value pointer, value_size=8 off=0
# priv-log: invalid access to map value pointer, value_size=8 off=0
# map: name=a type=array key=4 value=8 entries=4
# why: direct value access needs an array of exactly one entry
lddw %r1, mapvalue:a+0
ldxdw %r0, [%r1+0]
exit
