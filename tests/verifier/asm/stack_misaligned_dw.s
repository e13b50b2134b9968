# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: misaligned stack access off 0+0+-12 size 8
# priv-log: misaligned stack access off 0+0+-12 size 8
# why: an 8-byte stack store at a 4-byte aligned offset
stdw [%r10-12], 0
mov %r0, 0
exit
