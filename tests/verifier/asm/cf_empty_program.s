# type: socket_filter
# priv: reject E2BIG
# unpriv: reject E2BIG
# why: a program with no instructions
