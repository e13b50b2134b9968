// What the firewall program (firewall.bpf.c) and its loader (replay.cpp)
// share: the slots of the per-protocol counters and their value.
#ifndef USERBPF_EXAMPLE_FIREWALL_H
#define USERBPF_EXAMPLE_FIREWALL_H

enum proto_slot {
  PROTO_TCP4,
  PROTO_UDP4,
  PROTO_ICMP4,
  PROTO_OTHER4,
  PROTO_TCP6,
  PROTO_UDP6,
  PROTO_ICMP6,
  PROTO_OTHER6,
  PROTO_ARP,
  PROTO_OTHER,
  PROTO_COUNT
};

struct proto_counter {
  __u64 packets;
  __u64 bytes;
};

#endif
