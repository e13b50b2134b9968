// The map-type registry: map_types.def lists every supported type once.
#include "maps/map.h"

namespace userbpf {

// Weak until every family has landed: a missing table reads as nullptr (EINVAL).
#define USERBPF_MAP_TYPE(type, ops) extern const MapOps ops __attribute__((weak));
#include "maps/map_types.def"
#undef USERBPF_MAP_TYPE

const MapOps *map_ops_for_type(uint32_t map_type) {
  switch (map_type) {
#define USERBPF_MAP_TYPE(type, ops) \
  case type:                        \
    return &ops ? &ops : nullptr;
#include "maps/map_types.def"
#undef USERBPF_MAP_TYPE
    default:
      return nullptr;
  }
}

} // namespace userbpf
