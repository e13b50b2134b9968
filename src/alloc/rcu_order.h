// Callbacks handed to liburcu and not run yet, counted so that
// rcu_defer() (alloc/rcu.h) keeps them in order: a callback it could run at
// once waits in line while any queued before it has not run. Order matters:
// a map's region is unmapped by a callback queued after those that give its
// freed elements back (src/alloc/region_alloc.cpp), which write into it.
// A header of its own: region_alloc.cpp uses liburcu's names directly and
// cannot include alloc/rcu.h.
#pragma once

namespace userbpf {

// Call just before call_rcu() and at the end of the callback.
void rcu_callback_queued();
void rcu_callback_ran();

} // namespace userbpf
