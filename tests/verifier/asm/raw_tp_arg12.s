# type: raw_tracepoint
# priv: reject EACCES
# unpriv: reject EPERM
# priv-log: invalid bpf_context access off=96 size=8
# why: there is no 13th argument
ldxdw %r0, [%r1+96]
exit
