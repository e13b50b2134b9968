// Reading a pcap capture, kept apart from replay.cpp: libpcap's headers
// declare the classic-BPF struct bpf_insn, which <linux/bpf.h> declares too.
#pragma once

#include <cstdint>
#include <string>

class Capture {
 public:
  // Opens an Ethernet capture; false with *error saying why.
  bool open(const char *path, std::string *error);
  ~Capture();
  // The next packet: 1, 0 at the end, -1 on a read error (error() says why).
  int next(const uint8_t **data, uint32_t *len);
  std::string error() const;
  // How far into the file reading is, 0..1 (for a progress bar).
  double fraction_read() const;

 private:
  void *pcap_ = nullptr;
  long size_ = 0;
};
