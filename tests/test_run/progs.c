// Programs the test-run differential test (tests/diff/diff_test_run.cpp)
// loads with libbpf into userbpf and into the kernel and runs on the same
// packets: packet parsing and rewriting, context fields, maps, tail calls,
// the XDP head/metadata/tail helpers and redirects.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

// Packets and bytes per IP protocol (XDP).
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 256);
  __type(key, __u32);
  __type(value, __u64);
} proto_packets SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 64);
  __type(key, __u32);
  __type(value, __u64);
} bytes_by_daddr SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u32);
} jump_table SEC(".maps");

// A small firewall: IPv4 only; ICMP dropped, TCP and UDP passed and counted,
// the TTL decremented in place (checksum left alone); everything else passed.
SEC("xdp")
int xdp_firewall(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > data_end) return XDP_ABORTED;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr *ip = (void *)(eth + 1);
  if ((void *)(ip + 1) > data_end) return XDP_DROP;
  __u32 proto = ip->protocol;
  __u64 *count = bpf_map_lookup_elem(&proto_packets, &proto);
  if (count) __sync_fetch_and_add(count, 1);
  __u32 daddr = ip->daddr;
  __u64 len = (__u64)(data_end - data);
  __u64 *bytes = bpf_map_lookup_elem(&bytes_by_daddr, &daddr);
  if (bytes)
    *bytes += len;
  else
    bpf_map_update_elem(&bytes_by_daddr, &daddr, &len, BPF_NOEXIST);
  if (proto == IPPROTO_ICMP) return XDP_DROP;
  ip->ttl--;
  return XDP_PASS;
}

// Prepend a 4-byte tag with bpf_xdp_adjust_head and 8 bytes of metadata.
SEC("xdp")
int xdp_tagger(struct xdp_md *ctx) {
  if (bpf_xdp_adjust_meta(ctx, -8)) return XDP_ABORTED;
  if (bpf_xdp_adjust_head(ctx, -4)) return XDP_ABORTED;
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  void *meta = (void *)(long)ctx->data_meta;
  if (data + 4 > data_end || meta + 8 > data) return XDP_ABORTED;
  *(__u32 *)data = bpf_htonl(0xdeadbeef);
  *(__u64 *)meta = 0x0102030405060708ull;
  return XDP_TX;
}

SEC("xdp")
int xdp_jump(struct xdp_md *ctx) {
  bpf_tail_call(ctx, &jump_table, 1);
  return XDP_DROP; // slot empty
}

SEC("xdp")
int xdp_jump_target(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  if (data + 1 > data_end) return XDP_ABORTED;
  *(__u8 *)data = 0x42;
  return XDP_TX;
}

// tc: mark IPv4, note the length and the protocol in cb[], OK.
SEC("tc")
int tc_marker(struct __sk_buff *skb) {
  void *data = (void *)(long)skb->data;
  void *data_end = (void *)(long)skb->data_end;
  skb->cb[0] = skb->len;
  skb->cb[1] = skb->protocol;
  skb->cb[2] = skb->pkt_type;
  if (data + sizeof(struct ethhdr) > data_end) return TC_ACT_SHOT;
  if (skb->protocol == bpf_htons(ETH_P_IP)) skb->mark = 0x42;
  skb->priority = skb->priority + 1;
  return TC_ACT_OK;
}

// A socket filter keeps len - 4 bytes of IPv4 packets, drops the rest.
SEC("socket")
int sock_trim(struct __sk_buff *skb) {
  if (skb->protocol != bpf_htons(ETH_P_IP)) return 0;
  return skb->len - 4;
}

// cgroup skb: pass packets whose first byte is an IPv4 header with IHL 5.
SEC("cgroup_skb/ingress")
int cgskb_filter(struct __sk_buff *skb) {
  void *data = (void *)(long)skb->data;
  void *data_end = (void *)(long)skb->data_end;
  if (data + 1 > data_end) return 0;
  return *(__u8 *)data == 0x45;
}

// bpf_skb_load_bytes from a socket filter (the packet from its network
// header): the IPv4 source address's first byte, and a read straddling the
// end, which fails with -EFAULT and zeroes the buffer.
SEC("socket")
int sock_load_bytes(struct __sk_buff *skb) {
  __u8 saddr[4] = {0xff, 0xff, 0xff, 0xff};
  long ok = bpf_skb_load_bytes(skb, 12, saddr, sizeof(saddr));
  __u64 past = ~0ull;
  long bad = bpf_skb_load_bytes(skb, skb->len - 4, &past, sizeof(past));
  return (ok == 0 ? 1 : 0) | (bad == -14 ? 2 : 0) | (past == 0 ? 4 : 0) | (saddr[0] << 8);
}

