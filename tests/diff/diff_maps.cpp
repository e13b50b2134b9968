// Differential test of the map commands: the kernel's bpf() is the oracle.
//
// Every case is a script of map commands (a table of steps). The runner plays
// the script in lockstep on two sides, the kernel (syscall(__NR_bpf)) and
// userbpf (userbpf_bpf()), and after every step compares what both returned:
// the result or -errno, scalars written back (batch counts, info_len, ...) and
// the bytes read back (values, keys, infos, including canary bytes after each
// buffer, so a write past the end shows). The first mismatch of a case is
// reported with the step and both outcomes; later steps would only echo it.
//
// Most steps also carry the kernel's result as observed on Linux 6.18 (.is()).
// That checks that the script really exercises what it claims (a create that
// should succeed did, so the later steps are not a string of EBADFs).
//
// Differences userbpf makes on purpose are listed in known-differences.md and
// in kKnownDifferences below; nothing else is tolerated.
//
// Set UBT_DIFF_TRACE=1 to print every step of every case with both outcomes,
// UBT_DIFF_KEEP_GOING=1 to report every differing step rather than the first.
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "bpf_test_util.h"

namespace {

using Bytes = std::vector<uint8_t>;

// ---------------------------------------------------------------- utilities

std::string fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
std::string fmt(const char *f, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, f);
  vsnprintf(buf, sizeof(buf), f, ap);
  va_end(ap);
  return buf;
}

std::string errno_name(long e) {
  if (e == 524) return "ENOTSUPP"; // kernel-internal errno that leaks to user space
  const char *n = strerrorname_np(static_cast<int>(e));
  return n ? n : fmt("errno %ld", e);
}

std::string result_text(long r) { return r >= 0 ? fmt("%ld", r) : fmt("-%s", errno_name(-r).c_str()); }

std::string hex(const Bytes &b, size_t max = 96) {
  std::string s;
  for (size_t i = 0; i < b.size() && i < max; ++i) s += fmt("%02x", b[i]);
  if (b.size() > max) s += fmt("... (%zu bytes)", b.size());
  return s;
}

// Possible CPUs, parsed here rather than asked of userbpf, so that a wrong
// count in userbpf cannot size both sides' buffers wrongly.
uint32_t possible_cpus() {
  static const uint32_t n = [] {
    uint32_t highest = 0;
    if (FILE *f = fopen("/sys/devices/system/cpu/possible", "re")) {
      char line[256] = {};
      if (fgets(line, sizeof(line), f)) {
        for (const char *p = line; *p;) {
          unsigned a = 0, b = 0;
          int used = 0;
          if (sscanf(p, "%u-%u%n", &a, &b, &used) == 2) {
          } else if (sscanf(p, "%u%n", &a, &used) == 1) {
            b = a;
          } else {
            break;
          }
          highest = std::max(highest, b + 1);
          p += used;
          if (*p != ',') break;
          ++p;
        }
      }
      fclose(f);
    }
    return highest ? highest : 1u;
  }();
  return n;
}

constexpr uint64_t round8(uint64_t x) { return (x + 7) / 8 * 8; }

// Canary bytes after every output buffer: a write past the end shows as a
// difference in them (the kernel writes exactly the documented size).
constexpr size_t kCanaryLen = 16;
constexpr uint8_t kCanaryByte = 0xa5;

uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Key k as key_size bytes: little-endian k, then bytes derived from k, so
// distinct k give distinct keys of any size and array indexes read naturally.
Bytes key_bytes(uint64_t k, uint32_t key_size) {
  Bytes b(key_size);
  for (uint32_t i = 0; i < key_size; ++i)
    b[i] = i < 8 ? static_cast<uint8_t>(k >> (8 * i)) : static_cast<uint8_t>(mix64(k * 131 + i));
  return b;
}

// Value v as size bytes (size is the user buffer: every CPU slot and its
// padding for per-CPU maps, so padding bytes round-trip too). v == 0 is zeros.
Bytes value_bytes(uint64_t v, size_t size) {
  Bytes b(size);
  if (v == 0) return b;
  for (size_t i = 0; i < size; ++i) b[i] = static_cast<uint8_t>(mix64(v * 1000003 + i) | 1);
  return b;
}

void append(Bytes &to, const Bytes &from) { to.insert(to.end(), from.begin(), from.end()); }
void append(Bytes &to, const void *p, size_t n) {
  auto *c = static_cast<const uint8_t *>(p);
  to.insert(to.end(), c, c + n);
}

// ---------------------------------------------------------------- the two sides

// "Pass a NULL pointer here" in place of a key or value number.
constexpr uint64_t kNull = ~0ull;

// Slots name the fds a script works on: 0..kNumSlots-1 hold maps the script
// created or opened; the others are fds that are not (usable maps.
constexpr int kNumSlots = 4;
enum SpecialFd : int {
  kFdMinusOne = 100, // fd -1
  kFdPipe,           // a pipe: a valid fd that is not a BPF object
  kFdMemfd,          // a memfd: what userbpf's own fds are made of, but not a map
  kFdNeverOpened,    // a large fd number that is not open
};

std::string slot_name(int slot) {
  switch (slot) {
  case kFdMinusOne: return "fd -1";
  case kFdPipe: return "pipe fd";
  case kFdMemfd: return "memfd";
  case kFdNeverOpened: return "unopened fd";
  default: return fmt("slot %d", slot);
  }
}

// What a script created: the runner needs it to size buffers.
struct Shape {
  uint32_t type = BPF_MAP_TYPE_HASH;
  uint32_t key_size = 4;
  uint32_t value_size = 8;
  uint32_t max_entries = 16;
  uint32_t flags = 0;

  bool is_array() const { return type == BPF_MAP_TYPE_ARRAY || type == BPF_MAP_TYPE_PERCPU_ARRAY; }
  bool percpu() const {
    return type == BPF_MAP_TYPE_PERCPU_ARRAY || type == BPF_MAP_TYPE_PERCPU_HASH ||
           type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
  }
  // Bytes of one value in a user buffer: per-CPU maps carry every possible CPU,
  // each slot rounded up to 8 bytes.
  size_t user_value_size() const { return percpu() ? round8(value_size) * possible_cpus() : value_size; }
  // Is the iteration order deterministic, so both sides must agree on it?
  // Arrays: index order. BPF_F_ZERO_SEED hashes: userbpf uses the kernel's
  // jhash and bucket layout. Hashes with a random seed: only the set of keys.
  bool ordered() const { return is_array() || (flags & BPF_F_ZERO_SEED); }
};

struct SharedFds {
  int pipe_r = -1, pipe_w = -1, memfd = -1;
};
SharedFds &shared_fds() {
  static SharedFds s = [] {
    SharedFds f;
    int p[2];
    if (pipe2(p, O_CLOEXEC) == 0) f.pipe_r = p[0], f.pipe_w = p[1];
    f.memfd = memfd_create("not-a-map", MFD_CLOEXEC);
    return f;
  }();
  return s;
}

struct Side {
  const char *name;
  ubt::BpfFn fn;
  int fd[kNumSlots];
  Shape shape[kNumSlots];
  Bytes cursor;              // out_batch of the last batch call (the next in_batch)
  void *mapping = MAP_FAILED;
  size_t mapping_len = 0;

  Side(const char *n, ubt::BpfFn f) : name(n), fn(f) { std::fill(fd, fd + kNumSlots, -1); }
  ~Side() {
    unmap();
    for (int f : fd)
      if (f >= 0) close(f);
  }
  Side(const Side &) = delete;
  Side &operator=(const Side &) = delete;

  void unmap() {
    if (mapping != MAP_FAILED) munmap(mapping, mapping_len);
    mapping = MAP_FAILED;
    mapping_len = 0;
  }
  int fd_of(int slot) const {
    switch (slot) {
    case kFdMinusOne: return -1;
    case kFdPipe: return shared_fds().pipe_r;
    case kFdMemfd: return shared_fds().memfd;
    case kFdNeverOpened: return 999999;
    default: return fd[slot];
    }
  }
  const Shape &shape_of(int slot) const { return slot < kNumSlots ? shape[slot] : shape[0]; }
  void set_slot(int slot, int new_fd, const Shape &s) {
    if (fd[slot] >= 0) close(fd[slot]);
    fd[slot] = new_fd;
    shape[slot] = s;
  }
};

// ---------------------------------------------------------------- steps

enum class Cmp {
  kExact,     // result, scalars and bytes identical
  kAsSet,     // result and scalars identical; data compared as a set of records
  kCountOnly, // result and scalars identical; same number of records
  kResultOnly // result only
};

struct Outcome {
  long ret = 0;                  // >= 0, or -errno; a new fd is reported as 0
  bool made_fd = false;
  uint64_t create_estimate = 0;  // creates: estimated_map_bytes() of the attr
  std::vector<uint64_t> scalars; // written-back numbers: batch count, info_len, ...
  Bytes data;                    // bytes read back
  size_t record_size = 0;        // for kAsSet / kCountOnly
  Cmp cmp = Cmp::kExact;
};

struct Step;
using StepFn = std::function<Outcome(Side &, const Step &)>;

struct Step {
  std::string what;
  StepFn run;
  int slot = 0;
  std::optional<long> expect;   // the kernel's result as observed (6.18)
  std::optional<Cmp> cmp;       // overrides the step's own comparison

  Step(std::string w, StepFn f) : what(std::move(w)), run(std::move(f)) {}
  Step &on(int s) {
    slot = s;
    return *this;
  }
  Step &is(long r) {
    expect = r;
    return *this;
  }
  Step &ok() { return is(0); }
  Step &count_only() {
    cmp = Cmp::kCountOnly;
    return *this;
  }
  Step &result_only() {
    cmp = Cmp::kResultOnly;
    return *this;
  }
  std::string title() const { return (slot == 0 ? "" : "[" + slot_name(slot) + "] ") + what; }
};

struct Case {
  std::string name;
  std::vector<Step> steps;
};

// Aligned zeroed attr buffer large enough for size > sizeof(union bpf_attr).
struct AttrBuf {
  alignas(8) uint8_t raw[8192] = {};
  union bpf_attr &attr() { return *reinterpret_cast<union bpf_attr *>(raw); }
};

Shape shape_from(const union bpf_attr &a) {
  Shape s;
  s.type = a.map_type;
  s.key_size = a.key_size;
  s.value_size = a.value_size;
  s.max_entries = a.max_entries;
  s.flags = a.map_flags;
  return s;
}

// RLIMIT_MEMLOCK as set up for the run: where it cannot be raised to
// infinity (no CAP_SYS_RESOURCE), userbpf, which charges it like pre-5.11
// kernels, refuses big maps with EPERM that the kernel (memory cgroup
// accounting) accepts. See known-differences.md.
uint64_t g_memlock_limit = RLIM_INFINITY;

// A rough size of what a create asks for: elements (plus the spare per-CPU
// elements of preallocated hashes), each CPU's copy for per-CPU maps.
uint64_t estimated_map_bytes(const union bpf_attr &a) {
  Shape sh = shape_from(a);
  uint64_t per_value = round8(a.value_size) * (sh.percpu() ? possible_cpus() : 1);
  return (uint64_t(a.max_entries) + possible_cpus()) * (round8(a.key_size) + per_value);
}

long call_raw(Side &s, int cmd, void *attr, unsigned size) {
  long r = s.fn(cmd, static_cast<union bpf_attr *>(attr), size);
  return r < 0 ? -errno : r;
}

// BPF_MAP_CREATE with an attr built by fill (which may write past
// sizeof(union bpf_attr) when size asks for it). The fd goes to the step's slot.
Step create_with(std::string what, std::function<void(AttrBuf &)> fill, unsigned size = sizeof(union bpf_attr),
                 bool null_attr = false) {
  return Step(std::move(what), [fill, size, null_attr](Side &s, const Step &st) {
    AttrBuf b;
    fill(b);
    // Release the slot's previous map first: userbpf charges live maps to
    // RLIMIT_MEMLOCK, and a big map still open would count against the new one.
    if (st.slot < kNumSlots && s.fd[st.slot] >= 0) {
      close(s.fd[st.slot]);
      s.fd[st.slot] = -1;
    }
    Outcome o;
    o.ret = call_raw(s, BPF_MAP_CREATE, null_attr ? nullptr : b.raw, size);
    o.create_estimate = estimated_map_bytes(b.attr());
    if (o.ret >= 0) {
      s.set_slot(st.slot, static_cast<int>(o.ret), shape_from(b.attr()));
      o.ret = 0;
      o.made_fd = true;
    }
    return o;
  });
}

