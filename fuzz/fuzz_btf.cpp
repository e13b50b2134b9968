// libFuzzer target over the BTF validator (src/btf), which parses untrusted
// blobs from BPF_BTF_LOAD. Whatever the bytes: no crash, no read outside the
// blob, no leak; the verdict must not depend on whether a log is asked for;
// an accepted blob must be accepted again from its stored copy (as BTF
// objects are re-parsed from the store), and every query map creation and
// program loading make on it must stay inside it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include <linux/bpf.h>

#include "btf/btf.h"
#include "btf/btf_object.h"

using userbpf::btf::Btf;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > userbpf::btf::kMaxSize) return 0;
  std::string log;
  std::unique_ptr<Btf> with_log, without_log;
  int err = Btf::parse(data, static_cast<uint32_t>(size), &log, &with_log);
  int err2 = Btf::parse(data, static_cast<uint32_t>(size), nullptr, &without_log);
  if (err != err2) abort();
  if (err) {
    if (err > 0 || log.empty()) abort(); // -errno, and a log saying why
    return 0;
  }
  std::unique_ptr<Btf> again;
  if (Btf::parse(with_log->data(), with_log->size(), nullptr, &again)) abort();
  if (again->nr_types() != with_log->nr_types()) abort();
  for (uint32_t id = 0; id < with_log->nr_types(); id++) {
    const struct btf_type *t = with_log->type_by_id(id);
    if (!t) abort();
    uint32_t rid = id, rsize = 0;
    if (const struct btf_type *r = with_log->type_id_size(&rid, &rsize)) {
      if (rid >= with_log->nr_types() || with_log->type_by_id(rid) != r) abort();
    }
    if (t->name_off && !with_log->name_by_offset(t->name_off)) abort();
    // The map checks with this type as key and value, as BPF_MAP_CREATE would.
    userbpf::btf_check_map_types(*with_log, BPF_MAP_TYPE_ARRAY, 4, rsize, 1, 0, id);
    userbpf::btf_check_map_types(*with_log, BPF_MAP_TYPE_HASH, rsize, rsize, 1, id, id);
  }
  if (with_log->type_by_id(with_log->nr_types())) abort();
  return 0;
}
