// BPF_MAP_TYPE_PROG_ARRAY: what the rest of userbpf asks of a program array
// (the ops table is in prog_array.cpp, like every map family's).
//
// An entry holds a program id and one reference (ObjectHeader::refs) on that
// program, taken when user space stores the program's fd and dropped when the
// entry is overwritten, deleted or cleared. Which program types may be stored
// is fixed by the array's owner: the first program stored, or the first
// program loaded that uses the array (the kernel's bpf_prog_map_compatible).
#pragma once

#include <cstdint>

#include "maps/map.h"

namespace userbpf {

// May a program of this type (and prog_flags) use or enter `map`? The first
// program asked about becomes the owner.
bool prog_array_compatible(Map &map, uint32_t prog_type, uint32_t prog_flags);

// The program id in slot `index`, or 0 (empty, or out of range).
uint32_t prog_array_entry(const Map &map, uint32_t index);

// Empty every slot, dropping the references (the kernel clears a program
// array when its last user, fd or pin, goes away: prog_array_map_clear).
void prog_array_clear(Map &map);

} // namespace userbpf