const char *type_name(uint32_t t) {
  switch (t) {
  case BPF_MAP_TYPE_ARRAY: return "array";
  case BPF_MAP_TYPE_PERCPU_ARRAY: return "percpu_array";
  case BPF_MAP_TYPE_HASH: return "hash";
  case BPF_MAP_TYPE_PERCPU_HASH: return "percpu_hash";
  case BPF_MAP_TYPE_LRU_HASH: return "lru_hash";
  case BPF_MAP_TYPE_LRU_PERCPU_HASH: return "lru_percpu_hash";
  default: return "type?";
  }
}

Step create(uint32_t type, uint32_t ks, uint32_t vs, uint32_t max, uint32_t flags = 0, const char *name = nullptr) {
  std::string what = fmt("create %s key=%u value=%u max=%u flags=%#x", type_name(type), ks, vs, max, flags);
  if (name) what += fmt(" name=\"%s\"", name);
  return create_with(what, [=](AttrBuf &b) {
    union bpf_attr &a = b.attr();
    a.map_type = type;
    a.key_size = ks;
    a.value_size = vs;
    a.max_entries = max;
    a.map_flags = flags;
    if (name) memcpy(a.map_name, name, std::min(strlen(name), sizeof(a.map_name)));
  });
}

Step close_slot() {
  return Step("close", [](Side &s, const Step &st) {
    Outcome o;
    if (st.slot < kNumSlots && s.fd[st.slot] >= 0) {
      o.ret = close(s.fd[st.slot]) == 0 ? 0 : -errno;
      s.fd[st.slot] = -1;
    }
    return o;
  });
}

// Close the slot's fd, then look up through the same number at once
// (nothing has been opened in between, so it is not a reused number).
Step close_and_lookup() {
  return Step("close, then lookup on the closed fd number", [](Side &s, const Step &st) {
    int fd = s.fd_of(st.slot);
    close(fd);
    s.fd[st.slot] = -1;
    uint32_t key = 0;
    uint64_t value[8];
    Outcome o;
    o.ret = ubt::map_lookup(s.fn, fd, &key, value);
    return o;
  });
}

// A key buffer for key number k, or nullptr for kNull.
struct KeyArg {
  Bytes bytes;
  bool null;
  KeyArg(uint64_t k, uint32_t size) : bytes(key_bytes(k, size)), null(k == kNull) {}
  void *ptr() { return null ? nullptr : bytes.data(); }
};

Step lookup(uint64_t k, uint64_t flags = 0, bool null_value = false) {
  return Step(fmt("lookup key=%lld flags=%#llx%s", (long long)k, (unsigned long long)flags,
                  null_value ? " value=NULL" : ""),
              [=](Side &s, const Step &st) {
                const Shape &sh = s.shape_of(st.slot);
                KeyArg key(k, sh.key_size);
                Bytes out(sh.user_value_size() + kCanaryLen, kCanaryByte);
                Outcome o;
                o.ret = ubt::map_lookup(s.fn, s.fd_of(st.slot), key.ptr(), null_value ? nullptr : out.data(), flags);
                o.data = out;
                return o;
              });
}

Step update(uint64_t k, uint64_t v, uint64_t flags = BPF_ANY) {
  return Step(fmt("update key=%lld value=#%lld flags=%#llx", (long long)k, (long long)v, (unsigned long long)flags),
              [=](Side &s, const Step &st) {
                const Shape &sh = s.shape_of(st.slot);
                KeyArg key(k, sh.key_size);
                Bytes val = value_bytes(v == kNull ? 0 : v, sh.user_value_size());
                Outcome o;
                o.ret = ubt::map_update(s.fn, s.fd_of(st.slot), key.ptr(), v == kNull ? nullptr : val.data(), flags);
                return o;
              });
}

// update of keys first..first+n-1 with values vbase+key; the result is the
// first failure (or 0) and the number of updates that succeeded.
Step fill(uint64_t first, uint64_t n, uint64_t vbase = 1000, uint64_t flags = BPF_ANY) {
  return Step(fmt("fill keys %llu..%llu flags=%#llx", (unsigned long long)first, (unsigned long long)(first + n - 1),
                  (unsigned long long)flags),
              [=](Side &s, const Step &st) {
                const Shape &sh = s.shape_of(st.slot);
                Outcome o;
                uint64_t done = 0;
                for (uint64_t k = first; k < first + n; ++k) {
                  Bytes key = key_bytes(k, sh.key_size), val = value_bytes(vbase + k, sh.user_value_size());
                  long r = ubt::map_update(s.fn, s.fd_of(st.slot), key.data(), val.data(), flags);
                  if (r < 0 && o.ret == 0) o.ret = r;
                  if (r == 0) ++done;
                }
                o.scalars = {done};
                return o;
              });
}

Step del(uint64_t k) {
  return Step(fmt("delete key=%lld", (long long)k), [=](Side &s, const Step &st) {
    KeyArg key(k, s.shape_of(st.slot).key_size);
    Outcome o;
    o.ret = ubt::map_delete(s.fn, s.fd_of(st.slot), key.ptr());
    return o;
  });
}

Step lookup_and_delete(uint64_t k, uint64_t flags = 0) {
  return Step(fmt("lookup_and_delete key=%lld flags=%#llx", (long long)k, (unsigned long long)flags),
              [=](Side &s, const Step &st) {
                const Shape &sh = s.shape_of(st.slot);
                KeyArg key(k, sh.key_size);
                Bytes out(sh.user_value_size() + kCanaryLen, kCanaryByte);
                Outcome o;
                o.ret = ubt::map_lookup_and_delete(s.fn, s.fd_of(st.slot), key.ptr(), out.data(), flags);
                o.data = out;
                return o;
              });
}

// GET_NEXT_KEY from key k (kNull: from the start). Exact for ordered maps;
// for random-seed hashes only the result is comparable.
Step next_key(uint64_t k, bool null_next = false) {
  return Step(fmt("get_next_key key=%lld%s", (long long)k, null_next ? " next=NULL" : ""),
              [=](Side &s, const Step &st) {
                const Shape &sh = s.shape_of(st.slot);
                KeyArg key(k, sh.key_size);
                Bytes out(sh.key_size + kCanaryLen, kCanaryByte);
                Outcome o;
                o.ret = ubt::map_get_next_key(s.fn, s.fd_of(st.slot), key.ptr(), null_next ? nullptr : out.data());
                o.data = out;
                o.cmp = sh.ordered() ? Cmp::kExact : Cmp::kResultOnly;
                return o;
              });
}

// A full GET_NEXT_KEY walk from NULL, looking each key up: records of
// key || value || lookup result. The result is how the walk ended (-ENOENT).
// Exact order for ordered maps, a set otherwise.
Step dump() {
  return Step("dump (get_next_key walk + lookup)", [](Side &s, const Step &st) {
    const Shape &sh = s.shape_of(st.slot);
    int fd = s.fd_of(st.slot);
    Outcome o;
    o.record_size = sh.key_size + sh.user_value_size() + sizeof(int32_t);
    o.cmp = sh.ordered() ? Cmp::kExact : Cmp::kAsSet;
    Bytes key(sh.key_size), next(sh.key_size);
    bool first = true;
    uint64_t limit = 2ull * sh.max_entries + 64;
    for (uint64_t i = 0;; ++i) {
      if (i > limit) {
        o.ret = -ELOOP; // the walk did not end
        break;
      }
      long r = ubt::map_get_next_key(s.fn, fd, first ? nullptr : key.data(), next.data());
      if (r < 0) {
        o.ret = r;
        break;
      }
      first = false;
      key = next;
      Bytes val(sh.user_value_size());
      int32_t lr = static_cast<int32_t>(ubt::map_lookup(s.fn, fd, key.data(), val.data()));
      append(o.data, key);
      append(o.data, val);
      append(o.data, &lr, sizeof(lr));
    }
    return o;
  });
}

Step freeze() {
  return Step("freeze", [](Side &s, const Step &st) {
    Outcome o;
    o.ret = ubt::map_freeze(s.fn, s.fd_of(st.slot));
    return o;
  });
}

// BPF_OBJ_GET_INFO_BY_FD: compares every field of struct bpf_map_info but id
// (ids are each side's own), and the info_len written back.
Step info(uint32_t info_len = sizeof(struct bpf_map_info), bool null_info = false) {
  return Step(fmt("get_info_by_fd info_len=%u%s", info_len, null_info ? " info=NULL" : ""),
              [=](Side &s, const Step &st) {
                Bytes buf(std::max<size_t>(info_len, sizeof(struct bpf_map_info)) + kCanaryLen, 0);
                std::fill(buf.begin() + info_len, buf.end(), kCanaryByte);
                union bpf_attr a;
                memset(&a, 0, sizeof(a));
                a.info.bpf_fd = static_cast<uint32_t>(s.fd_of(st.slot));
                a.info.info_len = info_len;
                a.info.info = null_info ? 0 : reinterpret_cast<uintptr_t>(buf.data());
                Outcome o;
                o.ret = ubt::call(s.fn, BPF_OBJ_GET_INFO_BY_FD, a);
                // Ids are each side's own: blank the bytes of id that were written.
                for (size_t i = offsetof(struct bpf_map_info, id); o.ret == 0 && i < offsetof(struct bpf_map_info, id) + 4 &&
                                                                   i < a.info.info_len;
                     ++i)
                  buf[i] = 0;
                o.scalars = {a.info.info_len};
                o.data = buf;
                return o;
              });
}

// This side's id of the map in the step's slot (0 if unknown).
uint32_t map_id_of(Side &s, int slot) {
  struct bpf_map_info mi;
  memset(&mi, 0, sizeof(mi));
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.info.bpf_fd = static_cast<uint32_t>(s.fd_of(slot));
  a.info.info_len = sizeof(mi);
  a.info.info = reinterpret_cast<uintptr_t>(&mi);
  return ubt::call(s.fn, BPF_OBJ_GET_INFO_BY_FD, a) == 0 ? mi.id : 0;
}

// BPF_MAP_GET_FD_BY_ID of the map in the step's slot, new fd into slot dst.
Step open_by_id(int dst, uint32_t open_flags = 0) {
  return Step(fmt("get_fd_by_id(own id) open_flags=%#x -> slot %d", open_flags, dst), [=](Side &s, const Step &st) {
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.map_id = map_id_of(s, st.slot);
    a.open_flags = open_flags;
    Outcome o;
    o.ret = ubt::call(s.fn, BPF_MAP_GET_FD_BY_ID, a);
    if (o.ret >= 0) {
      Shape sh = s.shape_of(st.slot);
      s.set_slot(dst, static_cast<int>(o.ret), sh);
      o.ret = 0;
      o.made_fd = true;
    }
    return o;
  });
}

// BPF_MAP_GET_FD_BY_ID of a literal id (ids that no map has).
Step open_id(uint32_t id, uint32_t open_flags = 0, uint32_t next_id_field = 0) {
  return Step(fmt("get_fd_by_id id=%u open_flags=%#x next_id=%u", id, open_flags, next_id_field),
              [=](Side &s, const Step &) {
                union bpf_attr a;
                memset(&a, 0, sizeof(a));
                a.map_id = id;
                a.next_id = next_id_field;
                a.open_flags = open_flags;
                Outcome o;
                o.ret = ubt::call(s.fn, BPF_MAP_GET_FD_BY_ID, a);
                if (o.ret >= 0) {
                  close(static_cast<int>(o.ret));
                  o.ret = 0;
                  o.made_fd = true;
                }
                return o;
              });
}

// BPF_MAP_GET_NEXT_ID from a literal start id. The next id itself is not
// compared (the kernel has other maps); only the result.
Step next_id(uint32_t start, uint32_t open_flags = 0) {
  return Step(fmt("map_get_next_id start=%u open_flags=%#x", start, open_flags), [=](Side &s, const Step &) {
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.start_id = start;
    a.open_flags = open_flags;
    Outcome o;
    o.ret = ubt::call(s.fn, BPF_MAP_GET_NEXT_ID, a);
    return o;
  });
}

