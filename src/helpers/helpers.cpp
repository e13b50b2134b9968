#include "helpers/helpers.h"

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <mutex>
#include <random>
#include <string>

#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <sched.h>
#include <unistd.h>
#include <sys/prctl.h>

#include "helpers/context.h"
#include "maps/map.h"

namespace userbpf::helpers {

namespace {

// Helper ids (enum bpf_func_id).
enum : int32_t {
  kMapLookupElem = 1,
  kMapUpdateElem = 2,
  kMapDeleteElem = 3,
  kKtimeGetNs = 5,
  kTracePrintk = 6,
  kGetPrandomU32 = 7,
  kGetSmpProcessorId = 8,
  kSkbStoreBytes = 9,
  kL3CsumReplace = 10,
  kL4CsumReplace = 11,
  kGetCurrentPidTgid = 14,
  kGetCurrentUidGid = 15,
  kGetCurrentComm = 16,
  kTailCall = 12,
  kRedirect = 23,
  kSkbLoadBytes = 26,
  kSkbPullData = 39,
  kCsumDiff = 28,
  kGetNumaNodeId = 42,
  kXdpAdjustHead = 44,
  kXdpAdjustMeta = 54,
  kXdpAdjustTail = 65,
  kSkbLoadBytesRelative = 68,
  kMapPushElem = 87,
  kMapPopElem = 88,
  kMapPeekElem = 89,
  kKtimeGetCoarseNs = 160,
  kStrncmp = 182,
  kMapLookupPercpuElem = 195,
  kKtimeGetBootNs = 125,
  kXdpGetBuffLen = 188,
  kXdpLoadBytes = 189,
  kXdpStoreBytes = 190,
  kKtimeGetTaiNs = 208,
};

// r1 of the map helpers is the map pointer the loader put in the program's
// LD_IMM64 (the kernel's struct bpf_map *): here this process's Map view.
Map &map_arg(uint64_t r1) { return *reinterpret_cast<Map *>(static_cast<uintptr_t>(r1)); }

uint64_t map_lookup_elem(uint64_t map, uint64_t key, uint64_t, uint64_t, uint64_t) {
  Map &m = map_arg(map);
  return reinterpret_cast<uintptr_t>(m.ops->lookup_elem(m, reinterpret_cast<const void *>(key)));
}

uint64_t map_update_elem(uint64_t map, uint64_t key, uint64_t value, uint64_t flags, uint64_t) {
  Map &m = map_arg(map);
  return static_cast<uint64_t>(static_cast<int64_t>(
      m.ops->update_elem(m, reinterpret_cast<const void *>(key), reinterpret_cast<const void *>(value), flags)));
}

uint64_t map_delete_elem(uint64_t map, uint64_t key, uint64_t, uint64_t, uint64_t) {
  Map &m = map_arg(map);
  return static_cast<uint64_t>(static_cast<int64_t>(m.ops->delete_elem(m, reinterpret_cast<const void *>(key))));
}

// bpf_strncmp(s1, s1_sz, s2): the kernel's strncmp (lib/string.c), whose
// answer is -1, 0 or 1. s2 is a string the verifier found NUL-terminated in
// a frozen read-only map, so the walk ends inside it or after s1_sz bytes.
uint64_t strncmp_helper(uint64_t s1, uint64_t s1_sz, uint64_t s2, uint64_t, uint64_t) {
  const auto *a = reinterpret_cast<const unsigned char *>(s1);
  const auto *b = reinterpret_cast<const unsigned char *>(s2);
  for (uint64_t i = 0; i < static_cast<uint32_t>(s1_sz); i++) {
    if (a[i] != b[i]) return a[i] < b[i] ? static_cast<uint64_t>(-1) : 1;
    if (!a[i]) break;
  }
  return 0;
}

// bpf_map_lookup_percpu_elem(map, key, cpu): per-CPU maps only (the verifier).
uint64_t map_lookup_percpu_elem(uint64_t map, uint64_t key, uint64_t cpu, uint64_t, uint64_t) {
  Map &m = map_arg(map);
  if (cpu > UINT32_MAX) return 0;
  return reinterpret_cast<uintptr_t>(
      m.ops->lookup_percpu_elem(m, reinterpret_cast<const void *>(key), static_cast<uint32_t>(cpu)));
}

// The keyless maps' three (queue, stack: the verifier lets no other map
// through, so the ops exist).
uint64_t map_push_elem(uint64_t map, uint64_t value, uint64_t flags, uint64_t, uint64_t) {
  Map &m = map_arg(map);
  return static_cast<uint64_t>(static_cast<int64_t>(m.ops->push_elem(m, reinterpret_cast<const void *>(value), flags)));
}

uint64_t map_pop_elem(uint64_t map, uint64_t value, uint64_t, uint64_t, uint64_t) {
  Map &m = map_arg(map);
  return static_cast<uint64_t>(static_cast<int64_t>(m.ops->pop_elem(m, reinterpret_cast<void *>(value))));
}

uint64_t map_peek_elem(uint64_t map, uint64_t value, uint64_t, uint64_t, uint64_t) {
  Map &m = map_arg(map);
  return static_cast<uint64_t>(static_cast<int64_t>(m.ops->peek_elem(m, reinterpret_cast<void *>(value))));
}


uint64_t clock_ns(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// bpf_ktime_get_boot_ns: CLOCK_BOOTTIME (counts suspend); bpf_ktime_get_tai_ns: CLOCK_TAI.
// The kernel's ktime_get_ns is CLOCK_MONOTONIC; its arguments are ignored.
uint64_t ktime_get_ns(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) { return clock_ns(CLOCK_MONOTONIC); }
uint64_t ktime_get_boot_ns(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) { return clock_ns(CLOCK_BOOTTIME); }
uint64_t ktime_get_tai_ns(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) { return clock_ns(CLOCK_TAI); }
// bpf_ktime_get_coarse_ns: the kernel's ktime_get_coarse_ns, CLOCK_MONOTONIC_COARSE (the last tick's time).
uint64_t ktime_get_coarse_ns(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) {
  return clock_ns(CLOCK_MONOTONIC_COARSE);
}

// bpf_get_numa_node_id: the NUMA node of the CPU running the program.
uint64_t get_numa_node_id(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) {
  unsigned cpu = 0, node = 0;
  return getcpu(&cpu, &node) == 0 ? node : 0;
}

// The current task is the thread running the program: its process id (the
// kernel's tgid) above its thread id (the kernel's pid).
uint64_t get_current_pid_tgid(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) {
  return static_cast<uint64_t>(getpid()) << 32 | static_cast<uint32_t>(gettid());
}

// Its real group id above its real user id, as current_uid_gid().
uint64_t get_current_uid_gid(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) {
  return static_cast<uint64_t>(getgid()) << 32 | static_cast<uint32_t>(getuid());
}

// bpf_get_current_comm(buf, size): the thread's name (TASK_COMM_LEN bytes at
// most), cut to size - 1 characters, NUL-terminated and zero-padded
// (strscpy_pad).
uint64_t get_current_comm(uint64_t buf_arg, uint64_t size_arg, uint64_t, uint64_t, uint64_t) {
  char comm[16] = {};
  prctl(PR_GET_NAME, comm, 0, 0, 0);
  comm[sizeof(comm) - 1] = '\0';
  auto *buf = reinterpret_cast<char *>(static_cast<uintptr_t>(buf_arg));
  const size_t size = static_cast<uint32_t>(size_arg);
  memset(buf, 0, size);
  memcpy(buf, comm, std::min(strlen(comm), size - 1));
  return 0;
}

uint64_t get_prandom_u32(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) {
  // Per-thread generator, as the kernel's per-CPU prandom state: no sharing.
  thread_local std::minstd_rand engine{std::random_device{}()};
  thread_local std::uniform_int_distribution<uint32_t> dist;
  return dist(engine);
}

uint64_t get_smp_processor_id(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) {
  static const uint32_t ncpus = possible_cpus();
  return current_cpu(ncpus);
}

// ---- bpf_trace_printk(fmt, fmt_size, arg1, arg2, arg3)

struct SinkState {
  std::mutex mu;
  TraceSink sink = nullptr;
  void *ctx = nullptr;
  bool to_stderr = true;
};
SinkState &sink_state() {
  static SinkState state;
  return state;
}

// Format like the kernel's bpf_bprintf_prepare: at most 3 arguments; %d %i %u
// %x %X %c %% with optional l/ll, %p/%px as hex, %s read up to 64 bytes.
// Anything else is -EINVAL, as in the kernel.
int format_trace(const char *fmt, size_t fmt_size, const uint64_t args[3], std::string *out) {
  if (fmt_size == 0 || fmt[fmt_size - 1] != '\0') return -EINVAL;
  int used = 0;
  for (size_t i = 0; fmt[i]; i++) {
    char c = fmt[i];
    if (c != '%') {
      out->push_back(c);
      continue;
    }
    if (fmt[i + 1] == '%') {
      out->push_back('%');
      i++;
      continue;
    }
    if (used == 3) return -EINVAL;
    uint64_t arg = args[used++];
    int longs = 0;
    while (fmt[i + 1] == 'l' && longs < 2) {
      longs++;
      i++;
    }
    char conv = fmt[++i];
    char buf[80];
    bool wide = longs > 0; // long is 64-bit on x86-64
    switch (conv) {
    case 'd':
    case 'i':
      snprintf(buf, sizeof buf, "%" PRId64, wide ? static_cast<int64_t>(arg) : static_cast<int64_t>(static_cast<int32_t>(arg)));
      break;
    case 'u': snprintf(buf, sizeof buf, "%" PRIu64, wide ? arg : static_cast<uint32_t>(arg)); break;
    case 'x': snprintf(buf, sizeof buf, "%" PRIx64, wide ? arg : static_cast<uint32_t>(arg)); break;
    case 'X': snprintf(buf, sizeof buf, "%" PRIX64, wide ? arg : static_cast<uint32_t>(arg)); break;
    case 'c':
      if (wide) return -EINVAL;
      buf[0] = static_cast<char>(arg);
      buf[1] = '\0';
      break;
    case 'p':
      if (wide) return -EINVAL;
      if (fmt[i + 1] == 'x') i++;
      snprintf(buf, sizeof buf, "0x%" PRIx64, arg);
      break;
    case 's': {
      if (wide) return -EINVAL;
      const char *s = reinterpret_cast<const char *>(static_cast<uintptr_t>(arg));
      if (!s) {
        snprintf(buf, sizeof buf, "(null)");
        break;
      }
      size_t n = strnlen(s, 64);
      out->append(s, n);
      continue;
    }
    default: return -EINVAL;
    }
    out->append(buf);
  }
  return 0;
}

uint64_t trace_printk(uint64_t fmt, uint64_t fmt_size, uint64_t a1, uint64_t a2, uint64_t a3) {
  const uint64_t args[3] = {a1, a2, a3};
  std::string text;
  int err = format_trace(reinterpret_cast<const char *>(static_cast<uintptr_t>(fmt)), fmt_size, args, &text);
  if (err) return static_cast<uint64_t>(static_cast<int64_t>(err));
  SinkState &st = sink_state();
  std::lock_guard<std::mutex> lock(st.mu);
  if (st.sink)
    st.sink(st.ctx, text.data(), text.size());
  else if (st.to_stderr)
    fwrite(text.data(), 1, text.size(), stderr);
  return text.size();
}

// bpf_csum_diff: the one's-complement sum of ~from and to (32-bit words,
// sizes multiples of 4, at most 512 bytes together), added to seed. The
// kernel returns csum_partial's 32-bit unfolded sum.
uint64_t csum_diff(uint64_t from, uint64_t from_size, uint64_t to, uint64_t to_size, uint64_t seed) {
  const uint32_t fsize = static_cast<uint32_t>(from_size), tsize = static_cast<uint32_t>(to_size);
  if (((fsize | tsize) & 3) != 0 || uint64_t(fsize) + tsize > 512) return static_cast<uint64_t>(-int64_t(EINVAL));
  uint64_t sum = static_cast<uint32_t>(seed);
  auto add_words = [&sum](uint64_t base, uint32_t size, bool invert) {
    for (uint32_t i = 0; i < size; i += 4) {
      uint32_t w;
      memcpy(&w, reinterpret_cast<const void *>(static_cast<uintptr_t>(base + i)), 4);
      sum += invert ? ~w : w;
    }
  };
  add_words(from, fsize, true);
  add_words(to, tsize, false);
  while (sum >> 32) sum = (sum & 0xffffffffull) + (sum >> 32);
  return sum;
}

uint64_t neg_errno(int err) { return static_cast<uint64_t>(-static_cast<int64_t>(err)); }

// ---- skb helpers. r1 is the run-time context (helpers/context.h): a
// __sk_buff followed by the packet pointers. The skb is linear: its length
// (skb->len) is data_end - data.

// len packet bytes from `from` into to if all of them come before `end`;
// else to zeroed and -EFAULT (the kernel's err_clear). from 0: no bytes.
uint64_t load_packet_bytes(uint64_t to_arg, uint64_t from, uint32_t len, uint64_t end) {
  void *to = reinterpret_cast<void *>(static_cast<uintptr_t>(to_arg));
  if (from && from + len <= end) {
    memcpy(to, reinterpret_cast<const void *>(static_cast<uintptr_t>(from)), len);
    return 0;
  }
  memset(to, 0, len);
  return neg_errno(EFAULT);
}

// bpf_skb_load_bytes(ctx, offset, to, len): len bytes of the packet from
// offset (from data) into to; past the end, or an offset above INT_MAX:
// -EFAULT.
uint64_t skb_load_bytes(uint64_t ctx, uint64_t offset_arg, uint64_t to, uint64_t len, uint64_t) {
  const CtxPacketPointers &p = packet_pointers<__sk_buff>(ctx);
  const uint32_t offset = static_cast<uint32_t>(offset_arg);
  return load_packet_bytes(to, offset <= static_cast<uint32_t>(INT32_MAX) ? p.data + offset : 0,
                           static_cast<uint32_t>(len), p.data_end);
}

// bpf_skb_load_bytes_relative(ctx, offset, to, len, start_header): the same
// from the Ethernet header (BPF_HDR_START_MAC) or the network header that
// follows it (BPF_HDR_START_NET), whatever data points at; an offset above
// 0xffff, another start or no Ethernet header: -EFAULT.
uint64_t skb_load_bytes_relative(uint64_t ctx, uint64_t offset_arg, uint64_t to, uint64_t len,
                                 uint64_t start_header) {
  const CtxPacketPointers &p = packet_pointers<__sk_buff>(ctx);
  const uint32_t offset = static_cast<uint32_t>(offset_arg);
  uint64_t start = 0;
  if (offset <= 0xffff && p.mac_header) {
    if (static_cast<uint32_t>(start_header) == BPF_HDR_START_MAC) start = p.mac_header;
    if (static_cast<uint32_t>(start_header) == BPF_HDR_START_NET) start = p.network_header();
  }
  return load_packet_bytes(to, start ? start + offset : 0, static_cast<uint32_t>(len), p.data_end);
}

// bpf_skb_pull_data(ctx, len): make the first len bytes (0: the linear
// part) direct-accessible and writable. The test run's skb is linear and not
// cloned, so that holds up to its length; past it: -ENOMEM (pskb_may_pull).
uint64_t skb_pull_data(uint64_t ctx, uint64_t len_arg, uint64_t, uint64_t, uint64_t) {
  const CtxPacketPointers &p = packet_pointers<__sk_buff>(ctx);
  return static_cast<uint32_t>(len_arg) > p.data_end - p.data ? neg_errno(ENOMEM) : 0;
}

// ---- checksum fix-ups (RFC 1624), on the raw (network order) 16-bit
// checksum in the packet, with the kernel's arithmetic: 32-bit one's
// complement sums folded to 16 bits.
uint32_t csum_add32(uint32_t a, uint32_t b) {
  const uint32_t r = a + b;
  return r + (r < b);
}
uint16_t csum_fold32(uint32_t c) {
  c = (c & 0xffff) + (c >> 16);
  c = (c & 0xffff) + (c >> 16);
  return static_cast<uint16_t>(~c);
}
uint16_t csum_add16(uint16_t a, uint16_t b) {
  const uint16_t r = static_cast<uint16_t>(a + b);
  return static_cast<uint16_t>(r + (r < b));
}
// csum_replace4 / csum_replace_by_diff: the checksum with `from` taken out
// and `to` put in (from 0: `to` is a difference already summed).
uint16_t csum_replaced4(uint16_t sum, uint32_t from, uint32_t to) {
  return csum_fold32(csum_add32(csum_add32(~uint32_t{sum}, ~from), to));
}
// csum_replace2, for 16-bit fields.
uint16_t csum_replaced2(uint16_t sum, uint16_t from, uint16_t to) {
  return static_cast<uint16_t>(~csum_add16(csum_add16(static_cast<uint16_t>(~sum), static_cast<uint16_t>(~from)), to));
}

// What bpf_l3_csum_replace and bpf_l4_csum_replace share: the checksum at
// offset (even, at most 0xffff, inside the packet, else -EFAULT) fixed for a
// field changed from `from` to `to`. The low bits of flags are the field's
// size, 2 or 4, or 0 with from 0 and `to` a difference (bpf_csum_diff's);
// anything else is -EINVAL. l4: 2-byte fields go through the 4-byte sum, as
// inet_proto_csum_replace2 does; with BPF_F_MARK_MANGLED_0 a zero checksum
// (UDP's "none") is left alone unless BPF_F_MARK_ENFORCE, and a result of
// zero is written as 0xffff (CSUM_MANGLED_0).
uint64_t csum_replace(uint64_t ctx, uint64_t offset_arg, uint64_t from, uint64_t to, uint64_t flags, bool l4) {
  const CtxPacketPointers &p = packet_pointers<__sk_buff>(ctx);
  const uint32_t offset = static_cast<uint32_t>(offset_arg);
  if (offset > 0xffff || (offset & 1) || uint64_t{offset} + 2 > p.data_end - p.data) return neg_errno(EFAULT);
  void *at = reinterpret_cast<void *>(static_cast<uintptr_t>(p.data + offset));
  uint16_t v;
  memcpy(&v, at, sizeof(v));
  const bool mangled_zero = l4 && (flags & BPF_F_MARK_MANGLED_0);
  if (mangled_zero && !(flags & BPF_F_MARK_ENFORCE) && v == 0) return 0;
  switch (flags & BPF_F_HDR_FIELD_MASK) {
  case 0:
    if (from != 0) return neg_errno(EINVAL);
    v = csum_replaced4(v, 0, static_cast<uint32_t>(to));
    break;
  case 2:
    v = l4 ? csum_replaced4(v, static_cast<uint16_t>(from), static_cast<uint16_t>(to))
           : csum_replaced2(v, static_cast<uint16_t>(from), static_cast<uint16_t>(to));
    break;
  case 4: v = csum_replaced4(v, static_cast<uint32_t>(from), static_cast<uint32_t>(to)); break;
  default: return neg_errno(EINVAL);
  }
  if (mangled_zero && v == 0) v = 0xffff;
  memcpy(at, &v, sizeof(v));
  return 0;
}

// bpf_l3_csum_replace(ctx, offset, from, to, flags): an IP header checksum.
uint64_t l3_csum_replace(uint64_t ctx, uint64_t offset, uint64_t from, uint64_t to, uint64_t flags) {
  if (flags & ~uint64_t{BPF_F_HDR_FIELD_MASK}) return neg_errno(EINVAL);
  return csum_replace(ctx, offset, from, to, flags, false);
}

// bpf_l4_csum_replace(ctx, offset, from, to, flags): a TCP or UDP checksum.
// The test run's skb has no checksum offload state (CHECKSUM_NONE), so
// BPF_F_PSEUDO_HDR and BPF_F_IPV6 change nothing here.
uint64_t l4_csum_replace(uint64_t ctx, uint64_t offset, uint64_t from, uint64_t to, uint64_t flags) {
  constexpr uint64_t kKnown =
      BPF_F_MARK_MANGLED_0 | BPF_F_MARK_ENFORCE | BPF_F_PSEUDO_HDR | BPF_F_HDR_FIELD_MASK | BPF_F_IPV6;
  if (flags & ~kKnown) return neg_errno(EINVAL);
  return csum_replace(ctx, offset, from, to, flags, true);
}

// bpf_skb_store_bytes(ctx, offset, from, len, flags): len bytes of from into
// the packet at offset (from data). Flags other than BPF_F_RECOMPUTE_CSUM and
// BPF_F_INVALIDATE_HASH: -EINVAL; an offset above INT_MAX or a write past the
// packet's end: -EFAULT. The test run's skb carries no checksum to update
// (CHECKSUM_NONE); invalidating the hash zeroes skb->hash.
uint64_t skb_store_bytes(uint64_t ctx, uint64_t offset_arg, uint64_t from_arg, uint64_t len_arg, uint64_t flags) {
  if (flags & ~uint64_t{BPF_F_RECOMPUTE_CSUM | BPF_F_INVALIDATE_HASH}) return neg_errno(EINVAL);
  const CtxPacketPointers &p = packet_pointers<__sk_buff>(ctx);
  const uint32_t offset = static_cast<uint32_t>(offset_arg), len = static_cast<uint32_t>(len_arg);
  if (offset > static_cast<uint32_t>(INT32_MAX) || uint64_t{offset} + len > p.data_end - p.data) return neg_errno(EFAULT);
  memcpy(reinterpret_cast<void *>(static_cast<uintptr_t>(p.data + offset)),
         reinterpret_cast<const void *>(static_cast<uintptr_t>(from_arg)), len);
  if (flags & BPF_F_INVALIDATE_HASH) reinterpret_cast<__sk_buff *>(static_cast<uintptr_t>(ctx))->hash = 0;
  return 0;
}

// ---- XDP buffer helpers. r1 is the run-time context (helpers/context.h):
// an xdp_md followed by the packet pointers.

constexpr uint64_t kXdpFrameSize = 40; // sizeof(struct xdp_frame), kept at the buffer's start
constexpr uint64_t kXdpMaxMetaLen = 255; // skb_shared_info.meta_len is a u8

// bpf_xdp_adjust_head(ctx, delta): move the packet's start by delta bytes
// (negative: grow into the headroom), the metadata moving with it. The
// start stays past the xdp_frame and the metadata, and at least an Ethernet
// header before the end; else -EINVAL.
uint64_t xdp_adjust_head(uint64_t ctx, uint64_t delta_arg, uint64_t, uint64_t, uint64_t) {
  CtxPacketPointers &p = packet_pointers<xdp_md>(ctx);
  const int64_t delta = static_cast<int32_t>(delta_arg);
  const uint64_t metalen = p.data - p.data_meta;
  const uint64_t data_start = p.data_hard_start + kXdpFrameSize + metalen;
  const uint64_t data = p.data + static_cast<uint64_t>(delta);
  if (static_cast<int64_t>(data - data_start) < 0 ||
      static_cast<int64_t>(p.data_end - CtxPacketPointers::kEthHeaderLen - data) < 0)
    return neg_errno(EINVAL);
  if (metalen)
    memmove(reinterpret_cast<void *>(static_cast<uintptr_t>(p.data_meta + static_cast<uint64_t>(delta))),
            reinterpret_cast<const void *>(static_cast<uintptr_t>(p.data_meta)), metalen);
  p.data_meta += static_cast<uint64_t>(delta);
  p.data = data;
  return 0;
}

// bpf_xdp_adjust_meta(ctx, delta): move the metadata's start; it stays past
// the xdp_frame and before data (-EINVAL), and its length is a multiple of 4
// of at most 255 bytes (-EACCES).
uint64_t xdp_adjust_meta(uint64_t ctx, uint64_t delta_arg, uint64_t, uint64_t, uint64_t) {
  CtxPacketPointers &p = packet_pointers<xdp_md>(ctx);
  const int64_t delta = static_cast<int32_t>(delta_arg);
  const uint64_t meta = p.data_meta + static_cast<uint64_t>(delta);
  if (static_cast<int64_t>(meta - (p.data_hard_start + kXdpFrameSize)) < 0 || static_cast<int64_t>(p.data - meta) < 0)
    return neg_errno(EINVAL);
  const uint64_t metalen = p.data - meta;
  if ((metalen & 3) || metalen > kXdpMaxMetaLen) return neg_errno(EACCES);
  p.data_meta = meta;
  return 0;
}

// bpf_xdp_adjust_tail(ctx, delta): move the packet's end by delta bytes
// (positive: grow into the tailroom, which is zeroed first). The end stays
// within the buffer's room (data_hard_end) and at least an Ethernet header
// after the start; else -EINVAL. (The kernel's multi-buffer path, for frames
// with fragments, does not arise: the test run's XDP buffer is linear.)
uint64_t xdp_adjust_tail(uint64_t ctx, uint64_t delta_arg, uint64_t, uint64_t, uint64_t) {
  CtxPacketPointers &p = packet_pointers<xdp_md>(ctx);
  const int64_t delta = static_cast<int32_t>(delta_arg);
  const uint64_t data_end = p.data_end + static_cast<uint64_t>(delta);
  if (static_cast<int64_t>(p.data_hard_end - data_end) < 0 ||
      static_cast<int64_t>(data_end - (p.data + CtxPacketPointers::kEthHeaderLen)) < 0)
    return neg_errno(EINVAL);
  if (delta > 0) memset(reinterpret_cast<void *>(static_cast<uintptr_t>(p.data_end)), 0, static_cast<size_t>(delta));
  p.data_end = data_end;
  return 0;
}

// bpf_xdp_get_buff_len(ctx): the packet's length (the test run's XDP buffer
// has no fragments, so its linear part is all of it).
uint64_t xdp_get_buff_len(uint64_t ctx, uint64_t, uint64_t, uint64_t, uint64_t) {
  const CtxPacketPointers &p = packet_pointers<xdp_md>(ctx);
  return p.data_end - p.data;
}

// What bpf_xdp_load_bytes and bpf_xdp_store_bytes share: len bytes at
// offset (from data) copied out of the packet into buf, or (store) from buf
// into it, in place: the packet does not move. As the kernel's
// bpf_xdp_pointer: an offset or length above 0xffff is -EFAULT, bytes past
// the packet's end -EINVAL, and then nothing is copied (the verifier counts
// a load's buffer written either way).
uint64_t xdp_copy_bytes(uint64_t ctx, uint64_t offset_arg, uint64_t buf, uint64_t len_arg, bool store) {
  const CtxPacketPointers &p = packet_pointers<xdp_md>(ctx);
  const uint32_t offset = static_cast<uint32_t>(offset_arg), len = static_cast<uint32_t>(len_arg);
  if (offset > 0xffff || len > 0xffff) return neg_errno(EFAULT);
  if (uint64_t{offset} + len > p.data_end - p.data) return neg_errno(EINVAL);
  void *packet = reinterpret_cast<void *>(static_cast<uintptr_t>(p.data + offset));
  void *mem = reinterpret_cast<void *>(static_cast<uintptr_t>(buf));
  if (store)
    memcpy(packet, mem, len);
  else
    memcpy(mem, packet, len);
  return 0;
}

// bpf_xdp_load_bytes(ctx, offset, to, len)
uint64_t xdp_load_bytes(uint64_t ctx, uint64_t offset, uint64_t to, uint64_t len, uint64_t) {
  return xdp_copy_bytes(ctx, offset, to, len, false);
}

// bpf_xdp_store_bytes(ctx, offset, from, len)
uint64_t xdp_store_bytes(uint64_t ctx, uint64_t offset, uint64_t from, uint64_t len, uint64_t) {
  return xdp_copy_bytes(ctx, offset, from, len, true);
}

// ---- redirects. The helper only records where the packet is to go (the
// kernel's per-CPU bpf_redirect_info; here per thread) and returns the
// verdict that tells the caller to send it there. The test run, like the
// kernel's without live frames, reports that verdict and sends nothing.

thread_local RedirectTarget t_redirect_target;

// bpf_redirect for tc (bpf_redirect_proto): flags other than BPF_F_INGRESS
// give TC_ACT_SHOT, else TC_ACT_REDIRECT.
uint64_t skb_redirect(uint64_t ifindex, uint64_t flags, uint64_t, uint64_t, uint64_t) {
  if (flags & ~uint64_t{BPF_F_INGRESS}) return TC_ACT_SHOT;
  t_redirect_target = {static_cast<uint32_t>(ifindex), flags};
  return TC_ACT_REDIRECT;
}

// bpf_redirect for XDP (bpf_xdp_redirect_proto, the same id): any flag gives
// XDP_ABORTED, else XDP_REDIRECT.
uint64_t xdp_redirect(uint64_t ifindex, uint64_t flags, uint64_t, uint64_t, uint64_t) {
  if (flags) return XDP_ABORTED;
  t_redirect_target = {static_cast<uint32_t>(ifindex), 0};
  return XDP_REDIRECT;
}

using A = ArgType;
using R = RetType;

// In id order.
const HelperProto kHelpers[] = {
    {kMapLookupElem, "map_lookup_elem", map_lookup_elem, R::kPtrToMapValueOrNull,
     {A::kConstMapPtr, A::kPtrToMapKey, A::kDontCare, A::kDontCare, A::kDontCare}, false},
    {kMapUpdateElem, "map_update_elem", map_update_elem, R::kInteger,
     {A::kConstMapPtr, A::kPtrToMapKey, A::kPtrToMapValue, A::kAnything, A::kDontCare}, false},
    {kMapDeleteElem, "map_delete_elem", map_delete_elem, R::kInteger,
     {A::kConstMapPtr, A::kPtrToMapKey, A::kDontCare, A::kDontCare, A::kDontCare}, false},
    {kKtimeGetNs, "ktime_get_ns", ktime_get_ns, R::kInteger,
     {A::kDontCare, A::kDontCare, A::kDontCare, A::kDontCare, A::kDontCare}, false},
    {kTracePrintk, "trace_printk", trace_printk, R::kInteger,
     {A::kPtrToMemReadOnly, A::kConstSize, A::kDontCare, A::kDontCare, A::kDontCare}, true, true},
    {kGetPrandomU32, "get_prandom_u32", get_prandom_u32, R::kInteger,
     {A::kDontCare, A::kDontCare, A::kDontCare, A::kDontCare, A::kDontCare}, false},
    {kGetSmpProcessorId, "get_smp_processor_id", get_smp_processor_id, R::kInteger,
     {A::kDontCare, A::kDontCare, A::kDontCare, A::kDontCare, A::kDontCare}, false},
    // No function: the VM runs a tail call itself (vm/interpreter.h, TailCallResolver).
    {kSkbStoreBytes, "skb_store_bytes", skb_store_bytes, R::kInteger,
     {A::kPtrToCtx, A::kAnything, A::kPtrToMemReadOnly, A::kConstSize, A::kAnything}, false, false, true},
    {kL3CsumReplace, "l3_csum_replace", l3_csum_replace, R::kInteger,
     {A::kPtrToCtx, A::kAnything, A::kAnything, A::kAnything, A::kAnything}, false, false, true},
    {kL4CsumReplace, "l4_csum_replace", l4_csum_replace, R::kInteger,
     {A::kPtrToCtx, A::kAnything, A::kAnything, A::kAnything, A::kAnything}, false, false, true},
    {kGetCurrentPidTgid, "get_current_pid_tgid", get_current_pid_tgid, R::kInteger,
     {A::kDontCare, A::kDontCare, A::kDontCare, A::kDontCare, A::kDontCare}, false},
    {kGetCurrentUidGid, "get_current_uid_gid", get_current_uid_gid, R::kInteger,
     {A::kDontCare, A::kDontCare, A::kDontCare, A::kDontCare, A::kDontCare}, false},
    // In the base set's CAP_PERFMON group (6.18), as trace_printk.
    {kGetCurrentComm, "get_current_comm", get_current_comm, R::kInteger,
     {A::kPtrToUninitMem, A::kConstSize, A::kDontCare, A::kDontCare, A::kDontCare}, false, true},
    {kTailCall, "tail_call", nullptr, R::kVoid,
     {A::kPtrToCtx, A::kConstMapPtr, A::kAnything, A::kDontCare, A::kDontCare}, false},
    // tc's implementation; XDP programs call xdp_redirect (helper_function()).
    {kRedirect, "redirect", skb_redirect, R::kInteger,
     {A::kAnything, A::kAnything, A::kDontCare, A::kDontCare, A::kDontCare}, false},
    {kSkbLoadBytes, "skb_load_bytes", skb_load_bytes, R::kInteger,
     {A::kPtrToCtx, A::kAnything, A::kPtrToUninitMem, A::kConstSize, A::kDontCare}, false},
    {kCsumDiff, "csum_diff", csum_diff, R::kInteger,
     {A::kPtrToMemReadOnlyOrNull, A::kConstSizeOrZero, A::kPtrToMemReadOnlyOrNull, A::kConstSizeOrZero, A::kAnything},
     false},
    {kSkbPullData, "skb_pull_data", skb_pull_data, R::kInteger,
     {A::kPtrToCtx, A::kAnything, A::kDontCare, A::kDontCare, A::kDontCare}, false, false, true},
    {kGetNumaNodeId, "get_numa_node_id", get_numa_node_id, R::kInteger,
     {A::kDontCare, A::kDontCare, A::kDontCare, A::kDontCare, A::kDontCare}, false},
    {kXdpAdjustHead, "xdp_adjust_head", xdp_adjust_head, R::kInteger,
     {A::kPtrToCtx, A::kAnything, A::kDontCare, A::kDontCare, A::kDontCare}, false, false, true},
    {kXdpAdjustMeta, "xdp_adjust_meta", xdp_adjust_meta, R::kInteger,
     {A::kPtrToCtx, A::kAnything, A::kDontCare, A::kDontCare, A::kDontCare}, false, false, true},
    {kXdpAdjustTail, "xdp_adjust_tail", xdp_adjust_tail, R::kInteger,
     {A::kPtrToCtx, A::kAnything, A::kDontCare, A::kDontCare, A::kDontCare}, false, false, true},
    {kSkbLoadBytesRelative, "skb_load_bytes_relative", skb_load_bytes_relative, R::kInteger,
     {A::kPtrToCtx, A::kAnything, A::kPtrToUninitMem, A::kConstSize, A::kAnything}, false},
    {kMapPushElem, "map_push_elem", map_push_elem, R::kInteger,
     {A::kConstMapPtr, A::kPtrToMapValue, A::kAnything, A::kDontCare, A::kDontCare}, false},
    {kMapPopElem, "map_pop_elem", map_pop_elem, R::kInteger,
     {A::kConstMapPtr, A::kPtrToUninitMapValue, A::kDontCare, A::kDontCare, A::kDontCare}, false},
    {kMapPeekElem, "map_peek_elem", map_peek_elem, R::kInteger,
     {A::kConstMapPtr, A::kPtrToUninitMapValue, A::kDontCare, A::kDontCare, A::kDontCare}, false},
    {kKtimeGetBootNs, "ktime_get_boot_ns", ktime_get_boot_ns, R::kInteger,
     {A::kDontCare, A::kDontCare, A::kDontCare, A::kDontCare, A::kDontCare}, false},
    {kKtimeGetCoarseNs, "ktime_get_coarse_ns", ktime_get_coarse_ns, R::kInteger,
     {A::kDontCare, A::kDontCare, A::kDontCare, A::kDontCare, A::kDontCare}, false},
    // No function: it calls back into the program, so the VM runs it itself
    // (the interpreter's loop frames, the JIT's inline loop; docs/VM.md).
    {kLoopHelper, "loop", nullptr, R::kInteger,
     {A::kAnything, A::kPtrToFunc, A::kPtrToStackOrNull, A::kAnything, A::kDontCare}, false},
    {kForEachMapElemHelper, "for_each_map_elem", nullptr, R::kInteger,
     {A::kConstMapPtr, A::kPtrToFunc, A::kPtrToStackOrNull, A::kAnything, A::kDontCare}, false},
    {kStrncmp, "strncmp", strncmp_helper, R::kInteger,
     {A::kPtrToMemReadOnly, A::kConstSize, A::kPtrToConstStr, A::kDontCare, A::kDontCare}, false},
    {kXdpGetBuffLen, "xdp_get_buff_len", xdp_get_buff_len, R::kInteger,
     {A::kPtrToCtx, A::kDontCare, A::kDontCare, A::kDontCare, A::kDontCare}, false},
    {kXdpLoadBytes, "xdp_load_bytes", xdp_load_bytes, R::kInteger,
     {A::kPtrToCtx, A::kAnything, A::kPtrToUninitMem, A::kConstSize, A::kDontCare}, false},
    {kXdpStoreBytes, "xdp_store_bytes", xdp_store_bytes, R::kInteger,
     {A::kPtrToCtx, A::kAnything, A::kPtrToMemReadOnly, A::kConstSize, A::kDontCare}, false},
    {kMapLookupPercpuElem, "map_lookup_percpu_elem", map_lookup_percpu_elem, R::kPtrToMapValueOrNull,
     {A::kConstMapPtr, A::kPtrToMapKey, A::kAnything, A::kDontCare, A::kDontCare}, false},
    {kKtimeGetTaiNs, "ktime_get_tai_ns", ktime_get_tai_ns, R::kInteger,
     {A::kDontCare, A::kDontCare, A::kDontCare, A::kDontCare, A::kDontCare}, false},
};

} // namespace

const HelperProto *find_helper(int32_t id) {
  for (const HelperProto &h : kHelpers)
    if (h.id == id) return &h;
  return nullptr;
}

HelperFn helper_function(const HelperProto &proto, uint32_t prog_type) {
  if (proto.id == kRedirect && prog_type == BPF_PROG_TYPE_XDP) return xdp_redirect;
  return proto.fn;
}

const RedirectTarget &redirect_target() { return t_redirect_target; }

const HelperProto *helpers_begin() { return kHelpers; }
const HelperProto *helpers_end() { return kHelpers + sizeof(kHelpers) / sizeof(kHelpers[0]); }

void set_trace_printk_sink(TraceSink sink, void *ctx) {
  SinkState &st = sink_state();
  std::lock_guard<std::mutex> lock(st.mu);
  st.sink = sink;
  st.ctx = ctx;
  st.to_stderr = false;
}

} // namespace userbpf::helpers
