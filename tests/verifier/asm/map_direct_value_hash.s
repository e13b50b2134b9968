# type: socket_filter
# priv: reject EINVAL
# unpriv: reject EINVAL
# unpriv-log: no direct value access support for this map type
# priv-log: no direct value access support for this map type
# map: name=m type=hash key=4 value=8 entries=16
# why: a hash map has no direct value access
lddw %r1, mapvalue:m+0
mov %r0, 0
exit
