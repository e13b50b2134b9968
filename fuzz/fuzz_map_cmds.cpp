// libFuzzer target: random sequences of BPF_MAP_* commands against
// userbpf_bpf(), with random attrs, sizes, flags and fds, valid and invalid.
//
// What is random: the command, every attr field, the attr size and stray
// bytes past the command's fields, the fd (a map this input created, a closed
// one, -1, or any small number: userbpf's own internal fds included), and the
// map shapes (types, key/value sizes, max_entries, flags, names, BTF ids).
// What is never random: pointers. Each is NULL or a buffer at least as large
// as the command may touch for that map (key_size, value_size or the per-CPU
// size, times count for batches): a wild pointer would crash the harness, not
// find a bug in userbpf.
//
// Oracles, beyond the sanitizers: a result is >= 0 or -1 with errno set; a
// successful update is seen by the next lookup of that key; bytes written
// through an mmap of a BPF_F_MMAPABLE array are seen by lookup.
//
// Every map, fd and mapping an input creates is released before the next
// input, so the run also checks that nothing leaks (the pin root is private:
// see LLVMFuzzerInitialize).
#include <errno.h>
#include <fuzzer/FuzzedDataProvider.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include <userbpf/bpf.h>

namespace {

#define ATTR_END(field) (offsetof(union bpf_attr, field) + sizeof(((union bpf_attr *)nullptr)->field))

constexpr size_t kAttrBufferSize = 8192; // room for attr sizes beyond one page (E2BIG paths)
constexpr uint32_t kMaxBatchCount = 64;
constexpr size_t kMaxBuffer = 4u << 20; // values bigger than this are passed as NULL

uint32_t g_ncpus = 1;
long g_page = 4096;
bool g_trace = false; // USERBPF_FUZZ_TRACE=1: print every call, to replay a crash by hand

[[noreturn]] void oracle_failed(const char *what) {
  fprintf(stderr, "oracle failed: %s\n", what);
  abort();
}

struct TrackedMap {
  int fd;
  uint32_t type, key_size, value_size, max_entries, flags;
};

struct Mapping {
  void *addr;
  size_t len;
};

bool is_percpu(uint32_t type) {
  return type == BPF_MAP_TYPE_PERCPU_ARRAY || type == BPF_MAP_TYPE_PERCPU_HASH ||
         type == BPF_MAP_TYPE_LRU_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

// What one input owns; released at the end of the input.
class Session {
 public:
  explicit Session(FuzzedDataProvider &fdp) : fdp_(fdp) {}
  ~Session() {
    for (const Mapping &m : mappings_) munmap(m.addr, m.len);
    for (const TrackedMap &m : maps_) close(m.fd);
  }

  void run_one() {
    switch (fdp_.ConsumeIntegralInRange<int>(0, 15)) {
      case 0:
      case 1: return create();
      case 2: return element(BPF_MAP_LOOKUP_ELEM);
      case 3:
      case 4: return update();
      case 5: return element(BPF_MAP_DELETE_ELEM);
      case 6: return get_next_key();
      case 7: return element(BPF_MAP_LOOKUP_AND_DELETE_ELEM);
      case 8: return freeze();
      case 9: return batch(BPF_MAP_LOOKUP_BATCH);
      case 10: return batch(BPF_MAP_LOOKUP_AND_DELETE_BATCH);
      case 11: return batch(BPF_MAP_UPDATE_BATCH);
      case 12: return batch(BPF_MAP_DELETE_BATCH);
      case 13: return close_one();
      case 14: return map_memory();
      case 15: return info();
    }
  }

 private:
  // ---- choosing things

  uint32_t pick(std::initializer_list<uint32_t> usual) {
    const size_t i = fdp_.ConsumeIntegralInRange<size_t>(0, usual.size());
    if (i < usual.size()) return *(usual.begin() + i);
    return fdp_.ConsumeIntegral<uint32_t>();
  }

  // A map this input made, or (rarely) none.
  const TrackedMap *pick_map() {
    if (maps_.empty() || fdp_.ConsumeIntegralInRange<int>(0, 15) == 0) return nullptr;
    return &maps_[fdp_.ConsumeIntegralInRange<size_t>(0, maps_.size() - 1)];
  }

  // The fd for a command: usually a tracked map's; else -1 or any small number.
  int pick_fd(const TrackedMap **map) {
    *map = pick_map();
    if (*map) return (*map)->fd;
    int fd = fdp_.ConsumeBool() ? -1 : fdp_.ConsumeIntegralInRange<int>(0, 255);
    *map = find(fd); // a small number may well be one of ours
    return fd;
  }

  const TrackedMap *find(int fd) const {
    for (const TrackedMap &m : maps_)
      if (m.fd == fd) return &m;
    return nullptr;
  }

  uint32_t key_size(const TrackedMap *m) const { return m ? m->key_size : 64; }
  uint64_t value_size(const TrackedMap *m) const {
    if (!m) return 64;
    if (is_percpu(m->type)) return (uint64_t{m->value_size} + 7) / 8 * 8 * g_ncpus;
    return m->value_size;
  }

  // NULL now and then, else a buffer of `size` bytes (at least 8) with fuzz
  // contents. Valid until the next command.
  void *buffer(uint64_t size, bool maybe_null = true) {
    if ((maybe_null && fdp_.ConsumeIntegralInRange<int>(0, 31) == 0) || size > kMaxBuffer) return nullptr;
    // Keyless maps (queue, stack) take no key: mostly give them none.
    if (maybe_null && size == 0 && fdp_.ConsumeIntegralInRange<int>(0, 3) != 0) return nullptr;
    buffers_.emplace_back(std::max<uint64_t>(size, 8));
    std::vector<uint8_t> &b = buffers_.back();
    const std::vector<uint8_t> bytes = fdp_.ConsumeBytes<uint8_t>(std::min<size_t>(b.size(), 64));
    for (size_t i = 0; i < b.size(); ++i) b[i] = bytes.empty() ? 0 : bytes[i % bytes.size()];
    return b.data();
  }

  // ---- calling

  // Call with a random attr size and, sometimes, a stray non-zero byte after
  // the command's fields. The attr lives in a zeroed buffer large enough for
  // any size passed.
  long call(int cmd, const union bpf_attr &attr, size_t fields_end) {
    static uint8_t storage[kAttrBufferSize] __attribute__((aligned(8)));
    memset(storage, 0, sizeof(storage));
    memcpy(storage, &attr, sizeof(attr));
    size_t size = sizeof(attr);
    switch (fdp_.ConsumeIntegralInRange<int>(0, 7)) {
      case 0: size = fields_end; break; // libbpf's way: up to the command's last field
      // Multiples of 8 only: a size ending inside a pointer field would leave
      // half a pointer, i.e. a wild one.
      case 1: size = 8 * fdp_.ConsumeIntegralInRange<size_t>(0, (sizeof(attr) + 16) / 8); break;
      case 2: size = fdp_.ConsumeIntegralInRange<size_t>(4090, kAttrBufferSize); break;
      default: break;
    }
    if (fdp_.ConsumeIntegralInRange<int>(0, 15) == 0) {
      size_t at = fdp_.ConsumeIntegralInRange<size_t>(fields_end, kAttrBufferSize - 1);
      storage[at] = fdp_.ConsumeIntegralInRange<uint8_t>(1, 255);
    }
    errno = 0;
    long r = userbpf_bpf(cmd, reinterpret_cast<union bpf_attr *>(storage), static_cast<unsigned>(size));
    if (r < -1) oracle_failed("result below -1");
    if (r == -1 && errno == 0) oracle_failed("-1 without errno");
    memcpy(last_attr_, storage, sizeof(last_attr_)); // write-backs (batch count, info_len)
    if (g_trace) trace(cmd, attr, size, r);
    return r;
  }

  static void trace(int cmd, const union bpf_attr &a, size_t size, long r) {
    const int err = r < 0 ? errno : 0;
    if (cmd == BPF_MAP_CREATE) {
      fprintf(stderr, "CREATE type=%u key=%u value=%u max=%u flags=%#x size=%zu -> %ld (%s)\n", a.map_type,
              a.key_size, a.value_size, a.max_entries, a.map_flags, size, r, strerror(err));
    } else if (cmd >= BPF_MAP_LOOKUP_BATCH && cmd <= BPF_MAP_DELETE_BATCH) {
      uint64_t first_key = 0;
      if (a.batch.keys) memcpy(&first_key, reinterpret_cast<const void *>(a.batch.keys), 4);
      fprintf(stderr, "BATCH cmd=%d fd=%u count=%u elem_flags=%#llx in=%d keys[0]=%llu size=%zu -> %ld (%s)\n", cmd,
              a.batch.map_fd, a.batch.count, static_cast<unsigned long long>(a.batch.elem_flags),
              a.batch.in_batch != 0, static_cast<unsigned long long>(first_key), size, r, strerror(err));
    } else {
      uint32_t key = 0;
      if (a.key) memcpy(&key, reinterpret_cast<const void *>(a.key), sizeof(key));
      fprintf(stderr, "CMD %d fd=%u key[0..4]=%u flags=%#llx size=%zu -> %ld (%s)\n", cmd, a.map_fd, key,
              static_cast<unsigned long long>(a.flags), size, r, strerror(err));
    }
  }

  // A plain call (full size, clean tail), for the oracles' own reads.
  static long call_clean(int cmd, union bpf_attr &attr) { return userbpf_bpf(cmd, &attr, sizeof(attr)); }

  // ---- commands

  void create() {
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.map_type = pick({BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_PERCPU_HASH,
                       BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH,
                       BPF_MAP_TYPE_PROG_ARRAY, BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_STACK,
                       BPF_MAP_TYPE_BLOOM_FILTER, BPF_MAP_TYPE_UNSPEC});
    a.key_size = pick({4, 4, 8, 8, 0, 1, 3, 16, 64, 512});
    a.value_size = pick({8, 8, 13, 4, 1, 0, 64, 256, 4096, 32768, 32769, 0x7fffffff, 0x80000000u, UINT32_MAX});
    a.max_entries = pick({1, 4, 16, 256, 1024, 0, 1u << 20, UINT32_MAX});
    if (fdp_.ConsumeBool()) {
      static const uint32_t kFlags[] = {BPF_F_NO_PREALLOC, BPF_F_NO_COMMON_LRU, BPF_F_NUMA_NODE,   BPF_F_RDONLY,
                                        BPF_F_WRONLY,      BPF_F_ZERO_SEED,     BPF_F_RDONLY_PROG, BPF_F_WRONLY_PROG,
                                        BPF_F_MMAPABLE,    BPF_F_INNER_MAP,     BPF_F_PRESERVE_ELEMS};
      const int n = fdp_.ConsumeIntegralInRange<int>(1, 3);
      for (int i = 0; i < n; ++i) a.map_flags |= kFlags[fdp_.ConsumeIntegralInRange<size_t>(0, std::size(kFlags) - 1)];
      if (fdp_.ConsumeIntegralInRange<int>(0, 15) == 0) a.map_flags = fdp_.ConsumeIntegral<uint32_t>();
    }
    if (a.map_flags & BPF_F_NUMA_NODE) a.numa_node = pick({0, UINT32_MAX, 1});
    if (fdp_.ConsumeIntegralInRange<int>(0, 7) == 0) {
      const std::vector<char> name = fdp_.ConsumeBytes<char>(sizeof(a.map_name));
      if (!name.empty()) memcpy(a.map_name, name.data(), name.size());
    } else if (fdp_.ConsumeBool()) {
      strcpy(a.map_name, "fuzz_map.1");
    }
    if (fdp_.ConsumeIntegralInRange<int>(0, 15) == 0) {
      a.btf_fd = pick({0, UINT32_MAX, 3});
      a.btf_key_type_id = pick({0, 1});
      a.btf_value_type_id = pick({0, 1});
      a.btf_vmlinux_value_type_id = pick({0, 0, 1});
      a.inner_map_fd = pick({0, 3});
      a.map_ifindex = pick({0, 0, 1});
      a.map_extra = fdp_.ConsumeBool() ? 0 : fdp_.ConsumeIntegral<uint64_t>();
    }
    // A bloom filter's number of hash functions (the low 4 bits; more is EINVAL).
    if (a.map_type == BPF_MAP_TYPE_BLOOM_FILTER && fdp_.ConsumeBool())
      a.map_extra = fdp_.ConsumeIntegralInRange<uint64_t>(0, 16);
    long fd = call(BPF_MAP_CREATE, a, ATTR_END(map_extra));
    if (fd < 0) return;
    if (find(static_cast<int>(fd))) oracle_failed("create returned an fd already in use");
    maps_.push_back({static_cast<int>(fd), a.map_type, a.key_size, a.value_size, a.max_entries, a.map_flags});
  }

  void element(int cmd) {
    const TrackedMap *m = nullptr;
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.map_fd = static_cast<uint32_t>(pick_fd(&m));
    a.key = reinterpret_cast<uintptr_t>(buffer(key_size(m)));
    size_t end = ATTR_END(key);
    if (cmd != BPF_MAP_DELETE_ELEM) {
      a.value = reinterpret_cast<uintptr_t>(buffer(value_size(m)));
      a.flags = pick({0, 0, BPF_F_LOCK, 1, 2, 8});
      end = ATTR_END(flags);
    }
    call(cmd, a, end);
  }

  void update() {
    const TrackedMap *m = nullptr;
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.map_fd = static_cast<uint32_t>(pick_fd(&m));
    void *key = buffer(key_size(m));
    void *value = buffer(value_size(m));
    a.key = reinterpret_cast<uintptr_t>(key);
    a.value = reinterpret_cast<uintptr_t>(value);
    a.flags = pick({BPF_ANY, BPF_ANY, BPF_NOEXIST, BPF_EXIST, BPF_F_LOCK, 3, 8});
    if (call(BPF_MAP_UPDATE_ELEM, a, ATTR_END(flags)) != 0 || !m) return;
    if (m->type == BPF_MAP_TYPE_LRU_HASH || m->type == BPF_MAP_TYPE_LRU_PERCPU_HASH) return;
    if (m->type == BPF_MAP_TYPE_QUEUE) return; // a lookup peeks at the oldest element, not the one just pushed
    if (m->type == BPF_MAP_TYPE_BLOOM_FILTER) return; // a lookup tests a value, writes nothing back
    // Oracle: what was just written reads back (no one else touches the map).
    const uint64_t size = value_size(m);
    std::vector<uint8_t> out(std::max<uint64_t>(size, 8));
    union bpf_attr l;
    memset(&l, 0, sizeof(l));
    l.map_fd = a.map_fd;
    l.key = a.key;
    l.value = reinterpret_cast<uintptr_t>(out.data());
    if (m->flags & BPF_F_WRONLY) return; // no read access through this fd
    if (call_clean(BPF_MAP_LOOKUP_ELEM, l) != 0) oracle_failed("lookup after a successful update failed");
    if (memcmp(out.data(), value, size) != 0) oracle_failed("lookup after update returned other bytes");
  }

  void get_next_key() {
    const TrackedMap *m = nullptr;
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.map_fd = static_cast<uint32_t>(pick_fd(&m));
    a.key = fdp_.ConsumeBool() ? 0 : reinterpret_cast<uintptr_t>(buffer(key_size(m)));
    a.next_key = reinterpret_cast<uintptr_t>(buffer(key_size(m)));
    call(BPF_MAP_GET_NEXT_KEY, a, ATTR_END(next_key));
  }

  void freeze() {
    const TrackedMap *m = nullptr;
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.map_fd = static_cast<uint32_t>(pick_fd(&m));
    call(BPF_MAP_FREEZE, a, ATTR_END(map_fd));
  }

  void batch(int cmd) {
    const TrackedMap *m = nullptr;
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.batch.map_fd = static_cast<uint32_t>(pick_fd(&m));
    const uint32_t count = fdp_.ConsumeIntegralInRange<uint32_t>(0, kMaxBatchCount);
    // in_batch / out_batch: a key for generic batches, a bucket index (u32)
    // for hashes; big enough for both.
    const uint64_t token = std::max<uint64_t>(key_size(m), 8);
    a.batch.in_batch = fdp_.ConsumeBool() ? 0 : reinterpret_cast<uintptr_t>(buffer(token));
    a.batch.out_batch = reinterpret_cast<uintptr_t>(buffer(token));
    a.batch.keys = reinterpret_cast<uintptr_t>(buffer(uint64_t{key_size(m)} * count));
    a.batch.values = reinterpret_cast<uintptr_t>(buffer(value_size(m) * count));
    a.batch.count = count;
    a.batch.elem_flags = pick({0, 0, BPF_F_LOCK, BPF_NOEXIST, BPF_EXIST});
    a.batch.flags = pick({0, 0, 0, 1});
    if (call(cmd, a, ATTR_END(batch.flags)) == -1 && errno == 0) oracle_failed("batch");
    uint32_t written = 0;
    memcpy(&written, last_attr_ + offsetof(union bpf_attr, batch.count), sizeof(written));
    if (written > count) oracle_failed("batch count grew past the capacity");
  }

  void close_one() {
    if (maps_.empty()) return;
    const size_t i = fdp_.ConsumeIntegralInRange<size_t>(0, maps_.size() - 1);
    close(maps_[i].fd);
    maps_.erase(maps_.begin() + static_cast<std::ptrdiff_t>(i));
  }

  // mmap a map (BPF_F_MMAPABLE arrays allow it), write through the mapping,
  // read back through lookup.
  void map_memory() {
    const TrackedMap *m = pick_map();
    if (!m) return;
    const size_t pages = fdp_.ConsumeIntegralInRange<size_t>(1, 4);
    const off_t offset = static_cast<off_t>(fdp_.ConsumeIntegralInRange<int>(0, 2)) * g_page;
    const int prot = fdp_.ConsumeBool() ? PROT_READ : PROT_READ | PROT_WRITE;
    void *p = mmap(nullptr, pages * g_page, prot, MAP_SHARED, m->fd, offset);
    if (p == MAP_FAILED) return;
    mappings_.push_back({p, pages * g_page});
    if (!(prot & PROT_WRITE) || offset != 0 || m->type != BPF_MAP_TYPE_ARRAY || m->value_size > g_page) return;
    // Value 0 is at offset 0 of the mapping.
    const uint8_t byte = fdp_.ConsumeIntegral<uint8_t>();
    memset(p, byte, m->value_size);
    if (m->flags & BPF_F_WRONLY) return;
    std::vector<uint8_t> out(std::max<uint32_t>(m->value_size, 8));
    uint32_t key = 0;
    union bpf_attr l;
    memset(&l, 0, sizeof(l));
    l.map_fd = static_cast<uint32_t>(m->fd);
    l.key = reinterpret_cast<uintptr_t>(&key);
    l.value = reinterpret_cast<uintptr_t>(out.data());
    if (call_clean(BPF_MAP_LOOKUP_ELEM, l) != 0) oracle_failed("lookup of an mmapped array failed");
    for (uint32_t i = 0; i < m->value_size; ++i)
      if (out[i] != byte) oracle_failed("mmap write not seen by lookup");
  }

  void info() {
    const TrackedMap *m = nullptr;
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.info.bpf_fd = static_cast<uint32_t>(pick_fd(&m));
    const uint32_t len = fdp_.ConsumeIntegralInRange<uint32_t>(0, sizeof(struct bpf_map_info) + 16);
    a.info.info_len = len;
    a.info.info = reinterpret_cast<uintptr_t>(buffer(len));
    call(BPF_OBJ_GET_INFO_BY_FD, a, ATTR_END(info.info));
  }

  FuzzedDataProvider &fdp_;
  std::vector<TrackedMap> maps_;
  std::vector<Mapping> mappings_;
  std::vector<std::vector<uint8_t>> buffers_;
  uint8_t last_attr_[sizeof(union bpf_attr)] = {};

 public:
  void end_command() { buffers_.clear(); }
};

} // namespace

// Closing a map frees its per-process state after a grace period, on
// liburcu's call_rcu thread. When an input ends before that thread has run,
// libFuzzer's per-input leak check sees the pending objects as leaked; waiting
// for them (rcu_barrier) after every input would cut the speed twenty-fold.
// So allocations made for rcu_defer() callbacks are not reported as leaks.
extern "C" const char *__lsan_default_suppressions() { return "leak:userbpf::rcu_defer\n"; }

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  // Objects go to a private pin root unless the caller chose one.
  if (!getenv("USERBPF_FS")) {
    static char root[] = "/tmp/userbpf-fuzz-XXXXXX";
    if (mkdtemp(root)) setenv("USERBPF_FS", root, 1);
  }
  // Maps are charged to RLIMIT_MEMLOCK: keep it at the usual 8 MiB so one
  // input cannot make gigabytes of maps where the limit was raised.
  struct rlimit memlock;
  const rlim_t cap = 8u << 20;
  if (getrlimit(RLIMIT_MEMLOCK, &memlock) == 0 && memlock.rlim_cur > cap) {
    memlock.rlim_cur = cap;
    setrlimit(RLIMIT_MEMLOCK, &memlock);
  }
  g_trace = getenv("USERBPF_FUZZ_TRACE") != nullptr;
  g_ncpus = static_cast<uint32_t>(userbpf_num_possible_cpus());
  g_page = sysconf(_SC_PAGESIZE);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  {
    FuzzedDataProvider fdp(data, size);
    Session session(fdp);
    for (int commands = 0; commands < 64 && fdp.remaining_bytes() > 0; ++commands) {
      session.run_one();
      session.end_command();
    }
  }
  return 0;
}
