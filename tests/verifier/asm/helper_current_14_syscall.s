# type: syscall
# flags: sleepable
# priv: accept
# unpriv: accept
# why: helper 14 (the current task) in a syscall program
call 14
mov %r0, 0
exit
