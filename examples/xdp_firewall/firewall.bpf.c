// A small XDP firewall and protocol counter: the program the main demo
// (scripts/demo.sh) loads into userbpf through libbpf and replays a packet
// capture through. It is ordinary BPF C, built with clang -target bpf, and
// loads into the kernel unchanged.
//
// For every packet: count it (packets, bytes) under its protocol in a
// per-CPU array; drop IPv4 packets whose source is in the blocklist hash
// (counting the drops per address), TCP and UDP packets to the blocked ports
// (read-only settings the loader fills in before loading), and packets too
// short for the headers they announce; pass the rest.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "firewall.h"

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, PROTO_COUNT);
  __type(key, __u32);
  __type(value, struct proto_counter);
} proto_stats SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, __u32);   // IPv4 source address, network byte order
  __type(value, __u64); // packets dropped from it
} blocklist SEC(".maps");

// Settings (.rodata: the loader sets them before load; frozen after).
const volatile __u16 blocked_tcp_port = 0; // host byte order; 0: none
const volatile __u16 blocked_udp_port = 0;

// Totals (.bss, read by the loader through the mmap-ed map).
__u64 dropped_by_port = 0;
__u64 malformed = 0;

static __always_inline void count(__u32 proto, __u64 bytes) {
  struct proto_counter *c = bpf_map_lookup_elem(&proto_stats, &proto);
  if (c) {
    c->packets++;
    c->bytes += bytes;
  }
}

// The verdict for a transport header at l4 (protocol `ip_proto`).
static __always_inline int check_ports(void *l4, void *end, __u8 ip_proto) {
  if (ip_proto == IPPROTO_TCP) {
    struct tcphdr *tcp = l4;
    if ((void *)(tcp + 1) > end) goto short_packet;
    if (blocked_tcp_port && tcp->dest == bpf_htons(blocked_tcp_port)) goto blocked;
  } else if (ip_proto == IPPROTO_UDP) {
    struct udphdr *udp = l4;
    if ((void *)(udp + 1) > end) goto short_packet;
    if (blocked_udp_port && udp->dest == bpf_htons(blocked_udp_port)) goto blocked;
  }
  return XDP_PASS;
blocked:
  __sync_fetch_and_add(&dropped_by_port, 1);
  return XDP_DROP;
short_packet:
  __sync_fetch_and_add(&malformed, 1);
  return XDP_DROP;
}

SEC("xdp")
int firewall(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *end = (void *)(long)ctx->data_end;
  __u64 bytes = end - data;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > end) {
    count(PROTO_OTHER, bytes);
    __sync_fetch_and_add(&malformed, 1);
    return XDP_DROP;
  }
  __u16 type = bpf_ntohs(eth->h_proto);
  if (type == ETH_P_IP) {
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > end || ip->ihl < 5) {
      count(PROTO_OTHER, bytes);
      __sync_fetch_and_add(&malformed, 1);
      return XDP_DROP;
    }
    __u8 proto = ip->protocol;
    count(proto == IPPROTO_TCP ? PROTO_TCP4 : proto == IPPROTO_UDP ? PROTO_UDP4
                                            : proto == IPPROTO_ICMP ? PROTO_ICMP4 : PROTO_OTHER4,
          bytes);
    __u32 saddr = ip->saddr;
    __u64 *drops = bpf_map_lookup_elem(&blocklist, &saddr);
    if (drops) {
      __sync_fetch_and_add(drops, 1);
      return XDP_DROP;
    }
    return check_ports((void *)ip + ip->ihl * 4, end, proto);
  }
  if (type == ETH_P_IPV6) {
    struct ipv6hdr *ip6 = (void *)(eth + 1);
    if ((void *)(ip6 + 1) > end) {
      count(PROTO_OTHER, bytes);
      __sync_fetch_and_add(&malformed, 1);
      return XDP_DROP;
    }
    __u8 next = ip6->nexthdr;
    count(next == IPPROTO_TCP ? PROTO_TCP6 : next == IPPROTO_UDP ? PROTO_UDP6
                                           : next == IPPROTO_ICMPV6 ? PROTO_ICMP6 : PROTO_OTHER6,
          bytes);
    return check_ports(ip6 + 1, end, next);
  }
  count(type == ETH_P_ARP ? PROTO_ARP : PROTO_OTHER, bytes);
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
