// Writes the demo's packet capture: a pcap file (Ethernet) of synthetic but
// well-formed traffic, the same every time (a fixed pseudo-random sequence):
// IPv4 TCP (web, ssh, some telnet), UDP (DNS, NTP), ICMP, IPv6 TCP/UDP/ICMPv6,
// ARP, LLDP, a few truncated IPv4 packets, and a share of packets from two
// "noisy" hosts (10.66.6.6 and 192.0.2.99) for the demo to block.
//
//   make_capture FILE [PACKETS]     (default 20000 packets)
#include <arpa/inet.h>
#include <pcap/pcap.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

// xorshift64*: a fixed sequence, so the capture is the same on every build.
struct Rng {
  uint64_t s = 0x9e3779b97f4a7c15ull;
  uint64_t next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545f4914f6cdd1dull;
  }
  uint32_t below(uint32_t n) { return static_cast<uint32_t>(next() % n); }
};

class Packet {
 public:
  void bytes(const void *p, size_t n) {
    const auto *b = static_cast<const uint8_t *>(p);
    data_.insert(data_.end(), b, b + n);
  }
  void u8(uint8_t v) { data_.push_back(v); }
  void be16(uint16_t v) { u8(static_cast<uint8_t>(v >> 8)), u8(static_cast<uint8_t>(v)); }
  void be32(uint32_t v) { be16(static_cast<uint16_t>(v >> 16)), be16(static_cast<uint16_t>(v)); }
  void zeros(size_t n) { data_.insert(data_.end(), n, 0); }
  size_t size() const { return data_.size(); }
  void set_be16(size_t at, uint16_t v) {
    data_[at] = static_cast<uint8_t>(v >> 8);
    data_[at + 1] = static_cast<uint8_t>(v);
  }
  std::vector<uint8_t> &data() { return data_; }

 private:
  std::vector<uint8_t> data_;
};

void ethernet(Packet &p, uint16_t type) {
  const uint8_t dst[6] = {0x02, 0, 0, 0, 0, 0x01}, src[6] = {0x02, 0, 0, 0, 0, 0x02};
  p.bytes(dst, 6);
  p.bytes(src, 6);
  p.be16(type);
}

// IPv4 header (no options); the total length is patched by finish_ipv4.
size_t ipv4(Packet &p, uint32_t src, uint32_t dst, uint8_t proto) {
  size_t at = p.size();
  p.u8(0x45);
  p.u8(0);
  p.be16(0); // total length, below
  p.be16(0x1234);
  p.be16(0x4000); // don't fragment
  p.u8(64);
  p.u8(proto);
  p.be16(0); // checksum: not needed by the demo
  p.be32(src);
  p.be32(dst);
  return at;
}
void finish_ipv4(Packet &p, size_t at) { p.set_be16(at + 2, static_cast<uint16_t>(p.size() - at)); }

size_t ipv6(Packet &p, uint8_t next, uint32_t host) {
  size_t at = p.size();
  p.be32(0x60000000);
  p.be16(0); // payload length, below
  p.u8(next);
  p.u8(64);
  const uint8_t prefix[8] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0}; // 2001:db8::/32
  p.bytes(prefix, 8);
  p.be32(0);
  p.be32(host);
  p.bytes(prefix, 8);
  p.be32(0);
  p.be32(1);
  return at;
}
void finish_ipv6(Packet &p, size_t at) { p.set_be16(at + 4, static_cast<uint16_t>(p.size() - at - 40)); }

void tcp(Packet &p, uint16_t sport, uint16_t dport, size_t payload) {
  p.be16(sport);
  p.be16(dport);
  p.be32(1000);
  p.be32(0);
  p.u8(0x50); // data offset 5
  p.u8(0x18); // PSH|ACK
  p.be16(65535);
  p.be16(0);
  p.be16(0);
  p.zeros(payload);
}

void udp(Packet &p, uint16_t sport, uint16_t dport, size_t payload) {
  p.be16(sport);
  p.be16(dport);
  p.be16(static_cast<uint16_t>(8 + payload));
  p.be16(0);
  p.zeros(payload);
}

void icmp_echo(Packet &p, size_t payload) {
  p.u8(8);
  p.u8(0);
  p.be16(0);
  p.be32(0x00010001);
  p.zeros(payload);
}

