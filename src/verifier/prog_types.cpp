#include "verifier/prog_types.h"

#include <cstddef>
#include <linux/bpf.h>

namespace userbpf::verifier {

namespace {

#define FIELD_END(type, field) (offsetof(type, field) + sizeof(((type *)nullptr)->field))
// off falls inside [offsetof(field), end of field)
#define IN_FIELD(type, field, off) ((off) >= int(offsetof(type, field)) && (off) < int(FIELD_END(type, field)))
#define IN_FIELDS(type, first, last, off) ((off) >= int(offsetof(type, first)) && (off) < int(FIELD_END(type, last)))

// bpf_skb_is_valid_access: the part common to every skb program type.
CtxField skb_access(int off, int size, bool write) {
  const int size_default = 4;
  if (off < 0 || off >= int(sizeof(struct __sk_buff))) return CtxField::kInvalid;
  if (off % size != 0) return CtxField::kInvalid;
  if (IN_FIELDS(__sk_buff, cb[0], cb[4], off)) {
    if (off + size > int(FIELD_END(__sk_buff, cb[4]))) return CtxField::kInvalid;
    return CtxField::kScalar;
  }
  if (IN_FIELDS(__sk_buff, remote_ip6[0], remote_ip6[3], off) || IN_FIELDS(__sk_buff, local_ip6[0], local_ip6[3], off) ||
      IN_FIELD(__sk_buff, remote_ip4, off) || IN_FIELD(__sk_buff, local_ip4, off)) {
    return size == size_default ? CtxField::kScalar : CtxField::kInvalid;
  }
  if (IN_FIELD(__sk_buff, data, off)) return size == size_default ? CtxField::kPacket : CtxField::kInvalid;
  if (IN_FIELD(__sk_buff, data_meta, off)) return size == size_default ? CtxField::kPacketMeta : CtxField::kInvalid;
  if (IN_FIELD(__sk_buff, data_end, off)) return size == size_default ? CtxField::kPacketEnd : CtxField::kInvalid;
  if (IN_FIELD(__sk_buff, flow_keys, off)) return CtxField::kInvalid;
  if (IN_FIELD(__sk_buff, hwtstamp, off)) return (write || size != 8) ? CtxField::kInvalid : CtxField::kScalar;
  if (IN_FIELD(__sk_buff, tstamp, off)) return size != 8 ? CtxField::kInvalid : CtxField::kScalar;
  if (off == int(offsetof(__sk_buff, sk))) return (write || size != 8) ? CtxField::kInvalid : CtxField::kSockOrNull;
  if (off == int(offsetof(__sk_buff, tstamp_type))) return CtxField::kInvalid;
  if (off > int(offsetof(__sk_buff, tstamp_type)) && off < int(offsetof(__sk_buff, hwtstamp)))
    return CtxField::kInvalid; // padding
  if (write) return size == size_default ? CtxField::kScalar : CtxField::kInvalid;
  // Narrow reads of a 4-byte field: power-of-two sizes up to 4.
  if (size > size_default || (size & (size - 1)) != 0) return CtxField::kInvalid;
  return CtxField::kScalar;
}

// sk_filter_is_valid_access
CtxField socket_filter_access(int off, int size, bool write, const Options &) {
  if (IN_FIELD(__sk_buff, tc_classid, off) || IN_FIELD(__sk_buff, data, off) || IN_FIELD(__sk_buff, data_meta, off) ||
      IN_FIELD(__sk_buff, data_end, off) || IN_FIELDS(__sk_buff, family, local_port, off) ||
      IN_FIELD(__sk_buff, tstamp, off) || IN_FIELD(__sk_buff, wire_len, off) || IN_FIELD(__sk_buff, hwtstamp, off))
    return CtxField::kInvalid;
  if (write && !IN_FIELDS(__sk_buff, cb[0], cb[4], off)) return CtxField::kInvalid;
  return skb_access(off, size, write);
}

// tc_cls_act_is_valid_access (SCHED_CLS, SCHED_ACT)
CtxField tc_cls_act_access(int off, int size, bool write, const Options &) {
  if (write && !(IN_FIELD(__sk_buff, mark, off) || IN_FIELD(__sk_buff, tc_index, off) ||
                 IN_FIELD(__sk_buff, priority, off) || IN_FIELD(__sk_buff, tc_classid, off) ||
                 IN_FIELDS(__sk_buff, cb[0], cb[4], off) || off == int(offsetof(__sk_buff, tstamp)) ||
                 off == int(offsetof(__sk_buff, queue_mapping))))
    return CtxField::kInvalid;
  if (IN_FIELDS(__sk_buff, family, local_port, off)) return CtxField::kInvalid;
  if (write && off == int(offsetof(__sk_buff, tc_index))) {
    const CtxField f = skb_access(off, size, write);
    return f == CtxField::kScalar ? CtxField::kScalar16 : f;
  }
  // tc may read the timestamp's type (a byte); the other types may not.
  if (off == int(offsetof(__sk_buff, tstamp_type))) return size == 1 ? CtxField::kScalar : CtxField::kInvalid;
  return skb_access(off, size, write);
}

// cg_skb_is_valid_access (the loader has CAP_BPF, which data, data_end and
// tstamp writes need)
CtxField cg_skb_access(int off, int size, bool write, const Options &) {
  if (IN_FIELD(__sk_buff, tc_classid, off) || IN_FIELD(__sk_buff, data_meta, off) || IN_FIELD(__sk_buff, wire_len, off))
    return CtxField::kInvalid;
  if (write && !(IN_FIELD(__sk_buff, mark, off) || IN_FIELD(__sk_buff, priority, off) ||
                 IN_FIELDS(__sk_buff, cb[0], cb[4], off) || IN_FIELD(__sk_buff, tstamp, off)))
    return CtxField::kInvalid;
  return skb_access(off, size, write);
}

// xdp_is_valid_access (not offloaded)
CtxField xdp_access(int off, int size, bool write, const Options &options) {
  if (options.expected_attach_type != BPF_XDP_DEVMAP && off == int(offsetof(xdp_md, egress_ifindex)))
    return CtxField::kInvalid;
  if (write) return CtxField::kInvalid;
  if (off < 0 || off >= int(sizeof(xdp_md)) || off % size != 0 || size != 4) return CtxField::kInvalid;
  if (off == int(offsetof(xdp_md, data))) return CtxField::kPacket;
  if (off == int(offsetof(xdp_md, data_meta))) return CtxField::kPacketMeta;
  if (off == int(offsetof(xdp_md, data_end))) return CtxField::kPacketEnd;
  return CtxField::kScalar;
}

// kprobe_prog_is_valid_access: struct pt_regs, read only, aligned.
CtxField kprobe_access(int off, int size, bool write, const Options &) {
  constexpr int kPtRegsSize = 21 * 8; // sizeof(struct pt_regs), x86-64
  if (off < 0 || off >= kPtRegsSize || write || off % size != 0 || off + size > kPtRegsSize) return CtxField::kInvalid;
  return CtxField::kScalar;
}

// tp_prog_is_valid_access: the trace event's record past its 8 bytes of
// common fields, up to PERF_MAX_TRACE_SIZE, read only, aligned.
CtxField tracepoint_access(int off, int size, bool write, const Options &) {
  constexpr int kPerfMaxTraceSize = 8192;
  if (off < 8 || off >= kPerfMaxTraceSize || write || off % size != 0) return CtxField::kInvalid;
  return CtxField::kScalar;
}

// bpf_tracing_ctx_access (raw tracepoints): up to MAX_BPF_FUNC_ARGS u64
// arguments, read only, aligned.
CtxField raw_tracepoint_access(int off, int size, bool write, const Options &) {
  constexpr int kArgsSize = 12 * 8;
  if (off < 0 || off >= kArgsSize || write || off % size != 0) return CtxField::kInvalid;
  return CtxField::kScalar;
}

// pe_prog_is_valid_access: struct bpf_perf_event_data, read only; the
// registers as whole longs, sample_period and addr also narrower.
CtxField perf_event_access(int off, int size, bool write, const Options &) {
  constexpr int kRegsSize = 21 * 8, kDataSize = kRegsSize + 16;
  if (off < 0 || off >= kDataSize || write || off % size != 0) return CtxField::kInvalid;
  if (off >= kRegsSize) return (size & (size - 1)) == 0 && size <= 8 ? CtxField::kScalar : CtxField::kInvalid;
  return size == 8 ? CtxField::kScalar : CtxField::kInvalid;
}

// syscall_prog_is_valid_access: the caller's buffer (test run ctx_in), read
// and write, aligned, below 64 KiB.
CtxField syscall_access(int off, int size, bool, const Options &) {
  if (off < 0 || off >= 0xffff || off % size != 0) return CtxField::kInvalid;
  return CtxField::kScalar;
}

// The memory program's context is not a structure: r1 points at plain
// memory (checked as PTR_TO_MEM), so no field access goes through here.
CtxField memory_access(int, int, bool, const Options &) { return CtxField::kInvalid; }

const ProgTypeInfo kSocketFilter{"socket_filter", socket_filter_access, false, sizeof(__sk_buff)};
const ProgTypeInfo kSchedCls{"sched_cls", tc_cls_act_access, true, sizeof(__sk_buff)};
const ProgTypeInfo kSchedAct{"sched_act", tc_cls_act_access, true, sizeof(__sk_buff)};
// may_access_direct_pkt_data: cgroup skb programs read the packet, never write it.
const ProgTypeInfo kCgroupSkb{"cgroup_skb", cg_skb_access, false, sizeof(__sk_buff)};
const ProgTypeInfo kXdp{"xdp", xdp_access, true, sizeof(xdp_md)};
const ProgTypeInfo kKprobe{"kprobe", kprobe_access, false};
const ProgTypeInfo kTracepoint{"tracepoint", tracepoint_access, false};
const ProgTypeInfo kRawTracepoint{"raw_tracepoint", raw_tracepoint_access, false};
const ProgTypeInfo kPerfEvent{"perf_event", perf_event_access, false};
const ProgTypeInfo kSyscall{"syscall", syscall_access, false};
const ProgTypeInfo kMemory{"memory", memory_access, false};

// Helper ids by group (enum bpf_func_id).
enum : int32_t {
  kMapLookupElem = 1, kMapUpdateElem = 2, kMapDeleteElem = 3, kKtimeGetNs = 5, kTracePrintk = 6,
  kGetPrandomU32 = 7, kGetSmpProcessorId = 8, kSkbStoreBytes = 9, kL3CsumReplace = 10, kL4CsumReplace = 11,
  kTailCall = 12, kGetCurrentPidTgid = 14,
  kGetCurrentUidGid = 15, kGetCurrentComm = 16, kRedirect = 23, kSkbLoadBytes = 26, kCsumDiff = 28, kSkbPullData = 39,
  kGetNumaNodeId = 42, kXdpAdjustHead = 44, kXdpAdjustMeta = 54, kXdpAdjustTail = 65, kSkbLoadBytesRelative = 68,
  kMapPushElem = 87, kMapPopElem = 88, kMapPeekElem = 89, kKtimeGetBootNs = 125, kKtimeGetCoarseNs = 160,
  kStrncmp = 182, kXdpGetBuffLen = 188,
  kXdpLoadBytes = 189, kXdpStoreBytes = 190, kMapLookupPercpuElem = 195, kKtimeGetTaiNs = 208,
};

} // namespace

const ProgTypeInfo *prog_type_info(uint32_t prog_type) {
  switch (prog_type) {
  case BPF_PROG_TYPE_SOCKET_FILTER: return &kSocketFilter;
  case BPF_PROG_TYPE_SCHED_CLS: return &kSchedCls;
  case BPF_PROG_TYPE_SCHED_ACT: return &kSchedAct;
  case BPF_PROG_TYPE_CGROUP_SKB: return &kCgroupSkb;
  case BPF_PROG_TYPE_XDP: return &kXdp;
  case BPF_PROG_TYPE_KPROBE: return &kKprobe;
  case BPF_PROG_TYPE_TRACEPOINT: return &kTracepoint;
  case BPF_PROG_TYPE_RAW_TRACEPOINT: return &kRawTracepoint;
  case BPF_PROG_TYPE_PERF_EVENT: return &kPerfEvent;
  case BPF_PROG_TYPE_SYSCALL: return &kSyscall;
  case kProgTypeMemory: return &kMemory;
  default: return nullptr;
  }
}

bool helper_allowed(uint32_t prog_type, const helpers::HelperProto &proto, const Privilege &privilege) {
  // Type-specific helpers first (sk_filter_func_proto, xdp_func_proto) ...
  if (proto.id == kCsumDiff)
    return prog_type == BPF_PROG_TYPE_XDP || prog_type == BPF_PROG_TYPE_SCHED_CLS || prog_type == BPF_PROG_TYPE_SCHED_ACT;
  if (proto.id == kXdpAdjustHead || proto.id == kXdpAdjustMeta || proto.id == kXdpAdjustTail ||
      proto.id == kXdpGetBuffLen || proto.id == kXdpLoadBytes || proto.id == kXdpStoreBytes)
    return prog_type == BPF_PROG_TYPE_XDP;
  if (proto.id == kRedirect) // xdp_func_proto and tc_cls_act_func_proto, each with its own function
    return prog_type == BPF_PROG_TYPE_XDP || prog_type == BPF_PROG_TYPE_SCHED_CLS || prog_type == BPF_PROG_TYPE_SCHED_ACT;
  if (proto.id == kSkbStoreBytes || proto.id == kSkbPullData || proto.id == kL3CsumReplace ||
      proto.id == kL4CsumReplace) // tc_cls_act_func_proto
    return prog_type == BPF_PROG_TYPE_SCHED_CLS || prog_type == BPF_PROG_TYPE_SCHED_ACT;
  if (proto.id == kSkbLoadBytes || proto.id == kSkbLoadBytesRelative) // sk_filter_func_proto (cg_skb's falls back to it), tc_cls_act_func_proto
    return prog_type == BPF_PROG_TYPE_SOCKET_FILTER || prog_type == BPF_PROG_TYPE_CGROUP_SKB ||
           prog_type == BPF_PROG_TYPE_SCHED_CLS || prog_type == BPF_PROG_TYPE_SCHED_ACT;
  // ... then bpf_base_func_proto: the map, time and random helpers for
  // everyone, the tracing ones only with CAP_PERFMON.
  if (proto.needs_perfmon) return privilege.allow_ptr_leaks;
  switch (proto.id) {
  case kMapLookupElem: case kMapUpdateElem: case kMapDeleteElem: case kKtimeGetNs:
  case kGetPrandomU32: case kGetSmpProcessorId: case kGetNumaNodeId: case kKtimeGetBootNs: case kKtimeGetTaiNs:
  case kGetCurrentPidTgid: case kGetCurrentUidGid: case kGetCurrentComm:
  case kMapPushElem: case kMapPopElem: case kMapPeekElem: case kMapLookupPercpuElem: case kKtimeGetCoarseNs:
  case kStrncmp:
    return true;
  case kTailCall: // the kernel's types all have it; the memory type has no context to pass on
    return prog_type != kProgTypeMemory;
  case helpers::kLoopHelper: // bpf_base_func_proto's CAP_BPF group
  case helpers::kForEachMapElemHelper:
    return privilege.bpf_capable;
  default:
    return false;
  }
}

int ctx_pointer_offset(const ProgTypeInfo &type, CtxField field) {
  const int base = static_cast<int>(ctx_packet_pointers_offset(type.ctx_size));
  switch (field) {
  case CtxField::kPacket: return base + int(offsetof(CtxPacketPointers, data));
  case CtxField::kPacketEnd: return base + int(offsetof(CtxPacketPointers, data_end));
  case CtxField::kPacketMeta: return base + int(offsetof(CtxPacketPointers, data_meta));
  default: return -1;
  }
}

} // namespace userbpf::verifier