// Does walking BPF_MAP_GET_NEXT_ID from 0 reach the map in the step's slot?
// 0 if it does, -ENOENT if the walk ends first; also checks ids increase.
Step find_own_id() {
  return Step("map_get_next_id walk finds own id", [](Side &s, const Step &st) {
    uint32_t own = map_id_of(s, st.slot);
    Outcome o;
    o.ret = -ENOENT;
    uint32_t id = 0;
    for (int i = 0; i < 1000000; ++i) {
      union bpf_attr a;
      memset(&a, 0, sizeof(a));
      a.start_id = id;
      long r = ubt::call(s.fn, BPF_MAP_GET_NEXT_ID, a);
      if (r < 0) break;
      if (a.next_id <= id) {
        o.ret = -EDOM; // ids must increase
        break;
      }
      id = a.next_id;
      if (own != 0 && id == own) {
        o.ret = 0;
        break;
      }
    }
    return o;
  });
}

// ---- batch commands

// in_batch: kInNull for NULL, kInCursor for the previous call's out_batch,
// otherwise this number as the cursor (u32 for hashes, a key for arrays).
constexpr uint64_t kInNull = ~0ull;
constexpr uint64_t kInCursor = ~1ull;

struct BatchOpt {
  uint32_t count = 0;
  uint64_t in = kInNull;
  uint64_t elem_flags = 0;
  uint64_t flags = 0;
  bool null_keys = false;
  bool null_values = false;
  bool null_out = false;
};

const char *batch_cmd_name(int cmd) {
  switch (cmd) {
  case BPF_MAP_LOOKUP_BATCH: return "lookup_batch";
  case BPF_MAP_LOOKUP_AND_DELETE_BATCH: return "lookup_and_delete_batch";
  case BPF_MAP_UPDATE_BATCH: return "update_batch";
  case BPF_MAP_DELETE_BATCH: return "delete_batch";
  default: return "batch?";
  }
}

std::string in_text(uint64_t in) {
  if (in == kInNull) return "NULL";
  if (in == kInCursor) return "cursor";
  return fmt("%llu", (unsigned long long)in);
}

// LOOKUP_BATCH or LOOKUP_AND_DELETE_BATCH. Ordered maps: exact (result,
// count, keys, values, out_batch). Random-seed hashes: the result, count and
// the set of (key, value) records; out_batch is a bucket index there.
Step batch_read(int cmd, BatchOpt opt) {
  return Step(fmt("%s count=%u in=%s elem_flags=%#llx flags=%#llx%s%s%s", batch_cmd_name(cmd), opt.count,
                  in_text(opt.in).c_str(), (unsigned long long)opt.elem_flags, (unsigned long long)opt.flags,
                  opt.null_keys ? " keys=NULL" : "", opt.null_values ? " values=NULL" : "",
                  opt.null_out ? " out_batch=NULL" : ""),
              [=](Side &s, const Step &st) {
                const Shape &sh = s.shape_of(st.slot);
                size_t vs = sh.user_value_size();
                Bytes keys(size_t(opt.count) * sh.key_size + kCanaryLen, kCanaryByte);
                Bytes vals(size_t(opt.count) * vs + kCanaryLen, kCanaryByte);
                Bytes in(std::max<size_t>(sh.key_size, 8), 0), out(std::max<size_t>(sh.key_size, 8) + kCanaryLen, kCanaryByte);
                if (opt.in == kInCursor) {
                  std::copy_n(s.cursor.begin(), std::min(s.cursor.size(), in.size()), in.begin());
                } else if (opt.in != kInNull) {
                  for (size_t i = 0; i < 8 && i < in.size(); ++i) in[i] = static_cast<uint8_t>(opt.in >> (8 * i));
                }
                uint32_t count = opt.count;
                Outcome o;
                o.ret = ubt::map_batch(s.fn, cmd, s.fd_of(st.slot), opt.in == kInNull ? nullptr : in.data(),
                                       opt.null_out ? nullptr : out.data(), opt.null_keys ? nullptr : keys.data(),
                                       opt.null_values ? nullptr : vals.data(), &count, opt.elem_flags, opt.flags);
                s.cursor.assign(out.begin(), out.end() - kCanaryLen);
                o.scalars = {count};
                if (sh.ordered()) {
                  append(o.data, keys);
                  append(o.data, vals);
                  append(o.data, out);
                } else {
                  o.cmp = Cmp::kAsSet;
                  o.record_size = sh.key_size + vs;
                  for (uint32_t i = 0; (o.ret == 0 || o.ret == -ENOENT) && i < count && i < opt.count; ++i) {
                    append(o.data, keys.data() + size_t(i) * sh.key_size, sh.key_size);
                    append(o.data, vals.data() + size_t(i) * vs, vs);
                  }
                }
                return o;
              });
}

Step batch_lookup(BatchOpt opt) { return batch_read(BPF_MAP_LOOKUP_BATCH, opt); }
Step batch_lookup_and_delete(BatchOpt opt) { return batch_read(BPF_MAP_LOOKUP_AND_DELETE_BATCH, opt); }

// Read the whole map with LOOKUP_BATCH (or LOOKUP_AND_DELETE_BATCH) calls of
// `chunk` elements, following the cursor until a call fails (-ENOENT at the
// end). Result: how the last call failed; records: every (key, value) read.
Step batch_drain(int cmd, uint32_t chunk) {
  return Step(fmt("%s drain chunk=%u", batch_cmd_name(cmd), chunk), [=](Side &s, const Step &st) {
    const Shape &sh = s.shape_of(st.slot);
    size_t vs = sh.user_value_size();
    Outcome o;
    o.record_size = sh.key_size + vs;
    o.cmp = sh.ordered() ? Cmp::kExact : Cmp::kAsSet;
    Bytes in(std::max<size_t>(sh.key_size, 8), 0), out(in.size(), 0);
    uint64_t calls = 0;
    for (bool first = true;; first = false) {
      Bytes keys(size_t(chunk) * sh.key_size), vals(size_t(chunk) * vs);
      uint32_t count = chunk;
      long r = ubt::map_batch(s.fn, cmd, s.fd_of(st.slot), first ? nullptr : in.data(), out.data(), keys.data(),
                              vals.data(), &count, 0, 0);
      ++calls;
      // Elements were copied out only on success or at the end (-ENOENT);
      // on other errors count may be the untouched input.
      for (uint32_t i = 0; (r == 0 || r == -ENOENT) && i < count && i < chunk; ++i) {
        append(o.data, keys.data() + size_t(i) * sh.key_size, sh.key_size);
        append(o.data, vals.data() + size_t(i) * vs, vs);
      }
      if (r < 0 || calls > 100000) {
        o.ret = r < 0 ? r : -ELOOP;
        break;
      }
      in = out;
    }
    if (sh.ordered()) o.scalars = {calls};
    return o;
  });
}

// UPDATE_BATCH of keys[i] = values[i]. count defaults to keys.size().
Step batch_update(std::vector<uint64_t> keys, std::vector<uint64_t> values, uint64_t elem_flags = 0,
                  uint64_t flags = 0, std::optional<uint32_t> count = std::nullopt) {
  std::string what = "update_batch keys={";
  for (size_t i = 0; i < keys.size(); ++i) what += fmt("%s%llu", i ? "," : "", (unsigned long long)keys[i]);
  what += fmt("} elem_flags=%#llx flags=%#llx", (unsigned long long)elem_flags, (unsigned long long)flags);
  if (count) what += fmt(" count=%u", *count);
  return Step(what, [=](Side &s, const Step &st) {
    const Shape &sh = s.shape_of(st.slot);
    Bytes kb, vb;
    for (uint64_t k : keys) append(kb, key_bytes(k, sh.key_size));
    for (uint64_t v : values) append(vb, value_bytes(v, sh.user_value_size()));
    kb.resize(kb.size() + kCanaryLen);
    vb.resize(vb.size() + kCanaryLen);
    uint32_t n = count.value_or(static_cast<uint32_t>(keys.size()));
    Outcome o;
    o.ret = ubt::map_batch(s.fn, BPF_MAP_UPDATE_BATCH, s.fd_of(st.slot), nullptr, nullptr, kb.data(), vb.data(), &n,
                           elem_flags, flags);
    o.scalars = {n};
    return o;
  });
}

Step batch_delete(std::vector<uint64_t> keys, uint64_t elem_flags = 0, uint64_t flags = 0,
                  std::optional<uint32_t> count = std::nullopt) {
  std::string what = "delete_batch keys={";
  for (size_t i = 0; i < keys.size(); ++i) what += fmt("%s%llu", i ? "," : "", (unsigned long long)keys[i]);
  what += fmt("} elem_flags=%#llx flags=%#llx", (unsigned long long)elem_flags, (unsigned long long)flags);
  if (count) what += fmt(" count=%u", *count);
  return Step(what, [=](Side &s, const Step &st) {
    const Shape &sh = s.shape_of(st.slot);
    Bytes kb;
    for (uint64_t k : keys) append(kb, key_bytes(k, sh.key_size));
    kb.resize(kb.size() + kCanaryLen);
    uint32_t n = count.value_or(static_cast<uint32_t>(keys.size()));
    Outcome o;
    o.ret = ubt::map_batch(s.fn, BPF_MAP_DELETE_BATCH, s.fd_of(st.slot), nullptr, nullptr, kb.data(), nullptr, &n,
                           elem_flags, flags);
    o.scalars = {n};
    return o;
  });
}

// ---- mmap of BPF_F_MMAPABLE arrays

size_t mmap_len(const Shape &sh) {
  size_t len = round8(sh.value_size) * sh.max_entries;
  return (len + 4095) / 4096 * 4096;
}

// mmap of the map fd. len 0: the map's values rounded up to a page.
Step mmap_map(int prot, int flags = MAP_SHARED, size_t len = 0, off_t offset = 0) {
  return Step(fmt("mmap prot=%s%s len=%zu offset=%lld", prot == PROT_READ ? "R" : prot == PROT_WRITE ? "W" : "RW",
                  flags == MAP_SHARED ? "" : " MAP_PRIVATE", len, (long long)offset),
              [=](Side &s, const Step &st) {
                s.unmap();
                size_t n = len ? len : mmap_len(s.shape_of(st.slot));
                void *p = mmap(nullptr, n, prot, flags, s.fd_of(st.slot), offset);
                Outcome o;
                if (p == MAP_FAILED) {
                  o.ret = -errno;
                } else {
                  s.mapping = p;
                  s.mapping_len = n;
                }
                return o;
              });
}

Step munmap_map() {
  return Step("munmap", [](Side &s, const Step &) {
    s.unmap();
    return Outcome{};
  });
}

// The values as seen through the mapping (element i at i * round_up(value_size, 8)).
Step mmap_read() {
  return Step("read through the mapping", [](Side &s, const Step &st) {
    Outcome o;
    if (s.mapping == MAP_FAILED) {
      o.ret = -EBADF;
      return o;
    }
    const Shape &sh = s.shape_of(st.slot);
    append(o.data, s.mapping, round8(sh.value_size) * sh.max_entries);
    return o;
  });
}

Step mmap_write(uint32_t index, uint64_t v) {
  return Step(fmt("write element %u = #%llu through the mapping", index, (unsigned long long)v),
              [=](Side &s, const Step &st) {
                Outcome o;
                if (s.mapping == MAP_FAILED) {
                  o.ret = -EBADF;
                  return o;
                }
                const Shape &sh = s.shape_of(st.slot);
                Bytes val = value_bytes(v, sh.value_size);
                memcpy(static_cast<uint8_t *>(s.mapping) + size_t(index) * round8(sh.value_size), val.data(), val.size());
                return o;
              });
}

// ---- raw calls: any command, any attr size and bytes

Step raw(std::string what, int cmd, unsigned size, std::function<void(AttrBuf &, Side &, int slot)> fill,
         bool null_attr = false) {
  return Step(std::move(what), [=](Side &s, const Step &st) {
    AttrBuf b;
    fill(b, s, st.slot);
    Outcome o;
    o.ret = call_raw(s, cmd, null_attr ? nullptr : b.raw, size);
    if (o.ret > 0 && (cmd == BPF_MAP_CREATE || cmd == BPF_MAP_GET_FD_BY_ID)) {
      close(static_cast<int>(o.ret));
      o.ret = 0;
      o.made_fd = true;
    }
    return o;
  });
}

// ---------------------------------------------------------------- comparison

std::string describe(const Outcome &o) {
  std::string s = o.made_fd ? "fd" : result_text(o.ret);
  for (size_t i = 0; i < o.scalars.size(); ++i) s += fmt("%s%llu", i ? "," : " scalars=", (unsigned long long)o.scalars[i]);
  if (!o.data.empty()) {
    if (o.record_size) s += fmt(" records=%zu", o.data.size() / o.record_size);
    s += " data=" + hex(o.data);
  }
  return s;
}

