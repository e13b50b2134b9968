#include "pins.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "cli_common.h"

namespace ubcli {

int open_pinned(const std::string &path) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.pathname = reinterpret_cast<uintptr_t>(path.c_str());
  return static_cast<int>(bpf_call(BPF_OBJ_GET, attr));
}

int pin_object(int fd, const std::string &path) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.pathname = reinterpret_cast<uintptr_t>(path.c_str());
  attr.bpf_fd = static_cast<uint32_t>(fd);
  return static_cast<int>(bpf_call(BPF_OBJ_PIN, attr));
}

bool is_map_fd(int fd, const bpf_map_info &info) {
  // bpf_prog_info and bpf_link_info also begin with (type, id), so the info
  // of another object kind can look like a map's; the id settles it.
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.map_id = info.id;
  Fd by_id(static_cast<int>(bpf_call(BPF_MAP_GET_FD_BY_ID, attr)));
  if (by_id.get() < 0) return false;
  struct stat a, b;
  if (fstat(fd, &a) != 0 || fstat(by_id.get(), &b) != 0) return false;
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

PinIndex index_pinned_maps() {
  namespace fs = std::filesystem;
  PinIndex index;
  fs::path root = userbpf_fs_root();
  std::error_code ec;
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const fs::path &p = it->path();
    // Hidden entries (userbpf's own object store lives in .userbpf/) are not pins.
    if (p.filename().string().rfind('.', 0) == 0) {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec)) continue;
    Fd fd(open_pinned(p.string()));
    if (fd.get() < 0) continue; // not an object, or unpinned meanwhile
    bpf_map_info info;
    if (map_info_by_fd(fd.get(), &info) < 0 || !is_map_fd(fd.get(), info)) continue;
    index[info.id].push_back("/sys/fs/bpf/" + p.lexically_relative(root).string());
  }
  for (auto &entry : index) std::sort(entry.second.begin(), entry.second.end()); // stable output
  return index;
}

} // namespace ubcli