// bpf_skb_load_bytes from tc (the packet from its Ethernet header): the
// ethertype, and an offset past INT_MAX (-EFAULT, buffer zeroed).
SEC("tc")
int tc_load_bytes(struct __sk_buff *skb) {
  __u16 proto = 0;
  if (bpf_skb_load_bytes(skb, 12, &proto, sizeof(proto))) return TC_ACT_SHOT;
  __u8 byte = 0xff;
  long far = bpf_skb_load_bytes(skb, 0x80000000u, &byte, 1);
  return (bpf_ntohs(proto) << 8) | (far == -14 ? 1 : 0) | (byte == 0 ? 2 : 0);
}

// The base clock and NUMA helpers: node 0, boot time not behind monotonic
// time read before it, TAI (since 1970) past boot time.
SEC("socket")
int sock_clocks(struct __sk_buff *skb) {
  __u64 mono = bpf_ktime_get_ns();
  __u64 boot = bpf_ktime_get_boot_ns();
  __u64 tai = bpf_ktime_get_tai_ns();
  return (bpf_get_numa_node_id() == 0 ? 1 : 0) | (boot >= mono ? 2 : 0) | (tai > boot ? 4 : 0);
}

// bpf_skb_store_bytes from tc: a new destination MAC and IPv4 TTL 7, then
// the errors: unknown flags (-EINVAL), a write past the end and an offset
// past INT_MAX (-EFAULT).
SEC("tc")
int tc_store_bytes(struct __sk_buff *skb) {
  __u8 mac[6] = {0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
  long ok = bpf_skb_store_bytes(skb, 0, mac, sizeof(mac), BPF_F_INVALIDATE_HASH);
  __u8 ttl = 7;
  long ttl_ok = bpf_skb_store_bytes(skb, 14 + 8, &ttl, 1, 0);
  long bad_flags = bpf_skb_store_bytes(skb, 0, &ttl, 1, 4);
  long past = bpf_skb_store_bytes(skb, skb->len - 2, mac, 4, 0);
  long far = bpf_skb_store_bytes(skb, 0x80000000u, &ttl, 1, 0);
  return (ok == 0) | (ttl_ok == 0) << 1 | (bad_flags == -22) << 2 | (past == -14) << 3 | (far == -14) << 4;
}

// bpf_loop (helper 181): callbacks that read the packet through pointers
// kept in their context, stop early, nest, and call helpers and a static
// function; the results are written over the first 20 bytes of the packet.
struct loop_ctx {
  __u8 *data;
  __u8 *data_end;
  __u32 sum;
  __u32 calls;
};

static int sum_payload(__u64 index, void *arg) {
  struct loop_ctx *c = arg;
  __u8 *p = c->data + 34 + (index & 0xff);
  if (p + 1 > c->data_end) return 1; // the end of the packet: stop
  c->sum += *p;
  return 0;
}

static int stop_at_seven(__u64 index, void *arg) {
  return index == 7;
}

static __noinline int add_to(__u32 *where, __u32 by) {
  *where += by;
  return 0;
}

static int count_inner(__u64 index, void *arg) {
  struct loop_ctx *c = arg;
  add_to(&c->calls, 1);
  return 0;
}

static int count_outer(__u64 index, void *arg) {
  __u32 key = 6;
  __u64 *packets = bpf_map_lookup_elem(&proto_packets, &key);
  if (packets) __sync_fetch_and_add(packets, 100);
  bpf_loop(3, count_inner, arg, 0);
  return 0;
}

SEC("xdp")
int xdp_loops(struct xdp_md *ctx) {
  __u8 *data = (void *)(long)ctx->data;
  __u8 *data_end = (void *)(long)ctx->data_end;
  struct loop_ctx c = {.data = data, .data_end = data_end};
  long summed = bpf_loop(64, sum_payload, &c, 0);
  long stopped = bpf_loop(100, stop_at_seven, 0, 0);
  long bad_flags = bpf_loop(3, stop_at_seven, 0, 1);
  long too_many = bpf_loop((1u << 23) + 1, stop_at_seven, 0, 0);
  long most = bpf_loop(1u << 23, stop_at_seven, 0, 0);
  long nested = bpf_loop(4, count_outer, &c, 0);
  data = (void *)(long)ctx->data;
  data_end = (void *)(long)ctx->data_end;
  if (data + 28 > data_end) return XDP_ABORTED;
  __u32 *out = (__u32 *)data;
  out[0] = c.sum;
  out[1] = summed;
  out[2] = stopped;
  out[3] = bad_flags;
  out[4] = too_many;
  out[5] = most;
  out[6] = nested | c.calls << 8;
  return XDP_PASS;
}

// bpf_skb_load_bytes_relative from a socket filter, whose data starts at the
// network header: the Ethernet type from the MAC header, the IPv4 protocol
// from the network header, and the errors (-EFAULT, buffer zeroed): an
// unknown start, an offset past 0xffff, bytes past the end.
SEC("socket")
int sock_load_relative(struct __sk_buff *skb) {
  __u16 eth_type = 0;
  __u8 proto = 0, bad = 0xff;
  long mac = bpf_skb_load_bytes_relative(skb, 12, &eth_type, 2, BPF_HDR_START_MAC);
  long net = bpf_skb_load_bytes_relative(skb, 9, &proto, 1, BPF_HDR_START_NET);
  long start = bpf_skb_load_bytes_relative(skb, 0, &bad, 1, 2);
  long far = bpf_skb_load_bytes_relative(skb, 0x10000, &bad, 1, BPF_HDR_START_MAC);
  long past = bpf_skb_load_bytes_relative(skb, skb->len, &bad, 1, BPF_HDR_START_NET);
  return (bpf_ntohs(eth_type) << 16 | proto << 8) | (mac == 0) | (net == 0) << 1 | (start == -14) << 2 |
         (far == -14) << 3 | (past == -14) << 4 | (bad == 0) << 5;
}

// The current task's helpers, test-run as a raw tracepoint in the caller's
// thread: the values go to global variables for the test to check.
__u64 current_pid_tgid = 0;
__u64 current_uid_gid = 0;
char current_comm[16] = {};

SEC("raw_tp/sys_enter")
int raw_current(void *ctx) {
  current_pid_tgid = bpf_get_current_pid_tgid();
  current_uid_gid = bpf_get_current_uid_gid();
  bpf_get_current_comm(current_comm, sizeof(current_comm));
  return 0;
}

// bpf_skb_pull_data from tc: all of the packet (0 and its length), then one
// byte past it (-ENOMEM); the pointers read again after it still reach the
// first byte.
SEC("tc")
int tc_pull_data(struct __sk_buff *skb) {
  long all = bpf_skb_pull_data(skb, 0);
  long len = bpf_skb_pull_data(skb, skb->len);
  long past = bpf_skb_pull_data(skb, skb->len + 1);
  void *data = (void *)(long)skb->data;
  void *data_end = (void *)(long)skb->data_end;
  if (data + 1 > data_end) return TC_ACT_SHOT;
  return (all == 0) | (len == 0) << 1 | (past == -12) << 2 | *(__u8 *)data << 8;
}

// A destination NAT from tc: the IPv4 destination becomes 192.168.1.1, the
// TTL 9, and the IP and TCP checksums are fixed up with
// bpf_l3/l4_csum_replace (4-byte, 2-byte and difference forms); then the
// error cases, and BPF_F_MARK_MANGLED_0 on a zero checksum with and without
// BPF_F_MARK_ENFORCE. Bit n of the result: case n did what the kernel does.
SEC("tc")
int tc_nat(struct __sk_buff *skb) {
  __u32 old_daddr = 0, new_daddr = bpf_htonl(0xc0a80101);
  if (bpf_skb_load_bytes(skb, 30, &old_daddr, 4)) return TC_ACT_SHOT;
  long r0 = bpf_l4_csum_replace(skb, 50, old_daddr, new_daddr, BPF_F_PSEUDO_HDR | 4);
  long r1 = bpf_l3_csum_replace(skb, 24, old_daddr, new_daddr, 4);
  bpf_skb_store_bytes(skb, 30, &new_daddr, 4, 0);
  __u16 old_word = 0;
  bpf_skb_load_bytes(skb, 22, &old_word, 2);
  __u16 new_word = (old_word & bpf_htons(0x00ff)) | bpf_htons(9 << 8);
  long r2 = bpf_l3_csum_replace(skb, 24, old_word, new_word, 2);
  bpf_skb_store_bytes(skb, 22, &new_word, 2, 0);
  __u32 seed = 0x01020304, other = 0x0a0b0c0d;
  __s64 diff = bpf_csum_diff(&seed, 4, &other, 4, 0);
  long r3 = bpf_l4_csum_replace(skb, 50, 0, diff, BPF_F_IPV6);
  long r4 = bpf_l3_csum_replace(skb, 25, 0, 0, 2);                // odd offset
  long r5 = bpf_l3_csum_replace(skb, 24, 0, 0, 3);                // no such size
  long r6 = bpf_l3_csum_replace(skb, 24, 1, 0, 0);                // a difference with a from
  long r7 = bpf_l4_csum_replace(skb, 50, 0, 0, 1 << 8);           // unknown flag
  long r8 = bpf_l4_csum_replace(skb, skb->len, 0, 0, 2);          // past the end
  __u16 zero = 0;
  bpf_skb_store_bytes(skb, 40, &zero, 2, 0);
  long r9 = bpf_l4_csum_replace(skb, 40, 1, 2, BPF_F_MARK_MANGLED_0 | 2);
  __u16 after_mm = 0xffff;
  bpf_skb_load_bytes(skb, 40, &after_mm, 2);
  long r10 = bpf_l4_csum_replace(skb, 40, 0, 0xffff, BPF_F_MARK_MANGLED_0 | BPF_F_MARK_ENFORCE);
  return (r0 == 0) | (r1 == 0) << 1 | (r2 == 0) << 2 | (r3 == 0) << 3 | (r4 == -14) << 4 | (r5 == -22) << 5 |
         (r6 == -22) << 6 | (r7 == -22) << 7 | (r8 == -14) << 8 | (r9 == 0 && after_mm == 0) << 9 |
         (r10 == 0) << 10;
}

// skb->tc_index is 16 bits in the kernel's sk_buff: a write keeps the low
// half, which a read gives back (0x12345 reads as 0x2345). The empty asm
// makes clang read the field again instead of reusing what it stored.
SEC("tc")
int tc_index_width(struct __sk_buff *skb) {
  skb->tc_index = 0x12345;
  asm volatile("" ::: "memory");
  __u32 first = skb->tc_index;
  skb->tc_index = skb->len | 0x70000;
  asm volatile("" ::: "memory");
  return (first & 0xfffff) << 12 | (skb->tc_index & 0xfff);
}

// The arguments of the redirect and tail programs below come from the
// packet, so one program covers every case: a little-endian u64 at offset
// 34 (right after the IPv4 header), a u32 at offset 42.
static __always_inline int packet_args(void *data, void *data_end, __u64 *a, __u32 *b) {
  if (data + 46 > data_end) return -1;
  *a = *(__u64 *)(data + 34);
  *b = *(__u32 *)(data + 42);
  return 0;
}

// bpf_redirect from XDP: flags (offset 34) and ifindex (offset 42) from the
// packet; the verdict is the helper's (XDP_REDIRECT, or XDP_ABORTED for any
// flag). The test run reports it and sends nothing.
SEC("xdp")
int xdp_redirect_args(struct xdp_md *ctx) {
  __u64 flags;
  __u32 ifindex;
  if (packet_args((void *)(long)ctx->data, (void *)(long)ctx->data_end, &flags, &ifindex)) return XDP_DROP;
  return bpf_redirect(ifindex, flags);
}

// bpf_redirect from tc: TC_ACT_REDIRECT (flags 0 or BPF_F_INGRESS), else TC_ACT_SHOT.
SEC("tc")
int tc_redirect_args(struct __sk_buff *skb) {
  __u64 flags;
  __u32 ifindex;
  if (packet_args((void *)(long)skb->data, (void *)(long)skb->data_end, &flags, &ifindex)) return TC_ACT_OK;
  return bpf_redirect(ifindex, flags);
}

// bpf_xdp_adjust_tail by the s32 at offset 34, then (when not 0) by the
// s32 at offset 38: XDP_TX when it worked, with 0x5a written into the new
// last byte (a grown tail is zeroed: shrinking then growing back clears
// what was there); 100 + errno when the first failed, 200 + errno the second.
SEC("xdp")
int xdp_tail_args(struct xdp_md *ctx) {
  __u64 arg;
  __u32 unused;
  if (packet_args((void *)(long)ctx->data, (void *)(long)ctx->data_end, &arg, &unused)) return XDP_DROP;
  long err = bpf_xdp_adjust_tail(ctx, (int)arg);
  if (err) return 100 - (int)err;
  int second = (int)(arg >> 32);
  if (second) {
    err = bpf_xdp_adjust_tail(ctx, second);
    if (err) return 200 - (int)err;
  }
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  __u32 len = (__u32)(data_end - data) & 0xfff;
  if (len == 0) return XDP_ABORTED;
  __u8 *last = data + (len - 1);
  if ((void *)(last + 1) > data_end) return XDP_ABORTED;
  *last = 0x5a;
  return XDP_TX;
}

// bpf_xdp_get_buff_len, bpf_xdp_load_bytes and bpf_xdp_store_bytes: the
// destination MAC copied over the source, the last 4 bytes read, then the
// errors: bytes past the end (-EINVAL, the buffer left alone), an offset
// past 0xffff (-EFAULT). Bit n of the low byte: case n did what the kernel
// does; the length above it.
SEC("xdp")
int xdp_bytes(struct xdp_md *ctx) {
  __u32 len = bpf_xdp_get_buff_len(ctx);
  __u8 mac[6];
  __u32 tail = 0x11111111, untouched = 0x22222222;
  long load_ok = bpf_xdp_load_bytes(ctx, 0, mac, sizeof(mac));
  long store_ok = bpf_xdp_store_bytes(ctx, 6, mac, sizeof(mac));
  long tail_ok = bpf_xdp_load_bytes(ctx, len - 4, &tail, sizeof(tail));
  long past = bpf_xdp_load_bytes(ctx, len - 3, &untouched, sizeof(untouched));
  long far = bpf_xdp_store_bytes(ctx, 0x10000, &tail, sizeof(tail));
  long store_past = bpf_xdp_store_bytes(ctx, len - 2, &tail, sizeof(tail));
  long store_end = bpf_xdp_store_bytes(ctx, len - 4, &untouched, sizeof(untouched));
  return (load_ok == 0) | (store_ok == 0) << 1 | (tail_ok == 0 && tail != 0x11111111) << 2 |
         (past == -22 && untouched == 0x22222222) << 3 | (far == -14) << 4 | (store_past == -22) << 5 |
         (store_end == 0) << 6 | len << 8;
}

// bpf_for_each_map_elem (helper 164): walks of the array and hash maps the
// firewall filled (sums, which do not depend on the hash's bucket order), a
// walk that stops at key 5, flags, and a hash the program fills itself and
// then walks, deleting the odd keys (the element being visited) and
// doubling the even ones' values; the transcript dumps that map.
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16);
  __type(key, __u32);
  __type(value, __u64);
} for_each_scratch SEC(".maps");

