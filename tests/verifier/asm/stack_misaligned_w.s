# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: misaligned stack access off 0+0+-2 size 4
# priv-log: misaligned stack access off 0+0+-2 size 4
# why: a 4-byte stack store at fp-2: stack accesses are always checked for alignment
stw [%r10-2], 0
mov %r0, 0
exit
