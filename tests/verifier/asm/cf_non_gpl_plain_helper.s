# type: socket_filter
# priv: accept
# unpriv: accept
# license: Proprietary
# why: a non-GPL program may call helpers that are not GPL-only
call 7
exit
