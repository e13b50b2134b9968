# type: kprobe
# priv: accept
# unpriv: reject EPERM
# why: helper 15 (the current task) in a kprobe program
call 15
mov %r0, 0
exit
