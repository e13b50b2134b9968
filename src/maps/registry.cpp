// The map-type registry: map_types.def lists every supported type once.
#include "maps/map.h"

namespace userbpf {

#define USERBPF_MAP_TYPE(type, ops) extern const MapOps ops;
#include "maps/map_types.def"
#undef USERBPF_MAP_TYPE

const MapOps *map_ops_for_type(uint32_t map_type) {
  switch (map_type) {
#define USERBPF_MAP_TYPE(type, ops) \
  case type:                        \
    return &ops;
#include "maps/map_types.def"
#undef USERBPF_MAP_TYPE
    default:
      return nullptr;
  }
}

} // namespace userbpf