std::vector<Bytes> records_of(const Outcome &o) {
  std::vector<Bytes> r;
  for (size_t i = 0; o.record_size && i + o.record_size <= o.data.size(); i += o.record_size)
    r.emplace_back(o.data.begin() + i, o.data.begin() + i + o.record_size);
  std::sort(r.begin(), r.end());
  return r;
}

// Why the two outcomes differ, or "" if they agree.
std::string difference(const Outcome &k, const Outcome &u, Cmp cmp) {
  if (k.ret != u.ret || k.made_fd != u.made_fd) return "result";
  if (cmp == Cmp::kResultOnly) return "";
  if (k.scalars != u.scalars) return "written-back numbers";
  switch (cmp) {
  case Cmp::kExact:
    if (k.data != u.data) {
      size_t i = 0;
      while (i < k.data.size() && i < u.data.size() && k.data[i] == u.data[i]) ++i;
      return fmt("data (first difference at byte %zu of %zu/%zu)", i, k.data.size(), u.data.size());
    }
    return "";
  case Cmp::kAsSet: {
    auto kr = records_of(k), ur = records_of(u);
    if (kr.size() != ur.size()) return fmt("number of records (%zu vs %zu)", kr.size(), ur.size());
    if (kr != ur) return "set of records";
    return "";
  }
  case Cmp::kCountOnly:
    if (k.data.size() != u.data.size()) return "number of records";
    return "";
  default: return "";
  }
}

// ---------------------------------------------------------------- known differences

// Differences userbpf makes on purpose (see tests/diff/known-differences.md).
// A mismatch is tolerated only in a listed case, at a step whose title
// contains the listed text.
struct KnownDifference {
  const char *case_name;
  const char *step_contains;
  const char *reason;
};
const KnownDifference kKnownDifferences[] = {
    // userbpf implements union bpf_attr of the system's uapi header (6.1,
    // 144 bytes), the running kernel a newer one (168 bytes).
    {"create_attr_newer_fields", "value_type_btf_obj_fd", "uapi 6.1: bytes after map_extra must be zero (EINVAL)"},
    {"create_attr_newer_fields", "map_token_fd", "uapi 6.1: bytes after map_extra must be zero (EINVAL)"},
    {"create_attr_newer_fields", "inside 6.18's attr", "uapi 6.1: a non-zero byte past 144 bytes is E2BIG"},
    {nullptr, nullptr, nullptr},
};

const KnownDifference *known_difference(const std::string &case_name, const std::string &step) {
  for (const auto &d : kKnownDifferences)
    if (d.case_name && case_name == d.case_name && step.find(d.step_contains) != std::string::npos) return &d;
  return nullptr;
}

bool memlock_explains(const Outcome &k, const Outcome &u, uint64_t estimate) {
  return g_memlock_limit != RLIM_INFINITY && u.ret == -EPERM && (k.made_fd || k.ret == -ENOMEM) &&
         estimate >= g_memlock_limit / 4;
}

// UBT_DIFF_KEEP_GOING=1: report every differing step of a case, not only the
// first (later ones may just echo it; useful to see all of a family's bugs).
bool keep_going() {
  static const bool on = getenv("UBT_DIFF_KEEP_GOING") && *getenv("UBT_DIFF_KEEP_GOING") != '0';
  return on;
}

bool trace_enabled() {
  static const bool on = getenv("UBT_DIFF_TRACE") && *getenv("UBT_DIFF_TRACE") != '0';
  return on;
}

void run_case(const Case &c) {
  Side kernel("kernel", ubt::kernel_call), user("userbpf", ubt::userbpf_call);
  for (size_t i = 0; i < c.steps.size(); ++i) {
    const Step &st = c.steps[i];
    Outcome k = st.run(kernel, st);
    Outcome u = st.run(user, st);
    Cmp cmp = st.cmp.value_or(k.cmp);
    std::string diff = difference(k, u, cmp);
    if (trace_enabled())
      printf("  %s #%zu %s\n    kernel:  %s\n    userbpf: %s%s\n", c.name.c_str(), i + 1, st.title().c_str(),
             describe(k).c_str(), describe(u).c_str(), diff.empty() ? "" : "   <-- differs");
    if (st.expect && k.ret != *st.expect)
      ADD_FAILURE() << "case " << c.name << " step " << i + 1 << " (" << st.title() << "): the kernel returned "
                    << result_text(k.ret) << ", the case was written for " << result_text(*st.expect)
                    << " (the script no longer tests what it says, or the kernel changed)";
    if (diff.empty()) continue;
    if (memlock_explains(k, u, k.create_estimate)) {
      printf("  %s step %zu (%s): userbpf EPERM where the kernel gave %s: RLIMIT_MEMLOCK is %llu bytes and could not be "
             "raised; rest of the case not compared\n",
             c.name.c_str(), i + 1, st.title().c_str(), describe(k).c_str(), (unsigned long long)g_memlock_limit);
      return;
    }
    if (const KnownDifference *kd = known_difference(c.name, st.title())) {
      printf("  tolerated known difference in %s step %zu (%s): %s\n", c.name.c_str(), i + 1, st.title().c_str(),
             kd->reason);
      continue;
    }
    ADD_FAILURE() << "case " << c.name << " step " << i + 1 << " (" << st.title() << "): " << diff << " differs\n"
                  << "  kernel:  " << describe(k) << "\n"
                  << "  userbpf: " << describe(u);
    if (!keep_going()) return; // later steps build on this one
  }
}

// ---------------------------------------------------------------- the cases
//
// Expected kernel results (.is(...)) are what Linux 6.18 returned here.

constexpr uint32_t kAllTypes[] = {BPF_MAP_TYPE_ARRAY,    BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_HASH,
                                  BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_LRU_HASH,  BPF_MAP_TYPE_LRU_PERCPU_HASH};

bool is_array(uint32_t t) { return t == BPF_MAP_TYPE_ARRAY || t == BPF_MAP_TYPE_PERCPU_ARRAY; }
bool is_lru(uint32_t t) { return t == BPF_MAP_TYPE_LRU_HASH || t == BPF_MAP_TYPE_LRU_PERCPU_HASH; }
bool is_percpu(uint32_t t) {
  return t == BPF_MAP_TYPE_PERCPU_ARRAY || t == BPF_MAP_TYPE_PERCPU_HASH || t == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}
// Hashes get BPF_F_ZERO_SEED where a case wants a deterministic order.
uint32_t seed0(uint32_t t) { return is_array(t) ? 0 : BPF_F_ZERO_SEED; }

std::string N(const char *prefix, uint32_t t, const char *suffix = "") {
  return std::string(prefix) + "_" + type_name(t) + (*suffix ? "_" : "") + suffix;
}

constexpr uint32_t U32MAX = 0xffffffffu;

// Which create flags the kernel accepts for a type (key 4, value 8, max 16,
// numa_node 0): 0, or the errno it returns.
long create_flag_result(uint32_t t, uint32_t flag) {
  const uint32_t common = BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY | BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG;
  uint32_t ok = common;
  if (t == BPF_MAP_TYPE_ARRAY) ok |= BPF_F_MMAPABLE | BPF_F_INNER_MAP;
  if (!is_array(t)) ok |= BPF_F_ZERO_SEED | BPF_F_NO_PREALLOC;
  if (is_lru(t)) ok |= BPF_F_NO_COMMON_LRU;
  if (is_lru(t) && flag == BPF_F_NO_PREALLOC) return -524; // ENOTSUPP: LRU maps are always preallocated
  if (is_percpu(t) && flag == BPF_F_NUMA_NODE) return -EINVAL; // per-CPU maps take no NUMA hint
  return (flag & ~ok) ? -EINVAL : 0;
}

