// Pins, the bpffs of userbpf: BPF_OBJ_PIN / BPF_OBJ_GET, telling a map fd from
// other objects, and the index of pinned maps that `map show -f` prints.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <userbpf/bpf.h>

namespace ubcli {

// BPF_OBJ_GET: an fd on the object pinned at path (bpffs-style /sys/fs/bpf/...
// or a path inside the userbpf pin root), or -1 with errno.
int open_pinned(const std::string &path);

// BPF_OBJ_PIN: 0, or -1 with errno.
int pin_object(int fd, const std::string &path);

// Is fd a map, and the map that *info describes? An fd is a real file, so the
// map of that id, opened again by id, must be the very same file.
bool is_map_fd(int fd, const bpf_map_info &info);

// Map id -> the bpffs-style paths (/sys/fs/bpf/...) where it is pinned.
using PinIndex = std::map<uint32_t, std::vector<std::string>>;
PinIndex index_pinned_maps();

} // namespace ubcli
