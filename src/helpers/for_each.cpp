// bpf_for_each_map_elem's walk (helper 164), driven by the VM: the map
// family's for_each_next steps through the elements (src/maps), the VM runs
// the program's callback in between (src/vm: the interpreter's frames, the
// JIT's inline loop). The program run holds the RCU read side throughout,
// so the key and value handed to the callback stay valid while it runs,
// even if it deletes their element.
#include <cerrno>

#include "helpers/helpers.h"

namespace userbpf::helpers {

int64_t for_each_map_start(ForEachWalk *walk, uint64_t map) {
  *walk = ForEachWalk{};
  walk->map = reinterpret_cast<Map *>(static_cast<uintptr_t>(map));
  if (!walk->map || !walk->map->ops->for_each_next) return -EINVAL;
  return 0;
}

uint64_t for_each_map_step(ForEachWalk *walk) {
  return walk->map->ops->for_each_next(*walk->map, walk->cursor, &walk->key, &walk->value) ? 1 : 0;
}

} // namespace userbpf::helpers