void add_create_cases(std::vector<Case> &cases) {
  for (uint32_t t : kAllTypes) {
    const bool arr = is_array(t), pc = is_percpu(t);
    // Limits: arrays take key_size 4 only and value_size <= INT_MAX; hashes
    // need key_size + value_size < KMALLOC_MAX_SIZE (4 MiB) - 48 (the
    // kernel's element header); per-CPU values are at most 32 KiB (one
    // per-CPU unit). Only sizes the kernel then allocates cheaply (max 1..16).
    const uint32_t kHashKeyValueLimit = 4194304 - 48;
    cases.push_back({N("create", t, "sizes"),
                     {
                         create(t, 4, 8, 16).ok(),
                         info(),
                         create(t, 0, 8, 16).is(-EINVAL),
                         create(t, 4, 0, 16).is(-EINVAL),
                         create(t, 4, 8, 0).is(-EINVAL),
                         create(t, 0, 0, 0).is(-EINVAL),
                         create(t, 1, 8, 16).is(arr ? -EINVAL : 0),
                         create(t, 8, 8, 16).is(arr ? -EINVAL : 0),
                         create(t, 512, 8, 16).is(arr ? -EINVAL : 0),
                         create(t, 513, 8, 16).is(arr ? -EINVAL : 0),
                         create(t, kHashKeyValueLimit - 8, 8, 1).is(arr ? -EINVAL : -E2BIG),
                         create(t, U32MAX, 8, 16).is(arr ? -EINVAL : -E2BIG),
                         create(t, 4, 1, 16).ok(),
                         create(t, 4, 13, 16).ok(),
                         info(),
                         create(t, 4, 32768, 2).ok(),
                         create(t, 4, 32769, 2).is(pc ? -E2BIG : 0),
                         create(t, 4, kHashKeyValueLimit - 4, 1).is(pc || !arr ? -E2BIG : 0),
                         create(t, 4, 0x80000000u, 1).is(-E2BIG),
                         create(t, 4, 0xfffffff9u, 1).is(-E2BIG), // rounds up to 2^32
                         create(t, 4, U32MAX, 1).is(-E2BIG),
                         create(t, 4, 8, 1).ok(),
                         info(),
                     }});
    // The largest sizes accepted (4 MiB elements). Kept apart: with a small
    // RLIMIT_MEMLOCK userbpf may refuse them (see memlock_explains).
    std::vector<Step> limits;
    if (t == BPF_MAP_TYPE_HASH || t == BPF_MAP_TYPE_PERCPU_HASH) {
      // Not preallocated: elements come from the kernel's allocator, which has
      // no room for a 4 MiB element plus its header (ENOMEM at update)...
      limits.push_back(create(t, kHashKeyValueLimit - 9, 8, 1, BPF_F_NO_PREALLOC).ok());
      limits.push_back(update(1, 5).is(-ENOMEM));
      limits.push_back(dump().is(-ENOENT));
      // ... but has for 1 MiB keys.
      limits.push_back(create(t, 1u << 20, 8, 2, BPF_F_NO_PREALLOC | BPF_F_ZERO_SEED).ok());
      limits.push_back(update(1, 5).ok());
      limits.push_back(update(2, 6).ok());
      limits.push_back(update(3, 7).is(-E2BIG));
      limits.push_back(dump().is(-ENOENT));
    }
    // Preallocated (the biggest last: with a small RLIMIT_MEMLOCK userbpf may
    // refuse them, which ends the case; see memlock_explains).
    if (!arr) {
      limits.push_back(create(t, kHashKeyValueLimit - 9, 8, 1, BPF_F_ZERO_SEED).ok());
      limits.push_back(update(1234, 5).ok());
      limits.push_back(dump().is(-ENOENT));
    }
    if (!pc) {
      limits.push_back(create(t, 4, kHashKeyValueLimit - 5, 1).ok());
      limits.push_back(info());
      limits.push_back(update(0, 5).ok());
      limits.push_back(lookup(0).ok());
    }
    if (!limits.empty()) cases.push_back({N("create", t, "limits"), limits});
    // Huge max_entries and value_size * max_entries beyond memory: E2BIG
    // where the kernel's size arithmetic would overflow, else ENOMEM at once
    // (one allocation larger than RAM). Only cases that fail on the first
    // allocation: the kernel would really allocate anything smaller.
    // Only sizes the kernel refuses before allocating, or whose first
    // allocation is far beyond any machine's RAM (terabytes): anything
    // smaller the kernel really allocates (element by element for per-CPU
    // maps), which would eat the machine's memory.
    std::vector<Step> huge;
    if (t == BPF_MAP_TYPE_ARRAY) {
      huge.push_back(create(t, 4, 1u << 22, 1u << 20).is(-ENOMEM));  // 4 TiB
      huge.push_back(create(t, 4, 1u << 20, U32MAX).is(-ENOMEM));    // 4 PiB
      // 2^31 * 1024 = 2 TiB: wraps to 0 in 32-bit arithmetic.
      huge.push_back(create(t, 4, 0x7ffffff9u, 1024).is(-ENOMEM));
      huge.push_back(create(t, 4, 0x7ffffff9u, 1024, BPF_F_MMAPABLE).is(-ENOMEM));
    } else if (!arr) {
      huge.push_back(create(t, 4, 8, U32MAX).is(-E2BIG));
      huge.push_back(create(t, 4, 8, 0x80000001u).is(-E2BIG));
      huge.push_back(create(t, 4, 8, 0x80000000u).is(-E2BIG));
      if (!pc) huge.push_back(create(t, 4, 1u << 20, 1u << 20).is(-ENOMEM)); // 1 TiB preallocated
      if (t == BPF_MAP_TYPE_HASH) {
        // Not preallocated: nothing is allocated up front, so it succeeds.
        huge.push_back(create(t, 4, 1u << 20, 1u << 20, BPF_F_NO_PREALLOC).ok());
        huge.push_back(info());
        huge.push_back(update(7, 77).ok());
        huge.push_back(lookup(7).ok());
        huge.push_back(create(t, 4, 1u << 20, 1u << 20, BPF_F_NO_PREALLOC).on(1).ok());
        huge.push_back(create(t, 4, 1u << 20, 1u << 20, BPF_F_NO_PREALLOC).on(2).ok());
      }
    }
    huge.push_back(create(t, 4, 8, 4).ok()); // still works afterwards
    huge.push_back(update(1, 1).ok());
    huge.push_back(dump().is(-ENOENT));
    cases.push_back({N("create", t, "huge"), huge});

    // Every flag bit alone, then combinations.
    std::vector<Step> flags;
    for (uint32_t bit = 0; bit < 32; ++bit) {
      if (bit == 16) continue; // BPF_F_TOKEN_FD: the result depends on what fd 0 is
      uint32_t f = 1u << bit;
      flags.push_back(bit < 15 ? create(t, 4, 8, 16, f).is(create_flag_result(t, f)) : create(t, 4, 8, 16, f));
      if (bit < 15 && create_flag_result(t, f) == 0) flags.push_back(info());
    }
    flags.push_back(create(t, 4, 8, 16, BPF_F_RDONLY | BPF_F_WRONLY).is(-EINVAL));
    flags.push_back(create(t, 4, 8, 16, BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG).is(-EINVAL));
    flags.push_back(create(t, 4, 8, 16, BPF_F_RDONLY | BPF_F_RDONLY_PROG).ok());
    flags.push_back(info());
    flags.push_back(create(t, 4, 8, 16, BPF_F_WRONLY | BPF_F_WRONLY_PROG).ok());
    flags.push_back(info());
    flags.push_back(create(t, 4, 8, 16, BPF_F_RDONLY_PROG | BPF_F_WRONLY).ok());
    if (!arr) {
      flags.push_back(create(t, 4, 8, 16, BPF_F_ZERO_SEED | BPF_F_NO_PREALLOC).is(is_lru(t) ? -524 : 0));
      flags.push_back(create(t, 4, 8, 16, BPF_F_ZERO_SEED | BPF_F_RDONLY_PROG).ok());
      flags.push_back(info());
    }
    if (is_lru(t)) {
      flags.push_back(create(t, 4, 8, 16, BPF_F_NO_COMMON_LRU | BPF_F_ZERO_SEED).ok());
      flags.push_back(info());
      // Per-CPU LRU lists split max_entries between CPUs: it is rounded up.
      flags.push_back(create(t, 4, 8, 3, BPF_F_NO_COMMON_LRU).ok());
      flags.push_back(info());
      flags.push_back(create(t, 4, 8, 1, BPF_F_NO_COMMON_LRU).ok());
      flags.push_back(info());
    }
    // numa_node is read only with BPF_F_NUMA_NODE.
    flags.push_back(create_with("create numa_node=1 without BPF_F_NUMA_NODE", [t](AttrBuf &b) {
                      b.attr().map_type = t, b.attr().key_size = 4, b.attr().value_size = 8;
                      b.attr().max_entries = 4, b.attr().numa_node = 1;
                    }).ok());
    flags.push_back(create_with("create numa_node=1 with BPF_F_NUMA_NODE", [t](AttrBuf &b) {
                      b.attr().map_type = t, b.attr().key_size = 4, b.attr().value_size = 8;
                      b.attr().max_entries = 4, b.attr().numa_node = 1, b.attr().map_flags = BPF_F_NUMA_NODE;
                    }).is(-EINVAL));
    flags.push_back(create_with("create numa_node=-1 (NUMA_NO_NODE) with BPF_F_NUMA_NODE", [t](AttrBuf &b) {
                      b.attr().map_type = t, b.attr().key_size = 4, b.attr().value_size = 8;
                      b.attr().max_entries = 4, b.attr().numa_node = U32MAX, b.attr().map_flags = BPF_F_NUMA_NODE;
                    }));
    flags.push_back(create_with("create map_extra=1", [t](AttrBuf &b) {
                      b.attr().map_type = t, b.attr().key_size = 4, b.attr().value_size = 8;
                      b.attr().max_entries = 4, b.attr().map_extra = 1;
                    }).is(-EINVAL));
    flags.push_back(create_with("create inner_map_fd=pipe (not a map-in-map type: ignored)", [t](AttrBuf &b) {
                      b.attr().map_type = t, b.attr().key_size = 4, b.attr().value_size = 8;
                      b.attr().max_entries = 4, b.attr().inner_map_fd = shared_fds().pipe_r;
                    }));
    flags.push_back(create_with("create btf_vmlinux_value_type_id=1 (no BTF)", [t](AttrBuf &b) {
                      b.attr().map_type = t, b.attr().key_size = 4, b.attr().value_size = 8;
                      b.attr().max_entries = 4, b.attr().btf_vmlinux_value_type_id = 1;
                    }));
    flags.push_back(create_with("create map_ifindex=1 (offload to lo)", [t](AttrBuf &b) {
                      b.attr().map_type = t, b.attr().key_size = 4, b.attr().value_size = 8;
                      b.attr().max_entries = 4, b.attr().map_ifindex = 1;
                    }).is(t == BPF_MAP_TYPE_ARRAY || t == BPF_MAP_TYPE_HASH ? -EOPNOTSUPP : -EINVAL));
    flags.push_back(create_with("create map_ifindex=999999 (no such device)", [t](AttrBuf &b) {
                      b.attr().map_type = t, b.attr().key_size = 4, b.attr().value_size = 8;
                      b.attr().max_entries = 4, b.attr().map_ifindex = 999999;
                    }));
    cases.push_back({N("create", t, "flags"), flags});
  }

  cases.push_back({"create_bad_types",
                   {
                       create(BPF_MAP_TYPE_UNSPEC, 4, 8, 4).is(-EINVAL),
                       create(1000, 4, 8, 4).is(-EINVAL),
                       create(U32MAX, 4, 8, 4).is(-EINVAL),
                   }});

  // Names: only [A-Za-z0-9_.], NUL-terminated within 16 bytes; bytes after
  // the NUL are dropped.
  for (uint32_t t : {BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH}) {
    auto named = [t](std::string what, std::string name16) {
      return create_with("create name=" + what, [t, name16](AttrBuf &b) {
        b.attr().map_type = t, b.attr().key_size = 4, b.attr().value_size = 8, b.attr().max_entries = 4;
        memcpy(b.attr().map_name, name16.data(), std::min(name16.size(), sizeof(b.attr().map_name)));
      });
    };
    cases.push_back({N("create", t, "names"),
                     {
                         create(t, 4, 8, 4, 0, "good_name.1").ok(),
                         info(),
                         create(t, 4, 8, 4, 0, "").ok(),
                         info(),
                         create(t, 4, 8, 4, 0, "fifteen_chars_x").ok(),
                         info(),
                         named("16 chars no NUL", "sixteen_chars_xx").is(-EINVAL),
                         create(t, 4, 8, 4, 0, "bad-name").is(-EINVAL),
                         create(t, 4, 8, 4, 0, "sp ace").is(-EINVAL),
                         create(t, 4, 8, 4, 0, "slash/").is(-EINVAL),
                         create(t, 4, 8, 4, 0, "tab\t").is(-EINVAL),
                         named("ab NUL then garbage", std::string("ab\0\xff-x y", 9)).ok(),
                         info(),
                         named("Latin-1 e-acute", "caf\xe9"),
                         info(),
                         named("0x80", "x\x80"),
                         named("0xff", "x\xff"),
                         named("0xd7 (multiplication sign)", "x\xd7"),
                     }});
  }

  // Every byte value as a name character: the kernel's isalnum() is its
  // Latin-1 ctype table, so 0xc0-0xff letters pass (but 0xd7 and 0xf7).
  std::vector<Step> name_bytes;
  for (int c = 1; c < 256; ++c) {
    std::string name = std::string("n") + static_cast<char>(c);
    name_bytes.push_back(create_with(fmt("create name=\"n\\x%02x\"", c), [name](AttrBuf &b) {
      b.attr().map_type = BPF_MAP_TYPE_ARRAY, b.attr().key_size = 4, b.attr().value_size = 8;
      b.attr().max_entries = 1;
      memcpy(b.attr().map_name, name.data(), name.size());
    }));
  }
  cases.push_back({"create_name_bytes", name_bytes});

  // attr size handling (the kernel's bpf_check_uarg_tail_zero): smaller
  // sizes are zero-extended; larger ones need a zero tail; above a page, E2BIG.
  auto arr_attr = [](AttrBuf &b) {
    b.attr().map_type = BPF_MAP_TYPE_ARRAY, b.attr().key_size = 4, b.attr().value_size = 8;
    b.attr().max_entries = 4;
    memcpy(b.attr().map_name, "sized", 5);
  };
  cases.push_back(
      {"create_attr_sizes",
       {
           create_with("create size=offsetof(map_name)", arr_attr, offsetof(union bpf_attr, map_name)).ok(),
           info(),
           create_with("create size=offsetof(numa_node)+4", arr_attr, offsetof(union bpf_attr, numa_node) + 4).ok(),
           info(),
           create_with("create size=4 (type only)", arr_attr, 4).is(-EINVAL),
           create_with("create size=0", arr_attr, 0).is(-EINVAL),
           create_with("create attr=NULL size=0", arr_attr, 0, true).is(-EINVAL),
           create_with("create attr=NULL size=sizeof", arr_attr, sizeof(union bpf_attr), true).is(-EFAULT),
           create_with("create size=200 zero tail", arr_attr, 200).ok(),
           info(),
           create_with("create size=200 byte 199 set", [&](AttrBuf &b) { arr_attr(b), b.raw[199] = 1; }, 200)
               .is(-E2BIG),
           create_with("create size=4096 zero tail", arr_attr, 4096).ok(),
           create_with("create size=4096 byte 4095 set", [&](AttrBuf &b) { arr_attr(b), b.raw[4095] = 1; }, 4096)
               .is(-E2BIG),
           create_with("create size=4097 zero tail", arr_attr, 4097).is(-E2BIG),
           create_with("create size=8192 zero tail", arr_attr, 8192).is(-E2BIG),
           // Inside union bpf_attr but after map_create's last field.
           create_with("create byte 143 set", [&](AttrBuf &b) { arr_attr(b), b.raw[143] = 1; }).is(-EINVAL),
           create_with("create byte 100 set", [&](AttrBuf &b) { arr_attr(b), b.raw[100] = 1; }).is(-EINVAL),
           create_with("create excl_prog_hash (offset 80) set", [&](AttrBuf &b) { arr_attr(b), b.raw[80] = 1; })
               .is(-EINVAL),
       }});
  // Bytes the 6.1 uapi header (which userbpf builds against) does not have,
  // but the running kernel reads: see known-differences.md.
  cases.push_back(
      {"create_attr_newer_fields",
       {
           create_with("create value_type_btf_obj_fd (offset 72) = 1, flag unset",
                       [&](AttrBuf &b) { arr_attr(b), b.raw[72] = 1; }),
           create_with("create map_token_fd (offset 76) = 1, flag unset",
                       [&](AttrBuf &b) { arr_attr(b), b.raw[76] = 1; }),
           create_with("create size=168 byte 150 set (inside 6.18's attr)",
                       [&](AttrBuf &b) { arr_attr(b), b.raw[150] = 1; }, 168),
           create_with("create size=168 zero tail", arr_attr, 168).ok(),
       }});
}

