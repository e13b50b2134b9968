# type: socket_filter
# priv: accept
# unpriv: accept
# flags: strict_alignment any_alignment
# why: BPF_F_STRICT_ALIGNMENT together with BPF_F_ANY_ALIGNMENT
mov %r0, 0
exit
