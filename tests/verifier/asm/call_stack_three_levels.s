# type: socket_filter
# priv: reject EACCES
# unpriv: reject EACCES
# unpriv-log: combined stack size of 3 calls is 624. Too large
# priv-log: combined stack size of 3 calls is 624. Too large
# why: three frames of 200 bytes each (600 > 512)
stdw [%r10-200], 0
call local f
exit
f:
stdw [%r10-200], 0
call local g
exit
g:
stdw [%r10-200], 0
mov %r0, 0
exit