void add_element_cases(std::vector<Case> &cases) {
  for (uint32_t t : kAllTypes) {
    const bool arr = is_array(t);
    cases.push_back({N("update", t, "flags"),
                     {
                         create(t, 4, 8, 4, seed0(t)).ok(),
                         update(1, 11, BPF_ANY).ok(),
                         update(1, 12, BPF_NOEXIST).is(-EEXIST),
                         lookup(1).ok(),
                         update(1, 13, BPF_EXIST).ok(),
                         lookup(1).ok(),
                         update(2, 21, BPF_EXIST).is(arr ? 0 : -ENOENT),
                         update(2, 22, BPF_NOEXIST).is(arr ? -EEXIST : 0),
                         lookup(2).ok(),
                         update(3, 31, BPF_NOEXIST | BPF_EXIST).is(-EINVAL),
                         update(3, 31, BPF_F_LOCK).is(-EINVAL),
                         update(3, 31, BPF_F_LOCK | BPF_EXIST).is(-EINVAL),
                         update(3, 31, 8).is(-EINVAL),
                         update(3, 31, 1ull << 32).is(-EINVAL),
                         update(3, 31, ~0ull).is(-EINVAL),
                         lookup(3).is(arr ? 0 : -ENOENT),
                         update(4, 41, BPF_ANY).is(arr ? -E2BIG : 0),
                         update(U32MAX, 41, BPF_ANY).is(arr ? -E2BIG : 0),
                         update(kNull, 1).is(-EFAULT),
                         update(0, kNull).is(-EFAULT),
                         lookup(4).is(arr ? -ENOENT : 0),
                         lookup(U32MAX),
                         lookup(1, BPF_F_LOCK).is(-EINVAL),
                         lookup(1, 1).is(-EINVAL),
                         lookup(1, 8).is(-EINVAL),
                         lookup(kNull).is(-EFAULT),
                         lookup(1, 0, true).is(-EFAULT),
                         lookup(100, 0, true).is(-ENOENT),
                         dump().is(-ENOENT),
                     }});
    cases.push_back({N("delete", t),
                     {
                         create(t, 4, 8, 4, seed0(t)).ok(),
                         fill(0, 3).ok(),
                         del(1).is(arr ? -EINVAL : 0),
                         del(1).is(arr ? -EINVAL : -ENOENT),
                         del(100).is(arr ? -EINVAL : -ENOENT),
                         del(kNull).is(-EFAULT),
                         dump().is(-ENOENT),
                         update(1, 5).ok(),
                         lookup(1).ok(),
                         fill(0, 4, 50).ok(),
                         dump().is(-ENOENT),
                     }});
    cases.push_back({N("lookup_and_delete", t),
                     {
                         create(t, 4, 8, 4, seed0(t)).ok(),
                         fill(0, 3).ok(),
                         lookup_and_delete(1).is(arr ? -524 : 0),
                         lookup_and_delete(1).is(arr ? -524 : -ENOENT),
                         lookup_and_delete(2, BPF_F_LOCK).is(-EINVAL),
                         lookup_and_delete(2, 1).is(-EINVAL),
                         lookup_and_delete(kNull).is(-EFAULT), // the key is copied first
                         lookup_and_delete(100).is(arr ? -524 : -ENOENT),
                         dump().is(-ENOENT),
                         lookup_and_delete(0).is(arr ? -524 : 0),
                         lookup_and_delete(2).is(arr ? -524 : 0),
                         dump().is(-ENOENT),
                     }});
  }
}

void add_walk_cases(std::vector<Case> &cases) {
  for (uint32_t t : kAllTypes) {
    const bool arr = is_array(t);
    // Deterministic order (arrays, zero-seed hashes): compared exactly.
    cases.push_back({N("walk", t, "ordered"),
                     {
                         create(t, 4, 8, 8, seed0(t)).ok(),
                         next_key(kNull).is(arr ? 0 : -ENOENT),
                         dump().is(-ENOENT),
                         fill(0, 8).ok(),
                         next_key(kNull).ok(),
                         next_key(3),
                         next_key(7),
                         next_key(100).ok(), // missing key: the walk restarts (arrays: index 0)
                         next_key(U32MAX).ok(),
                         next_key(kNull, true).is(-EFAULT),
                         next_key(3, true), // -ENOENT where 3 is the last key: nothing copied
                         dump().is(-ENOENT),
                         update(3, 33).ok(),
                         update(5, 55).ok(),
                         dump().is(-ENOENT),
                         del(2).is(arr ? -EINVAL : 0),
                         del(6).is(arr ? -EINVAL : 0),
                         next_key(2).ok(),
                         dump().is(-ENOENT),
                     }});
    // Random seed: hashes compared as sets.
    cases.push_back({N("walk", t, "random_seed"),
                     {
                         create(t, 4, 8, 64).ok(),
                         fill(0, 50).ok(),
                         dump().is(-ENOENT),
                         next_key(kNull).ok(),
                         del(10).is(arr ? -EINVAL : 0),
                         del(20).is(arr ? -EINVAL : 0),
                         dump().is(-ENOENT),
                     }});
    if (arr) continue;
    // Bucket order for many keys, with collisions, and after replacing keys
    // (a replaced element goes to the head of its bucket, except per-CPU
    // hashes, which update in place).
    // LRU maps start evicting before they are full (when fewer free elements
    // are left than one CPU's refill target), so they get room to spare.
    const uint32_t room = is_lru(t) ? 400 : 200;
    std::vector<Step> big = {create(t, 4, 8, room, BPF_F_ZERO_SEED).ok(), fill(0, 200).ok(), dump().is(-ENOENT)};
    for (uint64_t k = 0; k < 200; k += 3) big.push_back(update(k, 7000 + k, BPF_EXIST).ok());
    big.push_back(dump().is(-ENOENT));
    for (uint64_t k = 0; k < 200; k += 7) big.push_back(del(k).ok());
    big.push_back(dump().is(-ENOENT));
    big.push_back(fill(0, 200, 9000, BPF_NOEXIST).is(-EEXIST));
    big.push_back(dump().is(-ENOENT));
    cases.push_back({N("walk", t, "zero_seed_buckets"), big});
    // Key sizes that take the kernel's jhash2 (multiple of 4) and jhash paths.
    std::vector<Step> ks;
    for (uint32_t key_size : {1u, 2u, 3u, 5u, 8u, 12u, 13u, 16u, 64u, 100u, 512u}) {
      ks.push_back(create(t, key_size, 5, 40, BPF_F_ZERO_SEED).ok());
      ks.push_back(fill(0, key_size == 1 ? 40 : 40).ok());
      ks.push_back(dump().is(-ENOENT));
      ks.push_back(next_key(17).ok());
      ks.push_back(next_key(1000).ok());
    }
    cases.push_back({N("walk", t, "zero_seed_key_sizes"), ks});
    if (t == BPF_MAP_TYPE_HASH || t == BPF_MAP_TYPE_PERCPU_HASH)
      cases.push_back({N("walk", t, "zero_seed_no_prealloc"),
                       {
                           create(t, 4, 8, 100, BPF_F_ZERO_SEED | BPF_F_NO_PREALLOC).ok(),
                           fill(0, 100).ok(),
                           dump().is(-ENOENT),
                           fill(0, 100, 500, BPF_EXIST).ok(),
                           dump().is(-ENOENT),
                       }});
  }
}

void add_percpu_cases(std::vector<Case> &cases) {
  for (uint32_t t : kAllTypes) {
    std::vector<Step> s;
    for (uint32_t vs : {1u, 4u, 8u, 13u, 24u, 4093u, 32768u}) {
      s.push_back(create(t, 4, vs, 4, seed0(t)).ok());
      s.push_back(lookup(0).is(is_array(t) ? 0 : -ENOENT));
      s.push_back(update(0, 100 + vs).ok());
      s.push_back(lookup(0).ok());
      s.push_back(update(0, 200 + vs, BPF_EXIST).ok());
      s.push_back(lookup(0).ok());
      s.push_back(update(1, 300 + vs).ok());
      s.push_back(dump().is(-ENOENT));
      if (!is_array(t)) s.push_back(lookup_and_delete(1).ok());
    }
    cases.push_back({N("values", t), s});
  }
}

void add_batch_cases(std::vector<Case> &cases) {
  for (uint32_t t : kAllTypes) {
    const bool arr = is_array(t);
    // Ordered maps: every batch result compared exactly, cursors included.
    cases.push_back(
        {N("batch", t, "ordered"),
         {
             create(t, 4, 8, is_lru(t) ? 64 : 16, seed0(t)).ok(),
             batch_lookup({.count = 4}).is(arr ? 0 : -ENOENT),
             fill(0, 10).ok(),
             batch_lookup({.count = 0}).ok(),
             batch_lookup({.count = 3}),
             batch_lookup({.count = 3, .in = kInCursor}),
             batch_lookup({.count = 3, .in = kInCursor}),
             batch_lookup({.count = 3, .in = kInCursor}),
             batch_lookup({.count = 3, .in = kInCursor}),
             batch_lookup({.count = 100}).is(-ENOENT),
             batch_lookup({.count = 4, .in = 5}),
             batch_lookup({.count = 4, .in = 100000}),
             batch_lookup({.count = 4, .elem_flags = BPF_F_LOCK}).is(-EINVAL),
             batch_lookup({.count = 4, .elem_flags = 1}).is(-EINVAL),
             batch_lookup({.count = 4, .flags = 1}).is(arr ? 0 : -EINVAL), // the generic batch ignores flags
             batch_lookup({.count = 4, .null_keys = true}).is(-EFAULT),
             batch_lookup({.count = 4, .null_values = true}).is(-EFAULT),
             batch_lookup({.count = 4, .null_out = true}),
             batch_drain(BPF_MAP_LOOKUP_BATCH, 3),
             batch_drain(BPF_MAP_LOOKUP_BATCH, 1),
             batch_update({20, 21, 22}, {1, 2, 3}).is(arr ? -E2BIG : 0),
             batch_update({1, 2, 100, 3}, {4, 5, 6, 7}).is(arr ? -E2BIG : 0),
             batch_update({1, 2}, {8, 9}, BPF_NOEXIST),
             batch_update({1, 2}, {8, 9}, BPF_EXIST),
             batch_update({1, 2}, {8, 9}, BPF_F_LOCK).is(-EINVAL),
             batch_update({1, 2}, {8, 9}, 0, 1).ok(), // flags are not checked
             batch_update({1, 2}, {8, 9}, 0, 0, 0).ok(),
             dump().is(-ENOENT),
             // Arrays have no DELETE_BATCH or LOOKUP_AND_DELETE_BATCH: ENOTSUPP
             // before any argument is looked at.
             batch_delete({0, 1}).is(arr ? -524 : 0),
             batch_delete({5, 999, 6}).is(arr ? -524 : -ENOENT),
             batch_delete({4}, BPF_F_LOCK).is(arr ? -524 : -EINVAL),
             batch_delete({4}, 0, 1).is(arr ? -524 : 0),
             batch_delete({}, 0, 0, 0).is(arr ? -524 : 0),
             dump().is(-ENOENT),
             batch_lookup_and_delete({.count = 2}),
             batch_lookup_and_delete({.count = 2, .in = kInCursor}),
             batch_lookup_and_delete({.count = 4, .flags = 1}).is(arr ? -524 : -EINVAL),
             batch_lookup_and_delete({.count = 4, .elem_flags = BPF_F_LOCK}).is(arr ? -524 : -EINVAL),
             dump().is(-ENOENT),
             batch_drain(BPF_MAP_LOOKUP_AND_DELETE_BATCH, 3),
             dump().is(-ENOENT),
         }});
    // Random seed: what a full walk reads, as a set.
    cases.push_back({N("batch", t, "random_seed"),
                     {
                         create(t, 4, 8, 100).ok(),
                         fill(0, 90).ok(),
                         batch_drain(BPF_MAP_LOOKUP_BATCH, 7),
                         batch_drain(BPF_MAP_LOOKUP_BATCH, 200),
                         batch_update({0, 1, 2, 3}, {5, 6, 7, 8}).ok(),
                         batch_drain(BPF_MAP_LOOKUP_AND_DELETE_BATCH, 13),
                         dump().is(-ENOENT),
                     }});
    if (arr) continue;
    // A bucket holding more elements than count: ENOSPC if nothing was read
    // yet, else the batch stops before that bucket.
    cases.push_back({N("batch", t, "enospc"),
                     {
                         create(t, 4, 8, 64, BPF_F_ZERO_SEED).ok(),
                         fill(0, 64).ok(),
                         batch_drain(BPF_MAP_LOOKUP_BATCH, 1).is(-ENOSPC),
                         batch_drain(BPF_MAP_LOOKUP_BATCH, 2),
                         batch_lookup({.count = 1}),
                         batch_lookup({.count = 1, .in = kInCursor}),
                         batch_lookup({.count = 2, .in = kInCursor}),
                         batch_lookup({.count = 3, .in = kInCursor}),
                         batch_lookup({.count = 1, .in = kInCursor}),
                         batch_lookup({.count = 64, .in = 63}),
                         batch_lookup({.count = 64, .in = 64}).is(-ENOENT),
                         batch_lookup_and_delete({.count = 1}),
                         batch_lookup_and_delete({.count = 5}),
                         batch_lookup_and_delete({.count = 5, .in = kInCursor}),
                         dump().is(-ENOENT),
                     }});
    // Full hashes through UPDATE_BATCH: the count says how far it got.
    cases.push_back({N("batch", t, "full"),
                     {
                         create(t, 4, 8, 4, BPF_F_ZERO_SEED).ok(),
                         batch_update({1, 2, 3, 4, 5, 6}, {1, 2, 3, 4, 5, 6}).is(is_lru(t) ? 0 : -E2BIG),
                         batch_update({1, 2, 3, 4}, {9, 9, 9, 9}).ok(),
                         dump().is(-ENOENT).count_only(),
                     }});
  }
}

