# type: syscall
# priv: reject EINVAL
# unpriv: reject EINVAL
# priv-log: Syscall programs can only be sleepable
# why: syscall programs must be loaded with BPF_F_SLEEPABLE
mov %r0, 0
exit
