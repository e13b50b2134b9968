# type: syscall
# flags: sleepable
# priv: accept
# unpriv: accept
# why: helper 15 (the current task) in a syscall program
call 15
mov %r0, 0
exit