void add_full_and_lru_cases(std::vector<Case> &cases) {
  for (uint32_t t : {BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_PERCPU_HASH}) {
    for (uint32_t extra : {0u, (uint32_t)BPF_F_NO_PREALLOC}) {
      std::vector<Step> s = {
          create(t, 4, 8, 4, BPF_F_ZERO_SEED | extra).ok(),
          fill(0, 4).ok(),
          update(4, 4).is(-E2BIG),
          update(4, 4, BPF_NOEXIST).is(-E2BIG),
          update(4, 4, BPF_EXIST).is(-ENOENT),
          update(0, 10, BPF_ANY).ok(),
          update(1, 11, BPF_EXIST).ok(),
          update(2, 12, BPF_NOEXIST).is(-EEXIST),
          dump().is(-ENOENT),
          del(1).ok(),
          update(4, 14).ok(),
          update(5, 15).is(-E2BIG),
          dump().is(-ENOENT),
      };
      // Replacing every key of a full map, many times over (prealloc maps keep
      // spare elements for it).
      for (int round = 0; round < 20; ++round) s.push_back(fill(0, 5, 100 * round, BPF_EXIST).is(-ENOENT));
      s.push_back(dump().is(-ENOENT));
      cases.push_back({N("full", t, extra ? "no_prealloc" : "prealloc"), s});
    }
  }
  // LRU hashes never fail with E2BIG: they evict. Which keys go depends on
  // the kernel's LRU lists, so only how many stay is compared (and that the
  // newest survived). The process is pinned to one CPU (see main).
  for (uint32_t t : {BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH}) {
    for (uint32_t extra : {0u, (uint32_t)BPF_F_NO_COMMON_LRU}) {
      std::vector<Step> s;
      for (uint32_t max : {4u, 16u, 128u, 1000u}) {
        s.push_back(create(t, 4, 8, max, extra).ok());
        s.push_back(fill(0, 3 * max + 1).ok());
        s.push_back(dump().is(-ENOENT).count_only());
        s.push_back(lookup(3 * max).ok());
        s.push_back(update(3 * max, 1, BPF_EXIST).ok());
        s.push_back(update(5 * max, 1, BPF_EXIST).is(-ENOENT));
        s.push_back(update(6 * max, 1, BPF_NOEXIST).ok());
        // The kernel takes a free element (evicting if need be) before it looks
        // for the key, so with tiny per-CPU lists the key itself can be evicted
        // and the NOEXIST insert then succeeds.
        s.push_back(extra ? update(6 * max, 1, BPF_NOEXIST) : update(6 * max, 1, BPF_NOEXIST).is(-EEXIST));
        s.push_back(dump().is(-ENOENT).count_only());
      }
      cases.push_back({N("lru", t, extra ? "percpu_lists" : "common_list"), s});
    }
  }
}

void add_freeze_and_access_cases(std::vector<Case> &cases) {
  for (uint32_t t : kAllTypes) {
    const bool arr = is_array(t);
    cases.push_back({N("freeze", t),
                     {
                         create(t, 4, 8, 4, seed0(t)).ok(),
                         fill(0, 2).ok(),
                         freeze().ok(),
                         freeze().is(-EPERM), // a frozen map's fds lose write permission first
                         update(0, 5).is(-EPERM),
                         update(3, 5, BPF_NOEXIST).is(-EPERM),
                         del(0).is(-EPERM),
                         lookup(0).ok(),
                         next_key(kNull).ok(),
                         dump().is(-ENOENT),
                         lookup_and_delete(0).is(-EPERM),
                         batch_update({0}, {1}).is(-EPERM),
                         batch_delete({0}).is(-EPERM),
                         batch_lookup({.count = 4}).is(arr ? 0 : -ENOENT),
                         batch_lookup_and_delete({.count = 4}).is(-EPERM),
                         info().ok(),
                         open_by_id(1).ok(),
                         update(0, 5).on(1).is(-EPERM),
                         freeze().on(1).is(-EPERM),
                         raw("freeze with a non-zero byte after map_fd", BPF_MAP_FREEZE, sizeof(union bpf_attr),
                             [](AttrBuf &b, Side &s, int slot) {
                               b.attr().map_fd = s.fd_of(slot);
                               b.raw[8] = 1;
                             })
                             .is(-EINVAL),
                     }});
    cases.push_back({N("access", t, "rdonly"),
                     {
                         create(t, 4, 8, 4, BPF_F_RDONLY | seed0(t)).ok(),
                         info().ok(), // BPF_F_RDONLY is a property of the fd, not kept in map_flags
                         update(0, 1).is(-EPERM),
                         del(0).is(-EPERM),
                         lookup(0).is(arr ? 0 : -ENOENT),
                         next_key(kNull).is(arr ? 0 : -ENOENT),
                         lookup_and_delete(0).is(-EPERM),
                         batch_update({0}, {1}).is(-EPERM),
                         batch_delete({0}).is(-EPERM),
                         batch_lookup({.count = 4}).is(arr ? 0 : -ENOENT),
                         batch_lookup_and_delete({.count = 4}).is(-EPERM),
                         freeze().is(-EPERM),
                         open_by_id(1).ok(), // read-write
                         update(0, 7).on(1).ok(),
                         lookup(0).ok(),
                         open_by_id(2, BPF_F_WRONLY).ok(),
                         lookup(0).on(2).is(-EPERM),
                         update(1, 8).on(2).ok(),
                         dump().is(-ENOENT),
                     }});
    cases.push_back({N("access", t, "wronly"),
                     {
                         create(t, 4, 8, 4, BPF_F_WRONLY | seed0(t)).ok(),
                         info().ok(),
                         update(0, 1).ok(),
                         lookup(0).is(-EPERM),
                         next_key(kNull).is(-EPERM),
                         dump().is(-EPERM),
                         del(0).is(arr ? -EINVAL : 0),
                         lookup_and_delete(0).is(-EPERM),
                         batch_lookup({.count = 4}).is(-EPERM),
                         batch_lookup_and_delete({.count = 4}).is(-EPERM),
                         batch_update({1}, {2}).ok(),
                         batch_delete({1}).is(arr ? -524 : 0),
                         open_by_id(1, BPF_F_RDONLY).ok(),
                         update(0, 1).on(1).is(-EPERM),
                         lookup(0).on(1).is(arr ? 0 : -ENOENT),
                         dump().on(1).is(-ENOENT),
                         freeze().ok(),
                         update(0, 1).is(-EPERM),
                     }});
    cases.push_back({N("access", t, "prog_flags"),
                     {
                         // RDONLY_PROG / WRONLY_PROG restrict programs only.
                         create(t, 4, 8, 4, BPF_F_RDONLY_PROG | seed0(t)).ok(),
                         update(0, 1).ok(),
                         lookup(0).ok(),
                         info().ok(),
                         create(t, 4, 8, 4, BPF_F_WRONLY_PROG | seed0(t)).ok(),
                         update(0, 1).ok(),
                         lookup(0).ok(),
                         dump().is(-ENOENT),
                         info().ok(),
                     }});
  }
  cases.push_back({"access_get_fd_by_id_flags",
                   {
                       create(BPF_MAP_TYPE_HASH, 4, 8, 4).ok(),
                       open_by_id(1, BPF_F_RDONLY).ok(),
                       open_by_id(1, BPF_F_WRONLY).ok(),
                       open_by_id(1, BPF_F_RDONLY | BPF_F_WRONLY).is(-EINVAL),
                       open_by_id(1, 1).is(-EINVAL),
                       open_by_id(1, BPF_F_RDONLY_PROG).is(-EINVAL),
                       open_by_id(1, BPF_F_ZERO_SEED).is(-EINVAL),
                       open_by_id(1, 1u << 31).is(-EINVAL),
                       open_id(0).is(-ENOENT),
                       open_id(U32MAX).is(-ENOENT),
                       open_id(U32MAX - 1).is(-ENOENT),
                       open_id(0, 1).is(-EINVAL),
                       open_id(0, 0, 7).is(-ENOENT), // next_id lies before open_flags: not checked
                       raw("get_fd_by_id with a non-zero byte after open_flags", BPF_MAP_GET_FD_BY_ID,
                           sizeof(union bpf_attr),
                           [](AttrBuf &b, Side &s, int slot) {
                             b.attr().map_id = map_id_of(s, slot);
                             b.raw[12] = 1;
                           })
                           .is(-EINVAL),
                       next_id(U32MAX).is(-EINVAL), // start_id >= INT_MAX
                       next_id(0x7fffffff).is(-EINVAL),
                       next_id(0x7ffffffe).is(-ENOENT),
                       next_id(0, 1).is(-EINVAL),
                       find_own_id().ok(),
                       close_slot(),
                       close_slot().on(1),
                       next_id(0x7ffffffe).is(-ENOENT),
                   }});
  // The map lives while any fd does: the fd from GET_FD_BY_ID keeps it.
  cases.push_back({"access_lifetime",
                   {
                       create(BPF_MAP_TYPE_ARRAY, 4, 8, 4).ok(),
                       update(1, 1).ok(),
                       open_by_id(1).ok(),
                       close_slot(),
                       lookup(1).on(1).ok(),
                       lookup(1).is(-EBADF), // the closed fd
                       info().on(1).ok(),
                   }});
}

void add_info_cases(std::vector<Case> &cases) {
  std::vector<Step> s;
  for (uint32_t t : kAllTypes) {
    s.push_back(create(t, 4, 12, 7, 0, "info_map").ok());
    for (uint32_t len : {88u, 80u, 48u, 12u, 8u, 5u, 4u, 0u}) s.push_back(info(len).ok());
  }
  s.push_back(info(sizeof(struct bpf_map_info), true).is(-EFAULT));
  s.push_back(info(0, true).ok());
  s.push_back(info(4097).is(-E2BIG));
  s.push_back(raw("get_info info_len=4096 last byte set", BPF_OBJ_GET_INFO_BY_FD, sizeof(union bpf_attr),
                  [](AttrBuf &b, Side &s, int slot) {
                    static uint8_t big[4096];
                    memset(big, 0, sizeof(big));
                    big[4095] = 1;
                    b.attr().info.bpf_fd = s.fd_of(slot);
                    b.attr().info.info_len = 4096;
                    b.attr().info.info = reinterpret_cast<uintptr_t>(big);
                  })
                  .is(-E2BIG));
  s.push_back(raw("get_info with a non-zero byte after info", BPF_OBJ_GET_INFO_BY_FD, sizeof(union bpf_attr),
                  [](AttrBuf &b, Side &s, int slot) {
                    static struct bpf_map_info mi;
                    b.attr().info.bpf_fd = s.fd_of(slot);
                    b.attr().info.info_len = sizeof(mi);
                    b.attr().info.info = reinterpret_cast<uintptr_t>(&mi);
                    b.raw[16] = 1;
                  })
                  .is(-EINVAL));
  cases.push_back({"info_lengths", s});
}

