# type: socket_filter
# priv: accept
# unpriv: accept
# why: two sibling calls of about 300 bytes each: depth is per chain, not summed
stdw [%r10-200], 0
call local f
call local g
exit
f:
stdw [%r10-296], 0
mov %r0, 0
exit
g:
stdw [%r10-304], 0
mov %r0, 0
exit
