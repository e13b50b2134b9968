# type: socket_filter
# priv: accept
# unpriv: accept
# why: helpers every program type has: ktime_get_ns, get_prandom_u32, get_smp_processor_id
call 5
call 7
call 8
exit
