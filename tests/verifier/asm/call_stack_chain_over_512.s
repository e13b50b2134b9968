# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: combined stack size of 2 calls is 528. Too large
# priv-log: combined stack size of 2 calls is 528. Too large
# why: 256 + 264 bytes of stack along one call chain exceed 512
stdw [%r10-256], 0
call local f
exit
f:
stdw [%r10-264], 0
mov %r0, 0
exit
