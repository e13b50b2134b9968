// Tail calls: everything bpf_tail_call means beyond "jump into that code",
// in one place (the VM's side is vm/interpreter.h, TailCallResolver).
//
//   - the target is the program in slot r3 (a u32) of the program array r2;
//     an index past the end or an empty slot falls through to the caller's
//     next instruction;
//   - at most MAX_TAIL_CALL_CNT (33) tail calls per run, counted along the
//     whole chain; the 34th falls through. As in the kernel, a call with an
//     index in range counts even when its slot turns out to be empty;
//   - the target stays alive until the run ends: the first tail call into a
//     program in a run takes a view of it (object_view_by_id), and the test
//     run drops them all when it finishes (tail_call_targets_release).
//
// Also here: the references a program array's slots hold on their programs
// (map.h's prog_ref_get / prog_ref_put services).
#include "prog/tail_call.h"

#include <cerrno>
#include <vector>

#include "alloc/rcu.h"
#include "maps/prog_array.h"
#include "object/store.h"
#include "prog/program.h"

namespace userbpf {
namespace {

constexpr uint32_t kMaxTailCallCount = 33; // MAX_TAIL_CALL_CNT (Linux 5.17+)

struct Target {
  uint32_t id;
  Object *view;
  const vm::Program *program;
};
// The programs this thread's current run has tail-called into.
thread_local std::vector<Target> t_targets;

const vm::Program *resolve_tail_call(uint64_t map_arg, uint64_t index_arg, uint32_t *count) {
  const Map &map = *reinterpret_cast<const Map *>(static_cast<uintptr_t>(map_arg));
  const uint32_t index = static_cast<uint32_t>(index_arg);
  if (index >= map.max_entries) return nullptr;
  if (*count >= kMaxTailCallCount) return nullptr;
  ++*count;
  const uint32_t id = prog_array_entry(map, index);
  if (!id) return nullptr;
  for (const Target &t : t_targets)
    if (t.id == id) return t.program;
  Object *view = object_view_by_id(ObjectKind::kProg, id);
  if (!view) return nullptr; // released since the slot was read: an empty slot
  int err = 0;
  const vm::Program *program = prog_runtime(*view, &err);
  if (!program) {
    object_view_put(view);
    return nullptr;
  }
  t_targets.push_back({id, view, program});
  return program;
}

// Installed when the library is loaded.
[[maybe_unused]] const bool g_resolver_installed = [] {
  vm::set_tail_call_resolver(resolve_tail_call);
  return true;
}();

} // namespace

void tail_call_targets_release() {
  for (const Target &t : t_targets) object_view_put(t.view);
  t_targets.clear();
}

int prog_ref_get(int fd, ProgRef *out) {
  RcuReadGuard guard;
  int err = 0;
  const Handle *h = handle_get(fd, &err);
  if (!h) return err;
  if (h->obj->kind != ObjectKind::kProg) return -EINVAL;
  if (int err = object_ref_get(*h->obj)) return err;
  const ObjectHeader &hdr = *h->obj->hdr;
  out->id = h->obj->id;
  out->prog_type = hdr.prog.prog_type;
  out->prog_flags = hdr.prog.prog_flags;
  return 0;
}

void prog_ref_put(uint32_t id) { object_ref_put(ObjectKind::kProg, id); }

} // namespace userbpf
