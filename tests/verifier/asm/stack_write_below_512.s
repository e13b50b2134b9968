# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: invalid write to stack R10 off=-520 size=8
# priv-log: invalid write to stack R10 off=-520 size=8
# why: a store below the 512-byte stack
stdw [%r10-520], 0
mov %r0, 0
exit
