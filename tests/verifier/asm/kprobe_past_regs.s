# type: kprobe
# priv: reject EACCES
# unpriv: reject EPERM
# priv-log: invalid bpf_context access off=168 size=8
# why: struct pt_regs is 168 bytes on x86-64
ldxdw %r0, [%r1+168]
exit