struct bpf_map;

struct walk_ctx {
  __u64 visits;
  __u64 key_sum;
  __u64 value_sum;
};

static long sum_elem(struct bpf_map *map, __u32 *key, __u64 *value, struct walk_ctx *c) {
  c->visits++;
  c->key_sum += *key;
  c->value_sum += *value;
  return 0;
}

static long stop_at_key_5(struct bpf_map *map, __u32 *key, __u64 *value, void *c) {
  return *key == 5;
}

static long delete_odd_double_even(struct bpf_map *map, __u32 *key, __u64 *value, struct walk_ctx *c) {
  c->visits++;
  c->value_sum += *value;
  if (*key & 1)
    bpf_map_delete_elem(map, key);
  else
    *value *= 2;
  return 0;
}

// for_each_scratch[k] = k * k for k = 1..10.
static int fill_scratch(__u64 index, void *unused) {
  __u32 k = index + 1;
  __u64 v = k * k;
  bpf_map_update_elem(&for_each_scratch, &k, &v, BPF_ANY);
  return 0;
}

SEC("xdp")
int xdp_for_each(struct xdp_md *ctx) {
  struct walk_ctx array = {}, hash = {}, scratch = {}, rest = {};
  long array_n = bpf_for_each_map_elem(&proto_packets, sum_elem, &array, 0);
  long stopped = bpf_for_each_map_elem(&proto_packets, stop_at_key_5, 0, 0);
  long bad_flags = bpf_for_each_map_elem(&proto_packets, stop_at_key_5, 0, 1);
  long hash_n = bpf_for_each_map_elem(&bytes_by_daddr, sum_elem, &hash, 0);
  bpf_loop(10, fill_scratch, 0, 0);
  long scratch_n = bpf_for_each_map_elem(&for_each_scratch, delete_odd_double_even, &scratch, 0);
  long rest_n = bpf_for_each_map_elem(&for_each_scratch, sum_elem, &rest, 0);
  __u8 *data = (void *)(long)ctx->data;
  __u8 *data_end = (void *)(long)ctx->data_end;
  if (data + 48 > data_end) return XDP_ABORTED;
  __u32 *out = (__u32 *)data;
  out[0] = array_n;
  out[1] = array.visits;
  out[2] = array.key_sum;
  out[3] = array.value_sum;
  out[4] = stopped;
  out[5] = bad_flags;
  out[6] = hash_n;
  out[7] = hash.value_sum;
  out[8] = scratch_n;
  out[9] = scratch.value_sum;
  out[10] = rest_n;
  out[11] = rest.value_sum;
  return XDP_PASS;
}
