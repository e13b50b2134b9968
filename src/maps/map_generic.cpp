// Map services shared by families: the generic batch commands (the kernel's
// generic_map_{lookup,update,delete}_batch in kernel/bpf/syscall.c, built on
// each family's single-element ops) and per-CPU type classification.
//
// The batch arguments point at the caller's buffers. The kernel reads and
// writes them with copy_{from,to}_user, which fail with EFAULT on a bad
// address; here the bad addresses we can detect are NULL, the first page and
// non-canonical ones (the syscall layer's rule for single-element commands). Elements are staged
// through private buffers, as the kernel does, so ops never see the caller's
// memory. The errno, the element at which a batch stops and the write-back of
// attr->batch.count follow the kernel step by step: callers resume a walk from
// the count and out_batch they get back.
#include <cerrno>
#include <cstring>
#include <memory>
#include <new>
#include <utility>

#include "alloc/rcu.h"
#include "maps/map.h"
#include "object/object.h"

namespace userbpf {
namespace {

// A lookup that finds the key gone after get_next_key returned it (a
// concurrent delete) is retried this many times before EINTR, as in the kernel.
constexpr int kLookupRetries = 3;

bool has_spin_lock(const Map &map) { return map.hdr != nullptr && map.hdr->map.has_spin_lock != 0; }

// Bytes of one value in user buffers: every possible CPU's rounded slot for
// per-CPU maps (the kernel's bpf_map_value_size).
uint64_t user_value_size(const Map &map) {
  if (map_type_is_percpu(map.type)) return round_up(map.value_size, 8) * map.ncpus;
  return map.value_size;
}

// The elem_flags check every generic batch command starts with.
int check_elem_flags(const Map &map, uint64_t elem_flags) {
  if (elem_flags & ~uint64_t{BPF_F_LOCK}) return -EINVAL;
  if ((elem_flags & BPF_F_LOCK) && !has_spin_lock(map)) return -EINVAL;
  return 0;
}

std::unique_ptr<uint8_t[]> alloc_buffer(uint64_t size) {
  return std::unique_ptr<uint8_t[]>(new (std::nothrow) uint8_t[size ? size : 1]);
}

bool bad_user_ptr(const void *p) {
  const auto addr = reinterpret_cast<uintptr_t>(p);
  return addr < 4096 || addr >= 0x0000800000000000ull;
}

void write_count(BatchArgs &args, uint32_t count) {
  if (args.count_out) *args.count_out = count;
}

} // namespace

bool map_type_is_percpu(uint32_t map_type) {
  switch (map_type) {
  case BPF_MAP_TYPE_PERCPU_ARRAY:
  case BPF_MAP_TYPE_PERCPU_HASH:
  case BPF_MAP_TYPE_LRU_PERCPU_HASH:
  case BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE:
    return true;
  default:
    return false;
  }
}

int generic_lookup_batch(Map &map, BatchArgs &args) {
  if (int err = check_elem_flags(map, args.elem_flags)) return err;
  // Note: the kernel's generic version does not look at args.flags.
  const uint64_t value_size = user_value_size(map);
  const uint32_t max_count = args.count;
  if (max_count == 0) return 0;
  write_count(args, 0);

  auto prev_key_buf = alloc_buffer(map.key_size);
  auto key_buf = alloc_buffer(map.key_size);
  auto value_buf = alloc_buffer(value_size);
  if (!prev_key_buf || !key_buf || !value_buf) return -ENOMEM;

  // prev_key == nullptr: start from the first key. in_batch is where the
  // previous call stopped (its out_batch).
  uint8_t *prev_key = nullptr;
  uint8_t *key = key_buf.get();
  if (args.in_batch) {
    if (bad_user_ptr(args.in_batch)) return -EFAULT;
    memcpy(prev_key_buf.get(), args.in_batch, map.key_size);
    prev_key = prev_key_buf.get();
  }
  auto *user_keys = static_cast<uint8_t *>(args.keys);
  auto *user_values = static_cast<uint8_t *>(args.values);

  int err = 0;
  int retries = kLookupRetries;
  uint32_t copied = 0;
  while (copied < max_count) {
    {
      RcuReadGuard guard;
      err = map.ops->get_next_key(map, prev_key, key);
      if (err) break; // ENOENT: the walk is over
      err = map.ops->sys_lookup(map, key, value_buf.get(), args.elem_flags);
    }
    if (err == -ENOENT) { // deleted in between: try the next key again
      if (retries-- > 0) continue;
      err = -EINTR;
      break;
    }
    if (err) return err;
    // The key goes out before the value, so a bad values buffer leaves the key written.
    if (bad_user_ptr(user_keys)) return -EFAULT;
    memcpy(user_keys + uint64_t{copied} * map.key_size, key, map.key_size);
    if (bad_user_ptr(user_values)) return -EFAULT;
    memcpy(user_values + uint64_t{copied} * value_size, value_buf.get(), value_size);

    // The key just copied is where the next step starts.
    if (!prev_key) prev_key = prev_key_buf.get();
    std::swap(prev_key, key);
    retries = kLookupRetries;
    ++copied;
  }

  write_count(args, copied);
  if (copied > 0) {
    if (bad_user_ptr(args.out_batch)) return -EFAULT;
    memcpy(args.out_batch, prev_key, map.key_size);
  }
  return err;
}

int generic_update_batch(Map &map, BatchArgs &args) {
  // Only BPF_F_LOCK: BPF_NOEXIST / BPF_EXIST are refused here, as in the kernel.
  if (int err = check_elem_flags(map, args.elem_flags)) return err;
  const uint64_t value_size = user_value_size(map);
  const uint32_t max_count = args.count;
  if (max_count == 0) return 0;
  write_count(args, 0);

  auto key = alloc_buffer(map.key_size);
  auto value = alloc_buffer(value_size);
  if (!key || !value) return -ENOMEM;
  const auto *user_keys = static_cast<const uint8_t *>(args.keys);
  const auto *user_values = static_cast<const uint8_t *>(args.values);

  int err = 0;
  uint32_t done = 0;
  for (; done < max_count; ++done) {
    if (bad_user_ptr(user_keys) || bad_user_ptr(user_values)) {
      err = -EFAULT;
      break;
    }
    memcpy(key.get(), user_keys + uint64_t{done} * map.key_size, map.key_size);
    memcpy(value.get(), user_values + uint64_t{done} * value_size, value_size);
    {
      RcuReadGuard guard;
      err = map.ops->sys_update(map, key.get(), value.get(), args.elem_flags);
    }
    if (err) break;
  }
  write_count(args, done);
  return err;
}

int generic_delete_batch(Map &map, BatchArgs &args) {
  if (int err = check_elem_flags(map, args.elem_flags)) return err;
  const uint32_t max_count = args.count;
  if (max_count == 0) return 0;
  write_count(args, 0);

  auto key = alloc_buffer(map.key_size);
  if (!key) return -ENOMEM;
  const auto *user_keys = static_cast<const uint8_t *>(args.keys);

  int err = 0;
  uint32_t done = 0;
  for (; done < max_count; ++done) {
    if (bad_user_ptr(user_keys)) {
      err = -EFAULT;
      break;
    }
    memcpy(key.get(), user_keys + uint64_t{done} * map.key_size, map.key_size);
    {
      RcuReadGuard guard;
      err = map.ops->delete_elem(map, key.get());
    }
    if (err) break;
  }
  write_count(args, done);
  return err;
}

} // namespace userbpf
