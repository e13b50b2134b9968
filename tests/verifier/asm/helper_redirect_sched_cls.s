# type: sched_cls
# priv: accept
# unpriv: accept
# why: bpf_redirect is available to tc programs (their own implementation of id 23)
mov %r1, 1
mov %r2, 1
call 23
exit