// Every command on fds that are not (open) maps.
void add_bad_fd_cases(std::vector<Case> &cases) {
  for (int slot : {kFdMinusOne, kFdPipe, kFdMemfd, kFdNeverOpened}) {
    const bool open_fd = slot == kFdPipe || slot == kFdMemfd;
    const long bad = open_fd ? -EINVAL : -EBADF;
    std::vector<Step> s = {
        create(BPF_MAP_TYPE_HASH, 4, 8, 4).ok(), // slot 0 gives the buffer sizes
        lookup(1).on(slot).is(bad),
        update(1, 1).on(slot).is(bad),
        del(1).on(slot).is(bad),
        next_key(kNull).on(slot).is(bad),
        lookup_and_delete(1).on(slot).is(bad),
        freeze().on(slot).is(bad),
        info().on(slot).is(open_fd ? -EINVAL : -EBADFD),
        batch_lookup({.count = 4}).on(slot).is(bad),
        batch_lookup_and_delete({.count = 4}).on(slot).is(bad),
        batch_update({1}, {1}).on(slot).is(bad),
        batch_delete({1}).on(slot).is(bad),
        open_by_id(1).on(slot).is(-ENOENT), // no id to open
    };
    std::string name = slot == kFdMinusOne ? "bad_fd_minus_one"
                       : slot == kFdPipe   ? "bad_fd_pipe"
                       : slot == kFdMemfd  ? "bad_fd_memfd"
                                           : "bad_fd_not_open";
    cases.push_back({name, s});
  }
  cases.push_back({"bad_fd_closed_map",
                   {
                       create(BPF_MAP_TYPE_HASH, 4, 8, 4).ok(),
                       close_and_lookup().is(-EBADF),
                   }});
}

void add_command_cases(std::vector<Case> &cases) {
  auto lookup_attr = [](uint32_t extra_byte) {
    return [extra_byte](AttrBuf &b, Side &s, int slot) {
      static uint32_t key = 1;
      static uint64_t value;
      b.attr().map_fd = s.fd_of(slot);
      b.attr().key = reinterpret_cast<uintptr_t>(&key);
      b.attr().value = reinterpret_cast<uintptr_t>(&value);
      if (extra_byte) b.raw[extra_byte] = 1;
    };
  };
  cases.push_back(
      {"commands",
       {
           create(BPF_MAP_TYPE_ARRAY, 4, 8, 4).ok(),
           raw("unknown command 1000", 1000, sizeof(union bpf_attr), lookup_attr(0)).is(-EINVAL),
           raw("unknown command -1", -1, sizeof(union bpf_attr), lookup_attr(0)).is(-EINVAL),
           raw("unknown command 1000, size 4097", 1000, 4097, lookup_attr(0)).is(-E2BIG),
           raw("lookup", BPF_MAP_LOOKUP_ELEM, sizeof(union bpf_attr), lookup_attr(0)).ok(),
           raw("lookup size=32", BPF_MAP_LOOKUP_ELEM, 32, lookup_attr(0)).ok(),
           raw("lookup size=24 (no flags)", BPF_MAP_LOOKUP_ELEM, 24, lookup_attr(0)).ok(),
           raw("lookup size=8 (no value pointer)", BPF_MAP_LOOKUP_ELEM, 8, lookup_attr(0)).is(-EFAULT),
           raw("lookup size=4 (no key pointer)", BPF_MAP_LOOKUP_ELEM, 4, lookup_attr(0)).is(-EFAULT),
           raw("lookup size=0", BPF_MAP_LOOKUP_ELEM, 0, lookup_attr(0)),
           raw("lookup attr=NULL", BPF_MAP_LOOKUP_ELEM, sizeof(union bpf_attr), lookup_attr(0), true).is(-EFAULT),
           raw("lookup byte 32 set (after flags)", BPF_MAP_LOOKUP_ELEM, sizeof(union bpf_attr), lookup_attr(32))
               .is(-EINVAL),
           raw("lookup byte 4 set (padding after map_fd)", BPF_MAP_LOOKUP_ELEM, sizeof(union bpf_attr),
               lookup_attr(4)),
           raw("update byte 32 set", BPF_MAP_UPDATE_ELEM, sizeof(union bpf_attr), lookup_attr(32)).is(-EINVAL),
           raw("delete byte 16 set (after key)", BPF_MAP_DELETE_ELEM, sizeof(union bpf_attr), lookup_attr(16)),
           raw("delete byte 24 set", BPF_MAP_DELETE_ELEM, sizeof(union bpf_attr), lookup_attr(24)).is(-EINVAL),
           raw("get_next_key byte 24 set (after next_key)", BPF_MAP_GET_NEXT_KEY, sizeof(union bpf_attr),
               lookup_attr(24))
               .is(-EINVAL),
           raw("lookup size=4096 last byte set", BPF_MAP_LOOKUP_ELEM, 4096,
               [&](AttrBuf &b, Side &s, int slot) { lookup_attr(0)(b, s, slot), b.raw[4095] = 1; })
               .is(-E2BIG),
           raw("lookup size=4096 zero tail", BPF_MAP_LOOKUP_ELEM, 4096, lookup_attr(0)).ok(),
           raw("batch with a non-zero byte after flags", BPF_MAP_LOOKUP_BATCH, sizeof(union bpf_attr),
               [](AttrBuf &b, Side &s, int slot) {
                 static uint32_t keys[4];
                 static uint64_t values[4];
                 b.attr().batch.map_fd = s.fd_of(slot);
                 b.attr().batch.keys = reinterpret_cast<uintptr_t>(keys);
                 b.attr().batch.values = reinterpret_cast<uintptr_t>(values);
                 b.attr().batch.count = 4;
                 b.raw[56] = 1;
               })
               .is(-EINVAL),
       }});
}

void add_mmap_cases(std::vector<Case> &cases) {
  cases.push_back({"mmap_array",
                   {
                       create(BPF_MAP_TYPE_ARRAY, 4, 8, 16, BPF_F_MMAPABLE).ok(),
                       mmap_map(PROT_READ | PROT_WRITE).ok(),
                       update(1, 11).ok(),
                       mmap_read().ok(),
                       mmap_write(2, 22).ok(),
                       lookup(2).ok(),
                       dump().is(-ENOENT),
                       freeze().is(-EBUSY), // a writable mapping exists
                       munmap_map(),
                       freeze().ok(),
                       mmap_map(PROT_READ | PROT_WRITE).is(-EPERM),
                       mmap_map(PROT_READ).ok(),
                       mmap_read().ok(),
                       munmap_map(),
                   }});
  cases.push_back({"mmap_array_odd_value_size",
                   {
                       create(BPF_MAP_TYPE_ARRAY, 4, 13, 700, BPF_F_MMAPABLE).ok(),
                       fill(0, 700).ok(),
                       mmap_map(PROT_READ).ok(),
                       mmap_read().ok(),
                       munmap_map(),
                   }});
  cases.push_back({"mmap_array_rdonly_prog",
                   {
                       create(BPF_MAP_TYPE_ARRAY, 4, 8, 16, BPF_F_MMAPABLE | BPF_F_RDONLY_PROG).ok(),
                       mmap_map(PROT_READ | PROT_WRITE).is(-EACCES),
                       mmap_map(PROT_READ).ok(),
                       munmap_map(),
                   }});
  cases.push_back({"mmap_array_fd_modes",
                   {
                       create(BPF_MAP_TYPE_ARRAY, 4, 8, 16, BPF_F_MMAPABLE | BPF_F_RDONLY).ok(),
                       mmap_map(PROT_READ | PROT_WRITE).is(-EACCES),
                       mmap_map(PROT_READ).is(-EINVAL),
                       create(BPF_MAP_TYPE_ARRAY, 4, 8, 16, BPF_F_MMAPABLE | BPF_F_WRONLY).ok(),
                       mmap_map(PROT_READ).is(-EACCES),
                       mmap_map(PROT_WRITE).is(-EACCES),
                       create(BPF_MAP_TYPE_ARRAY, 4, 8, 16, BPF_F_MMAPABLE).ok(),
                       mmap_map(PROT_READ, MAP_PRIVATE).is(-EINVAL),
                       mmap_map(PROT_READ, MAP_SHARED, 8192).is(-EINVAL), // more than the values
                       mmap_map(PROT_READ, MAP_SHARED, 4096, 4096).is(-EINVAL),
                       mmap_map(PROT_READ, MAP_SHARED, 4096).ok(),
                       munmap_map(),
                       create(BPF_MAP_TYPE_ARRAY, 4, 8, 1024, BPF_F_MMAPABLE).ok(), // 2 pages
                       fill(0, 1024).ok(),
                       mmap_map(PROT_READ, MAP_SHARED, 4096, 4096).ok(),
                       munmap_map(),
                   }});
  std::vector<Step> not_mmapable;
  for (uint32_t t : kAllTypes) {
    not_mmapable.push_back(create(t, 4, 8, 16).ok());
    not_mmapable.push_back(mmap_map(PROT_READ));
    not_mmapable.push_back(munmap_map());
  }
  cases.push_back({"mmap_not_mmapable", not_mmapable});
}

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  add_create_cases(cases);
  add_element_cases(cases);
  add_walk_cases(cases);
  add_percpu_cases(cases);
  add_batch_cases(cases);
  add_full_and_lru_cases(cases);
  add_freeze_and_access_cases(cases);
  add_info_cases(cases);
  add_bad_fd_cases(cases);
  add_command_cases(cases);
  add_mmap_cases(cases);
  return cases;
}

const std::vector<Case> &cases() {
  static const std::vector<Case> c = all_cases();
  return c;
}

// ---------------------------------------------------------------- gtest glue

// Set up once: raise RLIMIT_MEMLOCK (userbpf charges maps to it as pre-5.11
// kernels did; libbpf raises it the same way), pin to one CPU so per-CPU
// choices (LRU lists, freelists) are the same on both sides, and give userbpf
// a private pin root.
class DiffEnvironment : public ::testing::Environment {
public:
  void SetUp() override {
    struct rlimit unlimited = {RLIM_INFINITY, RLIM_INFINITY};
    if (setrlimit(RLIMIT_MEMLOCK, &unlimited) != 0) {
      // No CAP_SYS_RESOURCE: take what the hard limit allows.
      struct rlimit rl;
      getrlimit(RLIMIT_MEMLOCK, &rl);
      rl.rlim_cur = rl.rlim_max;
      setrlimit(RLIMIT_MEMLOCK, &rl);
      g_memlock_limit = rl.rlim_cur;
      printf("note: RLIMIT_MEMLOCK cannot be raised to infinity (%s); it is %llu bytes\n", strerror(errno),
             (unsigned long long)rl.rlim_cur);
    }
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0) {
      for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
        if (!CPU_ISSET(cpu, &allowed)) continue;
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        sched_setaffinity(0, sizeof(one), &one);
        break;
      }
    }
    ubt::use_private_fs_root();
    shared_fds();
  }
};
const auto *const kEnvironment = ::testing::AddGlobalTestEnvironment(new DiffEnvironment);

class DiffMaps : public ::testing::TestWithParam<size_t> {
protected:
  void SetUp() override {
    std::string why;
    if (!ubt::kernel_bpf_available(&why)) GTEST_SKIP() << why;
  }
};

TEST_P(DiffMaps, Case) { run_case(cases()[GetParam()]); }

std::vector<size_t> case_indexes() {
  std::vector<size_t> v(cases().size());
  for (size_t i = 0; i < v.size(); ++i) v[i] = i;
  return v;
}

INSTANTIATE_TEST_SUITE_P(Maps, DiffMaps, ::testing::ValuesIn(case_indexes()),
                         [](const ::testing::TestParamInfo<size_t> &p) { return cases()[p.param].name; });

// The known-differences table must name real cases.
TEST(DiffMapsTable, KnownDifferencesNameRealCases) {
  std::set<std::string> names;
  for (const Case &c : cases()) EXPECT_TRUE(names.insert(c.name).second) << "duplicate case name " << c.name;
  for (const auto &d : kKnownDifferences)
    if (d.case_name) {
      EXPECT_TRUE(names.count(d.case_name)) << "known difference names no case: " << d.case_name;
    }
}

} // namespace
