# type: socket_filter
# priv: accept
# unpriv: accept
# why: bpf_ktime_get_coarse_ns, for every program type
call 160
exit