uint32_t addr(const char *text) {
  in_addr a;
  inet_pton(AF_INET, text, &a);
  return ntohl(a.s_addr);
}

Packet make_packet(Rng &rng) {
  static const uint32_t noisy[2] = {addr("10.66.6.6"), addr("192.0.2.99")};
  const uint32_t server = addr("10.0.0.1");
  Packet p;
  uint32_t kind = rng.below(100);
  uint32_t client = addr("10.0.1.0") + 1 + rng.below(200);
  if (rng.below(100) < 8) client = noisy[rng.below(2)];
  if (kind < 50) { // IPv4 TCP: web, ssh, telnet
    static const uint16_t ports[] = {443, 443, 443, 80, 22, 23};
    ethernet(p, 0x0800);
    size_t ip = ipv4(p, client, server, 6);
    tcp(p, static_cast<uint16_t>(32768 + rng.below(28000)), ports[rng.below(6)], rng.below(1400));
    finish_ipv4(p, ip);
  } else if (kind < 68) { // IPv4 UDP: DNS, NTP
    ethernet(p, 0x0800);
    size_t ip = ipv4(p, client, server, 17);
    udp(p, static_cast<uint16_t>(32768 + rng.below(28000)), rng.below(4) ? 53 : 123, 20 + rng.below(200));
    finish_ipv4(p, ip);
  } else if (kind < 73) { // ICMP echo
    ethernet(p, 0x0800);
    size_t ip = ipv4(p, client, server, 1);
    icmp_echo(p, 56);
    finish_ipv4(p, ip);
  } else if (kind < 85) { // IPv6 TCP/UDP
    ethernet(p, 0x86dd);
    bool is_tcp = rng.below(3) != 0;
    size_t ip = ipv6(p, is_tcp ? 6 : 17, 0x100 + rng.below(200));
    if (is_tcp) tcp(p, static_cast<uint16_t>(40000 + rng.below(20000)), 443, rng.below(1200));
    else udp(p, static_cast<uint16_t>(40000 + rng.below(20000)), 53, 30 + rng.below(100));
    finish_ipv6(p, ip);
  } else if (kind < 89) { // ICMPv6 echo
    ethernet(p, 0x86dd);
    size_t ip = ipv6(p, 58, 0x100 + rng.below(200));
    p.u8(128);
    p.u8(0);
    p.be16(0);
    p.be32(0x00010001);
    p.zeros(56);
    finish_ipv6(p, ip);
  } else if (kind < 94) { // ARP request
    ethernet(p, 0x0806);
    p.be16(1);
    p.be16(0x0800);
    p.u8(6);
    p.u8(4);
    p.be16(1);
    p.zeros(6);
    p.be32(client);
    p.zeros(6);
    p.be32(server);
  } else if (kind < 97) { // LLDP: neither IP nor ARP
    ethernet(p, 0x88cc);
    p.zeros(40);
  } else { // IPv4 cut short inside its header (a capture may hold such runts)
    ethernet(p, 0x0800);
    ipv4(p, client, server, 6);
    p.data().resize(14 + 12);
    return p;
  }
  if (p.size() < 60) p.zeros(60 - p.size()); // Ethernet minimum (without FCS)
  return p;
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: %s FILE [PACKETS]\n", argv[0]);
    return 2;
  }
  long count = argc == 3 ? strtol(argv[2], nullptr, 10) : 20000;
  if (count <= 0) {
    fprintf(stderr, "%s: PACKETS must be a positive number\n", argv[0]);
    return 2;
  }
  pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
  pcap_dumper_t *out = dead ? pcap_dump_open(dead, argv[1]) : nullptr;
  if (!out) {
    fprintf(stderr, "%s: cannot write %s: %s\n", argv[0], argv[1], dead ? pcap_geterr(dead) : "pcap_open_dead failed");
    return 1;
  }
  Rng rng;
  for (long i = 0; i < count; i++) {
    Packet p = make_packet(rng);
    pcap_pkthdr h = {};
    h.ts.tv_sec = 1700000000 + i / 1000;
    h.ts.tv_usec = static_cast<suseconds_t>((i % 1000) * 1000);
    h.caplen = h.len = static_cast<bpf_u_int32>(p.size());
    pcap_dump(reinterpret_cast<u_char *>(out), &h, p.data().data());
  }
  pcap_dump_close(out);
  pcap_close(dead);
  return 0;
}
