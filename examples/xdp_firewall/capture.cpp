#include "capture.h"

#include <pcap/pcap.h>
#include <sys/stat.h>

bool Capture::open(const char *path, std::string *error) {
  char errbuf[PCAP_ERRBUF_SIZE];
  pcap_t *p = pcap_open_offline(path, errbuf);
  if (!p) {
    *error = errbuf;
    return false;
  }
  if (pcap_datalink(p) != DLT_EN10MB) {
    *error = std::string(path) + ": not an Ethernet capture (link type " + std::to_string(pcap_datalink(p)) + ")";
    pcap_close(p);
    return false;
  }
  struct stat sb;
  size_ = stat(path, &sb) == 0 ? sb.st_size : 0;
  pcap_ = p;
  return true;
}

Capture::~Capture() {
  if (pcap_) pcap_close(static_cast<pcap_t *>(pcap_));
}

int Capture::next(const uint8_t **data, uint32_t *len) {
  pcap_pkthdr *hdr;
  const u_char *bytes;
  int r = pcap_next_ex(static_cast<pcap_t *>(pcap_), &hdr, &bytes);
  if (r == 1) {
    *data = bytes;
    *len = hdr->caplen;
    return 1;
  }
  return r == PCAP_ERROR_BREAK ? 0 : -1;
}

std::string Capture::error() const { return pcap_geterr(static_cast<pcap_t *>(pcap_)); }

double Capture::fraction_read() const {
  long at = size_ > 0 ? ftell(pcap_file(static_cast<pcap_t *>(pcap_))) : -1;
  return at < 0 ? 0.0 : static_cast<double>(at) / static_cast<double>(size_);
}
