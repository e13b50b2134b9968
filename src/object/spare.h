// Spare object files: small blank regions made ahead of time by a background
// thread, so that creating a small object (a program, a small map) does not
// wait for its file to be created, backed, mapped and opened.
//
// Creating an object's file costs about ten system calls (O_TMPFILE open,
// fallocate, fstat, mmap, a second open for the first handle and its OFD
// lock), several times what the kernel spends loading a tiny program. A spare
// is all of that done in advance for the commonest size (one header page and
// one data page, fully backed): an unnamed file (O_TMPFILE, so a process that
// dies leaves nothing behind), mapped, with a second open file description
// that already holds the OFD lock of handle 1 (see handle.h). object_create()
// takes one, fills in the header and publishes it as usual (linkat under the
// store lock); when none is ready it creates the file itself, as before.
//
// Spares belong to one process: a child made by fork() drops the ones it
// inherited (they share open file descriptions with its parent's) and
// creates its objects' files itself (no thread is started after fork). A spare fd that the program closed or replaced behind our back
// (close_range(), dup2()) is noticed by checking both fds' inode on take.
#pragma once

#include <sys/types.h>

#include <cstdint>

#include "object/object.h"

namespace userbpf {

// The only region size kept spare: the header page and one data page.
constexpr uint64_t kSpareRegionSize = kHeaderSize + kPageSize;

struct SpareRegion {
  int internal_fd = -1; // our own description (mapping, lock probes); no handle lock
  int handle_fd = -1;   // a second description holding handle 1's OFD lock
  void *base = nullptr; // the whole region, mapped shared, read-write, zeroed
  ino_t ino = 0;
  dev_t dev = 0;
};

// Take a spare region if one is ready (true), and ask for more in the
// background either way. Never blocks on file creation.
bool spare_take(SpareRegion *out);

} // namespace userbpf
