#include "prog/program.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <atomic>
#include <memory>

#include <userbpf/userbpf.hpp>

#include "object/handle.h"
#include "object/store.h"

namespace userbpf {
namespace {

// 0: not decided yet; else 1 + LoaderPrivilege.
std::atomic<int> g_privilege{0};

// 0: not decided yet; else 1 + ExecutionEngine / 1 + JitHarden.
std::atomic<int> g_engine{0};
std::atomic<int> g_harden{0};

int engine_from_env() {
  const char *env = getenv("USERBPF_JIT");
  bool jit = vm::default_engine() == vm::Engine::kJit;
  if (env && strcmp(env, "0") == 0) jit = false;
  if (env && strcmp(env, "1") == 0 && vm::jit_supported()) jit = true;
  return 1 + static_cast<int>(jit ? ExecutionEngine::kJit : ExecutionEngine::kInterpreter);
}

int harden_from_env() {
  const char *env = getenv("USERBPF_JIT_HARDEN");
  JitHarden h = JitHarden::kOff;
  if (env && strcmp(env, "1") == 0) h = JitHarden::kUnprivileged;
  if (env && strcmp(env, "2") == 0) h = JitHarden::kAll;
  return 1 + static_cast<int>(h);
}

// The value of a process-wide setting: the environment's at first use, unless
// a setter came first (a concurrent setter wins).
int setting(std::atomic<int> &slot, int (*from_env)()) {
  int v = slot.load();
  if (v == 0) {
    int expected = 0;
    slot.compare_exchange_strong(expected, from_env());
    v = slot.load();
  }
  return v - 1;
}

int privilege_from_env() {
  const char *env = getenv("USERBPF_UNPRIVILEGED");
  bool unpriv = env && strcmp(env, "1") == 0;
  return 1 + static_cast<int>(unpriv ? LoaderPrivilege::kUnprivileged : LoaderPrivilege::kPrivileged);
}

constexpr uint8_t kLdImm64 = BPF_LD | BPF_IMM | BPF_DW;

// SHA-256 (FIPS 180-4) of a byte string.
void sha256(const uint8_t *data, size_t len, uint8_t out[32]) {
  static const uint32_t k[64] = {
      0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
      0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
      0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
      0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
      0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
      0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
      0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
      0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
  uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  auto ror = [](uint32_t x, int n) { return (x >> n) | (x << (32 - n)); };
  // The message, its 0x80 marker, zero padding and the bit length, in 64-byte blocks.
  std::vector<uint8_t> msg(data, data + len);
  msg.push_back(0x80);
  while (msg.size() % 64 != 56) msg.push_back(0);
  uint64_t bits = static_cast<uint64_t>(len) * 8;
  for (int i = 7; i >= 0; i--) msg.push_back(static_cast<uint8_t>(bits >> (i * 8)));
  for (size_t block = 0; block < msg.size(); block += 64) {
    uint32_t w[64];
    for (int i = 0; i < 16; i++) {
      const uint8_t *p = &msg[block + static_cast<size_t>(i) * 4];
      w[i] = uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3];
    }
    for (int i = 16; i < 64; i++) {
      uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
      uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
      uint32_t t1 = hh + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i];
      uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      hh = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
  }
  for (int i = 0; i < 8; i++)
    for (int j = 0; j < 4; j++) out[i * 4 + j] = static_cast<uint8_t>(h[i] >> (24 - j * 8));
}

} // namespace

void prog_calc_tag(const vm::RawInsn *insns, size_t count, uint8_t tag[BPF_TAG_SIZE]) {
  std::vector<vm::RawInsn> dst(insns, insns + count);
  bool was_ld_map = false;
  for (vm::RawInsn &r : dst) {
    if (!was_ld_map && r.code == kLdImm64 && (r.src == BPF_PSEUDO_MAP_FD || r.src == BPF_PSEUDO_MAP_VALUE)) {
      was_ld_map = true;
      r.imm = 0;
    } else if (was_ld_map && r.code == 0 && r.dst == 0 && r.src == 0 && r.off == 0) {
      was_ld_map = false;
      r.imm = 0;
    } else {
      was_ld_map = false;
    }
  }
  uint8_t digest[32];
  sha256(reinterpret_cast<const uint8_t *>(dst.data()), dst.size() * sizeof(vm::RawInsn), digest);
  memcpy(tag, digest, BPF_TAG_SIZE);
}

void set_loader_privilege(LoaderPrivilege privilege) {
  g_privilege.store(1 + static_cast<int>(privilege));
}

LoaderPrivilege loader_privilege() { return static_cast<LoaderPrivilege>(setting(g_privilege, privilege_from_env)); }

int set_execution_engine(ExecutionEngine engine) {
  if (engine == ExecutionEngine::kJit && !vm::jit_supported()) return -EOPNOTSUPP;
  g_engine.store(1 + static_cast<int>(engine));
  return 0;
}

ExecutionEngine execution_engine() { return static_cast<ExecutionEngine>(setting(g_engine, engine_from_env)); }

void set_jit_harden(JitHarden harden) { g_harden.store(1 + static_cast<int>(harden)); }

JitHarden jit_harden() { return static_cast<JitHarden>(setting(g_harden, harden_from_env)); }

vm::ProgramOptions runtime_program_options() {
  vm::ProgramOptions options;
  options.engine = execution_engine() == ExecutionEngine::kJit ? vm::Engine::kJit : vm::Engine::kInterpreter;
  // bpf_jit_harden: 2 blinds every program, 1 those of untrusted loaders.
  // The program object does not record its loader's privilege: the process's
  // setting at the time its run-time form is built stands for it.
  JitHarden harden = jit_harden();
  options.jit.blind_constants = harden == JitHarden::kAll ||
                                (harden == JitHarden::kUnprivileged &&
                                 loader_privilege() == LoaderPrivilege::kUnprivileged);
  return options;
}

verifier::Privilege loader_verifier_privilege() {
  return loader_privilege() == LoaderPrivilege::kUnprivileged ? verifier::Privilege::unprivileged()
                                                             : verifier::Privilege::privileged();
}

std::vector<vm::RawInsn> xlated_dump_form(const vm::RawInsn *raw, size_t count,
                                          const vm::DecodedProgram &accepted, const MapIdAt &map_id_at) {
  std::vector<vm::RawInsn> out(raw, raw + count);
  // Slots other than LD_IMM64 come from the accepted program when it has one
  // slot per loaded instruction (the verifier rewrote nothing's length).
  bool same_shape = accepted.insns.size() == count;
  for (size_t pc = 0; pc < count; pc++) {
    vm::RawInsn &r = out[pc];
    if (r.code == kLdImm64 && pc + 1 < count) {
      uint32_t id = map_id_at(pc);
      if (id) {
        bool value = r.src == BPF_PSEUDO_MAP_VALUE || r.src == BPF_PSEUDO_MAP_IDX_VALUE;
        int32_t off = value ? out[pc + 1].imm : 0;
        r.src = value ? BPF_PSEUDO_MAP_VALUE : BPF_PSEUDO_MAP_FD;
        r.imm = static_cast<int32_t>(id);
        out[pc + 1].imm = off;
      }
      pc++; // the second slot stays as loaded
      continue;
    }
    if (!same_shape) continue;
    const vm::Insn &d = accepted.insns[pc];
    if (d.ld_imm64_tail) continue;
    r.code = d.opcode;
    r.dst = d.dst & 0xf;
    r.src = d.src & 0xf;
    r.off = d.off;
    r.imm = d.imm;
  }
  return out;
}

int prog_create(const ProgSpec &spec) {
  if (spec.maps.size() > kMaxUsedMaps) return -E2BIG;
  // Data area: instructions, then func_info records, then line_info records.
  uint64_t insns_size = spec.insns.size() * sizeof(vm::RawInsn);
  uint64_t func_size = spec.func_info.size() * sizeof(struct bpf_func_info);
  uint64_t line_size = spec.line_info.size() * sizeof(struct bpf_line_info);
  uint64_t data_size = insns_size + func_size + line_size;
  return object_create(ObjectKind::kProg, data_size, data_size, kHeaderSize + data_size, DataPlacement::kAfterHeader,
                       kModeRead | kModeWrite,
                       [&](Object &obj) {
                         ProgHeader &ph = obj.hdr->prog;
                         ph.prog_type = spec.prog_type;
                         ph.expected_attach_type = spec.expected_attach_type;
                         ph.prog_flags = spec.prog_flags;
                         ph.gpl_compatible = spec.gpl_compatible ? 1 : 0;
                         ph.insn_cnt = static_cast<uint32_t>(spec.insns.size());
                         ph.verified_insns = spec.verified_insns;
                         ph.stack_depth = spec.stack_depth;
                         ph.max_ctx_offset = spec.max_ctx_offset;
                         memcpy(ph.name, spec.name, sizeof(ph.name));
                         memcpy(ph.tag, spec.tag, sizeof(ph.tag));
                         ph.nr_map_ids = static_cast<uint32_t>(spec.maps.size());
                         for (size_t i = 0; i < spec.maps.size(); i++) ph.map_ids[i] = spec.maps[i]->id;
                         ph.btf_id = spec.btf_id;
                         for (Object *view : spec.maps) object_view_hold(obj, *view);
                         ph.nr_func_info = static_cast<uint32_t>(spec.func_info.size());
                         ph.nr_line_info = static_cast<uint32_t>(spec.line_info.size());
                         uint8_t *data = reinterpret_cast<uint8_t *>(obj.hdr) + obj.hdr->data_offset;
                         if (insns_size) memcpy(data, spec.insns.data(), insns_size);
                         if (func_size) memcpy(data + insns_size, spec.func_info.data(), func_size);
                         if (line_size) memcpy(data + insns_size + func_size, spec.line_info.data(), line_size);
                         return 0;
                       });
}

const vm::RawInsn *prog_runtime_insns(const ObjectHeader &hdr, uint32_t *count) {
  *count = hdr.kind == ObjectKind::kProg ? hdr.prog.insn_cnt : 0;
  return reinterpret_cast<const vm::RawInsn *>(reinterpret_cast<const uint8_t *>(&hdr) + hdr.data_offset);
}

const struct bpf_func_info *prog_func_info(const ObjectHeader &hdr) {
  uint32_t count = 0;
  const vm::RawInsn *insns = prog_runtime_insns(hdr, &count);
  return reinterpret_cast<const struct bpf_func_info *>(insns + count);
}

const struct bpf_line_info *prog_line_info(const ObjectHeader &hdr) {
  return reinterpret_cast<const struct bpf_line_info *>(prog_func_info(hdr) + hdr.prog.nr_func_info);
}

namespace {

// The run-time form: the translated program and the map views it points into.
struct ProgRuntime {
  std::unique_ptr<vm::Program> program;
  std::vector<Object *> maps;
  ~ProgRuntime() {
    for (Object *m : maps) object_view_put(m);
  }
};

void free_runtime(void *p) { delete static_cast<ProgRuntime *>(p); }

int build_runtime(const Object &obj, std::unique_ptr<ProgRuntime> *out) {
  auto rt = std::make_unique<ProgRuntime>();
  uint32_t count = 0;
  const vm::RawInsn *insns = prog_runtime_insns(*obj.hdr, &count);
  vm::DecodedProgram decoded;
  std::string error;
  if (vm::decode(insns, count, &decoded, &error)) return -EINVAL;
  for (vm::Insn &insn : decoded.insns) {
    if (insn.ld_imm64_tail || (insn.pseudo != vm::Pseudo::kMapFd && insn.pseudo != vm::Pseudo::kMapValue)) continue;
    // The dump form: imm is the map id, the second slot the value offset.
    uint32_t id = static_cast<uint32_t>(insn.imm);
    Object *map = nullptr;
    for (Object *m : rt->maps)
      if (m->id == id) map = m;
    if (!map) {
      map = object_view_by_id(ObjectKind::kMap, id);
      if (!map) return -ENOENT;
      rt->maps.push_back(map);
    }
    uint64_t value = reinterpret_cast<uintptr_t>(&map->map);
    if (insn.pseudo == vm::Pseudo::kMapValue) {
      uint32_t key0 = 0;
      void *base = map->map.type == BPF_MAP_TYPE_ARRAY ? map->map.ops->lookup_elem(map->map, &key0) : nullptr;
      if (!base) return -EINVAL;
      value = reinterpret_cast<uintptr_t>(base) + static_cast<uint32_t>(insn.imm_hi);
    }
    vm::resolve_ld_imm64(insn, value);
  }
  vm::ProgramOptions options = runtime_program_options();
  options.prog_type = obj.hdr->prog.prog_type; // the helpers its type calls (bpf_redirect's two)
  if (int err = vm::Program::create(decoded, &rt->program, &error, options)) return err;
  *out = std::move(rt);
  return 0;
}

} // namespace

const vm::Program *prog_runtime(Object &obj, int *err) {
  if (obj.kind != ObjectKind::kProg) {
    *err = -EINVAL;
    return nullptr;
  }
  std::lock_guard<std::mutex> g(obj.runtime_mu);
  if (!obj.prog_runtime) {
    std::unique_ptr<ProgRuntime> rt;
    if (int e = build_runtime(obj, &rt)) {
      *err = e;
      return nullptr;
    }
    obj.prog_runtime_free = free_runtime;
    obj.prog_runtime = rt.release();
  }
  return static_cast<ProgRuntime *>(obj.prog_runtime)->program.get();
}

} // namespace userbpf
