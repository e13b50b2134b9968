// Differential test of BPF_BTF_LOAD and the BTF commands: the kernel's bpf()
// is the oracle. Every blob — hand-built valid and corrupt ones, the BTF of
// the clang -g objects in tests/libbpf, and deterministic mutations of those —
// is loaded on both sides with a log; the verdict (fd or errno) and the whole
// log must be the same. Then the BTF commands (GET_FD_BY_ID, GET_NEXT_ID,
// OBJ_GET_INFO_BY_FD) and BTF-typed map creation are compared the same way.
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "bpf_test_util.h"
#include "btf_builder.h"
#include "private_root_env.h"

namespace {

using Blob = std::vector<uint8_t>;

struct LoadResult {
  long ret; // fd (closed) reported as 0, or -errno
  std::string log;
  uint32_t log_true_size;
};

// BPF_BTF_LOAD with the 6.18 attr (btf_log_true_size after btf_log_level).
LoadResult load(ubt::BpfFn fn, const Blob &blob, uint32_t level = 1, uint32_t log_size = 1 << 16, int *fd_out = nullptr) {
  std::vector<char> log(log_size ? log_size : 1, '\x7f');
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.btf = reinterpret_cast<uintptr_t>(blob.data());
  a.btf_size = static_cast<uint32_t>(blob.size());
  a.btf_log_level = level;
  a.btf_log_size = log_size;
  a.btf_log_buf = log_size ? reinterpret_cast<uintptr_t>(log.data()) : 0;
  long r = ubt::call(fn, BPF_BTF_LOAD, a);
  uint32_t true_size;
  memcpy(&true_size, reinterpret_cast<char *>(&a) + offsetof(union bpf_attr, btf_log_level) + 4, 4);
  LoadResult res{r, log_size && level ? std::string(log.data(), strnlen(log.data(), log.size())) : "", true_size};
  if (r >= 0) {
    if (fd_out) *fd_out = static_cast<int>(r);
    else close(static_cast<int>(r));
    res.ret = 0;
  }
  return res;
}

std::string show(const LoadResult &r) {
  std::string s = r.ret == 0 ? "ok" : std::string("errno ") + std::to_string(-r.ret);
  return s + ", log:\n" + r.log;
}

class DiffBtf : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!ubt::kernel_bpf_available(&why)) GTEST_SKIP() << why;
  }
  // The same verdict and log on both sides. Returns the kernel's verdict.
  long same(const Blob &blob, const std::string &what, uint32_t level = 1, uint32_t log_size = 1 << 16) {
    LoadResult k = load(ubt::kernel_call, blob, level, log_size);
    LoadResult u = load(ubt::userbpf_call, blob, level, log_size);
    EXPECT_EQ(k.ret, u.ret) << what << "\nkernel: " << show(k) << "\nuserbpf: " << show(u);
    EXPECT_EQ(k.log, u.log) << what;
    EXPECT_EQ(k.log_true_size, u.log_true_size) << what;
    return k.ret;
  }
};

// A BTF with every kind, as a C compiler would describe
//   struct s { int a; char b[4]; struct s *next; float f; };  ...
Blob all_kinds(ubt::BtfBuilder *out = nullptr) {
  ubt::BtfBuilder b;
  uint32_t i32 = b.int_type("int", 4, 32);
  uint32_t u8 = b.int_type("unsigned char", 1, 8, 0);
  uint32_t arr = b.array(u8, i32, 4);
  uint32_t fl = b.type(b.str("float"), BTF_KIND_FLOAT, 0, false, 4);
  // "next" points at the PTR defined right after the struct (id s + 1).
  uint32_t s_id = b.composite(BTF_KIND_STRUCT, "s", 24, {{"a", i32, 0}, {"b", arr, 32}, {"next", 6, 64}, {"f", fl, 128}});
  uint32_t ptr = b.ref(BTF_KIND_PTR, s_id);
  b.ref(BTF_KIND_TYPEDEF, s_id, "s_t");
  uint32_t cst = b.ref(BTF_KIND_CONST, i32);
  b.ref(BTF_KIND_VOLATILE, cst);
  b.ref(BTF_KIND_RESTRICT, ptr);
  b.type(b.str("e"), BTF_KIND_ENUM, 2, false, 4, {b.str("A"), 0, b.str("B"), 7});
  b.type(b.str("e64"), BTF_KIND_ENUM64, 1, false, 8, {b.str("C"), 1, 2});
  b.type(b.str("fwd"), BTF_KIND_FWD, 0, true, 0);
  uint32_t proto = b.func_proto(i32, {{"x", i32}, {"y", ptr}});
  uint32_t fn = b.func("f", proto);
  uint32_t v = b.var("g", i32);
  b.datasec(".data", 8, {{v, 0, 4}});
  b.type(b.str("tag"), BTF_KIND_DECL_TAG, 0, false, fn, {0xffffffff});
  uint32_t tt = b.ref(BTF_KIND_TYPE_TAG, i32, "user");
  b.ref(BTF_KIND_PTR, tt);
  if (out) *out = b;
  return b.build();
}

TEST_F(DiffBtf, ValidHandBuilt) {
  EXPECT_EQ(same(all_kinds(), "all kinds"), 0);
  ubt::BtfBuilder b;
  b.int_type("int", 4, 32);
  EXPECT_EQ(same(b.build(), "one int"), 0);
  EXPECT_EQ(same(b.build(), "one int, no log", 0, 0), 0);
}

TEST_F(DiffBtf, HeaderAndSections) {
  ubt::BtfBuilder b;
  b.int_type("int", 4, 32);
  Blob good = b.build();
  struct btf_header h0 = b.header();
  auto with = [&](const std::function<void(btf_header &)> &edit) {
    btf_header h = h0;
    edit(h);
    return b.build_with(h);
  };
  same(Blob(), "empty");
  same(Blob(good.begin(), good.begin() + 6), "shorter than hdr_len");
  same(with([](btf_header &h) { h.magic = 0x1234; }), "bad magic");
  same(with([](btf_header &h) { h.version = 2; }), "bad version");
  same(with([](btf_header &h) { h.flags = 1; }), "flags");
  same(with([](btf_header &h) { h.hdr_len = 1000; }), "hdr_len past the end");
  same(with([](btf_header &h) { h.type_off = 4; }), "type section gap");
  same(with([](btf_header &h) { h.type_off = 2; h.type_len -= 2; h.str_off -= 0; }), "unaligned type_off");
  same(with([](btf_header &h) { h.str_off = 0; }), "overlap");
  same(with([](btf_header &h) { h.str_len += 8; }), "too long");
  same(with([](btf_header &h) { h.str_len -= 1; }), "trailing data");
  same(with([](btf_header &h) { h.type_len = 0; h.str_off = 0; h.str_len += 16; }), "no types");
  Blob bigger_hdr = good;
  bigger_hdr.insert(bigger_hdr.begin() + sizeof(btf_header), 4, 0);
  reinterpret_cast<btf_header *>(bigger_hdr.data())->hdr_len += 4;
  same(bigger_hdr, "longer header, zero tail");
  bigger_hdr[sizeof(btf_header)] = 1;
  same(bigger_hdr, "longer header, non-zero tail");
  Blob only_hdr(good.begin(), good.begin() + sizeof(btf_header));
  same(only_hdr, "no data");
  Blob bad_str = good;
  bad_str.back() = 'x';
  same(bad_str, "string section not NUL-terminated");
  bad_str = good;
  bad_str[sizeof(btf_header) + h0.str_off] = 'x';
  same(bad_str, "string section not starting with NUL");
}

// One corrupt type after a valid int (id 1): each must fail the same way.
TEST_F(DiffBtf, KindRules) {
  struct Case {
    const char *what;
    std::function<void(ubt::BtfBuilder &, uint32_t i32)> add;
  };
  const std::vector<Case> cases = {
      {"unknown kind", [](auto &b, uint32_t) { b.type(0, 20, 0, false, 0); }},
      {"kind 0", [](auto &b, uint32_t) { b.type(0, 0, 0, false, 0); }},
      {"bad info bits", [](auto &b, uint32_t i) { b.words().insert(b.words().end(), {0u, 0x02010000u, i}); }},
      {"name offset past strings", [](auto &b, uint32_t i) { b.type(9999, BTF_KIND_PTR, 0, false, i); }},
      {"int vlen", [](auto &b, uint32_t) { b.type(b.str("x"), BTF_KIND_INT, 1, false, 4, {32}); }},
      {"int kflag", [](auto &b, uint32_t) { b.type(b.str("x"), BTF_KIND_INT, 0, true, 4, {32}); }},
      {"int data bits", [](auto &b, uint32_t) { b.type(b.str("x"), BTF_KIND_INT, 0, false, 4, {0xf0000020}); }},
      {"int 129 bits", [](auto &b, uint32_t) { b.type(b.str("x"), BTF_KIND_INT, 0, false, 32, {129}); }},
      {"int bits past size", [](auto &b, uint32_t) { b.type(b.str("x"), BTF_KIND_INT, 0, false, 2, {32}); }},
      {"int encoding", [](auto &b, uint32_t) { b.type(b.str("x"), BTF_KIND_INT, 0, false, 4, {ubt::btf_int_enc(3, 0, 32)}); }},
      {"int truncated", [](auto &b, uint32_t) { b.words().insert(b.words().end(), {0u, ubt::btf_info_enc(BTF_KIND_INT, 0, 0), 4u}); }},
      {"ptr with name", [](auto &b, uint32_t i) { b.ref(BTF_KIND_PTR, i, "p"); }},
      {"ptr vlen", [](auto &b, uint32_t i) { b.type(0, BTF_KIND_PTR, 1, false, i); }},
      {"ptr to nowhere", [](auto &b, uint32_t) { b.ref(BTF_KIND_PTR, 77); }},
      {"const kflag", [](auto &b, uint32_t i) { b.type(0, BTF_KIND_CONST, 0, true, i); }},
      {"typedef no name", [](auto &b, uint32_t i) { b.ref(BTF_KIND_TYPEDEF, i); }},
      {"typedef bad name", [](auto &b, uint32_t i) { b.ref(BTF_KIND_TYPEDEF, i, "1abc"); }},
      {"typedef of void", [](auto &b, uint32_t) { b.ref(BTF_KIND_TYPEDEF, 0, "v"); }},
      {"type tag no name", [](auto &b, uint32_t i) { b.ref(BTF_KIND_TYPE_TAG, i); }},
      {"type tag kflag", [](auto &b, uint32_t i) { b.type(b.str("attr"), BTF_KIND_TYPE_TAG, 0, true, i); }},
      {"tag after const", [](auto &b, uint32_t i) { uint32_t t = b.ref(BTF_KIND_TYPE_TAG, i, "t"); b.ref(BTF_KIND_CONST, t); }},
      {"array with name", [](auto &b, uint32_t i) { b.type(b.str("a"), BTF_KIND_ARRAY, 0, false, 0, {i, i, 2}); }},
      {"array size", [](auto &b, uint32_t i) { b.type(0, BTF_KIND_ARRAY, 0, false, 8, {i, i, 2}); }},
      {"array elem void", [](auto &b, uint32_t i) { b.array(0, i, 2); }},
      {"array index void", [](auto &b, uint32_t i) { b.array(i, 0, 2); }},
      {"array index ptr", [](auto &b, uint32_t i) { uint32_t p = b.ref(BTF_KIND_PTR, i); b.array(i, p, 2); }},
      {"array overflow", [](auto &b, uint32_t i) { b.array(i, i, 0x40000001); }},
      {"array of fwd", [](auto &b, uint32_t i) { uint32_t f = b.type(b.str("f"), BTF_KIND_FWD, 0, false, 0); b.array(f, i, 1); }},
      {"struct bad name", [](auto &b, uint32_t i) { b.composite(BTF_KIND_STRUCT, "a-b", 4, {{"x", i, 0}}); }},
      {"struct member void", [](auto &b, uint32_t) { b.composite(BTF_KIND_STRUCT, "s", 4, {{"x", 0, 0}}); }},
      {"struct member bad name", [](auto &b, uint32_t i) { b.composite(BTF_KIND_STRUCT, "s", 4, {{"x y", i, 0}}); }},
      {"struct offsets decrease", [](auto &b, uint32_t i) { b.composite(BTF_KIND_STRUCT, "s", 8, {{"x", i, 32}, {"y", i, 0}}); }},
      {"struct member past size", [](auto &b, uint32_t i) { b.composite(BTF_KIND_STRUCT, "s", 4, {{"x", i, 64}}); }},
      {"struct member exceeds", [](auto &b, uint32_t i) { b.composite(BTF_KIND_STRUCT, "s", 6, {{"x", i, 32}}); }},
      {"struct member unaligned ptr", [](auto &b, uint32_t i) { uint32_t p = b.ref(BTF_KIND_PTR, i); b.composite(BTF_KIND_STRUCT, "s", 16, {{"x", p, 4}}); }},
      {"struct member func_proto", [](auto &b, uint32_t i) { uint32_t p = b.func_proto(i, {}); b.composite(BTF_KIND_STRUCT, "s", 16, {{"x", p, 0}}); }},
      {"struct bitfield kflag", [](auto &b, uint32_t i) { b.composite(BTF_KIND_STRUCT, "s", 4, {{"x", i, (3u << 24) | 0}, {"y", i, (40u << 24) | 3}}, true); }},
      {"struct truncated", [](auto &b, uint32_t) { b.type(b.str("s"), BTF_KIND_STRUCT, 2, false, 4, {0, 1, 0}); }},
      {"union member offset", [](auto &b, uint32_t i) { b.composite(BTF_KIND_UNION, "u", 8, {{"x", i, 0}, {"y", i, 32}}); }},
      {"struct loop", [](auto &b, uint32_t i) { uint32_t n = i + 1; b.composite(BTF_KIND_STRUCT, "a", 4, {{"x", n + 1, 0}}); b.composite(BTF_KIND_STRUCT, "b", 4, {{"y", n, 0}}); }},
      {"ptr loop", [](auto &b, uint32_t i) { uint32_t n = i + 1; b.ref(BTF_KIND_PTR, n + 1); b.ref(BTF_KIND_CONST, n); }},
      {"modifier loop", [](auto &b, uint32_t i) { uint32_t n = i + 1; b.ref(BTF_KIND_CONST, n + 1); b.ref(BTF_KIND_VOLATILE, n); }},
      {"deep typedefs", [](auto &b, uint32_t i) { uint32_t t = i; for (int k = 0; k < 40; k++) t = b.ref(BTF_KIND_TYPEDEF, t, "t" + std::to_string(k)); }},
      {"deep consts", [](auto &b, uint32_t i) { uint32_t n = i + 1; for (uint32_t k = 0; k < 40; k++) b.ref(BTF_KIND_CONST, k == 39 ? i : n + k + 1); }},
      {"enum size 3", [](auto &b, uint32_t) { b.type(b.str("e"), BTF_KIND_ENUM, 0, false, 3); }},
      {"enum member no name", [](auto &b, uint32_t) { b.type(b.str("e"), BTF_KIND_ENUM, 1, false, 4, {0, 1}); }},
      {"enum member bad offset", [](auto &b, uint32_t) { b.type(b.str("e"), BTF_KIND_ENUM, 1, false, 4, {5000, 1}); }},
      {"enum signed", [](auto &b, uint32_t) { b.type(b.str("e"), BTF_KIND_ENUM, 1, true, 4, {b.str("M"), 0xffffffff}); }},
      {"enum64 size 16", [](auto &b, uint32_t) { b.type(b.str("e"), BTF_KIND_ENUM64, 0, false, 16); }},
      {"fwd with type", [](auto &b, uint32_t) { b.type(b.str("f"), BTF_KIND_FWD, 0, false, 1); }},
      {"fwd no name", [](auto &b, uint32_t) { b.type(0, BTF_KIND_FWD, 0, false, 0); }},
      {"func no proto", [](auto &b, uint32_t i) { b.func("f", i); }},
      {"func linkage 3", [](auto &b, uint32_t i) { uint32_t p = b.func_proto(i, {}); b.func("f", p, 3); }},
      {"func extern", [](auto &b, uint32_t i) { uint32_t p = b.func_proto(i, {}); b.func("f", p, 2); }},
      {"func kflag", [](auto &b, uint32_t i) { uint32_t p = b.func_proto(i, {}); b.type(b.str("f"), BTF_KIND_FUNC, 1, true, p); }},
      {"func unnamed arg", [](auto &b, uint32_t i) { uint32_t p = b.func_proto(i, {{"", i}}); b.func("f", p); }},
      {"proto with name", [](auto &b, uint32_t i) { b.type(b.str("p"), BTF_KIND_FUNC_PROTO, 0, false, i); }},
      {"proto vararg named", [](auto &b, uint32_t i) { b.func_proto(i, {{"a", i}, {"v", 0}}); }},
      {"proto vararg", [](auto &b, uint32_t i) { b.func_proto(i, {{"a", i}, {"", 0}}); }},
      {"proto vararg middle", [](auto &b, uint32_t i) { b.func_proto(i, {{"", 0}, {"a", i}}); }},
      {"proto bad return", [](auto &b, uint32_t) { b.func_proto(99, {}); }},
      {"proto returns fwd", [](auto &b, uint32_t) { uint32_t f = b.type(b.str("f"), BTF_KIND_FWD, 0, false, 0); b.func_proto(f, {}); }},
      {"var linkage 2", [](auto &b, uint32_t i) { b.var("v", i, 2); }},
      {"var of void", [](auto &b, uint32_t) { b.var("v", 0); }},
      {"var of func_proto", [](auto &b, uint32_t i) { uint32_t p = b.func_proto(i, {}); b.var("v", p); }},
      {"var dotted name", [](auto &b, uint32_t i) { b.var("a.b", i); }},
      {"datasec size 0", [](auto &b, uint32_t i) { uint32_t v = b.var("v", i); b.datasec(".data", 0, {{v, 0, 4}}); }},
      {"datasec no name", [](auto &b, uint32_t i) { uint32_t v = b.var("v", i); b.datasec("", 4, {{v, 0, 4}}); }},
      {"datasec overlap", [](auto &b, uint32_t i) { uint32_t v = b.var("v", i), w = b.var("w", i); b.datasec(".data", 8, {{v, 0, 4}, {w, 2, 4}}); }},
      {"datasec past end", [](auto &b, uint32_t i) { uint32_t v = b.var("v", i); b.datasec(".data", 4, {{v, 2, 4}}); }},
      {"datasec small var", [](auto &b, uint32_t i) { uint32_t v = b.var("v", i); b.datasec(".data", 4, {{v, 0, 2}}); }},
      {"datasec non var", [](auto &b, uint32_t i) { b.datasec(".data", 4, {{i, 0, 4}}); }},
      {"float size 3", [](auto &b, uint32_t) { b.type(b.str("f"), BTF_KIND_FLOAT, 0, false, 3); }},
      {"float member unaligned", [](auto &b, uint32_t) { uint32_t f = b.type(b.str("d"), BTF_KIND_FLOAT, 0, false, 8); b.composite(BTF_KIND_STRUCT, "s", 16, {{"x", f, 32}}); }},
      {"decl tag on int", [](auto &b, uint32_t i) { b.type(b.str("t"), BTF_KIND_DECL_TAG, 0, false, i, {0xffffffff}); }},
      {"decl tag component", [](auto &b, uint32_t i) { uint32_t s = b.composite(BTF_KIND_STRUCT, "s", 4, {{"x", i, 0}}); b.type(b.str("t"), BTF_KIND_DECL_TAG, 0, false, s, {1}); }},
      {"decl tag component -2", [](auto &b, uint32_t i) { uint32_t s = b.composite(BTF_KIND_STRUCT, "s", 4, {{"x", i, 0}}); b.type(b.str("t"), BTF_KIND_DECL_TAG, 0, false, s, {0xfffffffe}); }},
      {"decl tag kflag", [](auto &b, uint32_t i) { uint32_t s = b.composite(BTF_KIND_STRUCT, "s", 4, {{"x", i, 0}}); b.type(b.str("t"), BTF_KIND_DECL_TAG, 0, true, s, {0xffffffff}); }},
      {"decl tag on var member", [](auto &b, uint32_t i) { uint32_t v = b.var("v", i); b.type(b.str("t"), BTF_KIND_DECL_TAG, 0, false, v, {0}); }},
  };
  for (const Case &c : cases) {
    ubt::BtfBuilder b;
    uint32_t i32 = b.int_type("int", 4, 32);
    c.add(b, i32);
    same(b.build(), c.what);
  }
}

TEST_F(DiffBtf, LogBuffer) {
  Blob blob = all_kinds();
  same(blob, "log of 64 bytes (rotating)", 1, 64);
  same(blob, "log of 64 bytes (fixed)", 1 | 8, 64);
  same(blob, "level 2", 2);
  same(blob, "stats", 4);
  same(blob, "level 16", 16);
  same(blob, "log size without buffer", 1, 0);
  ubt::BtfBuilder b;
  b.int_type("int", 4, 32);
  b.ref(BTF_KIND_PTR, 9);
  same(b.build(), "error, short log", 1, 16);
}

// Mutations of the BTF clang emits for the test programs: flip a few bytes
// of the type section (never the header) at deterministic random places.
TEST_F(DiffBtf, MutatedCompilerBtf) {
  std::vector<Blob> seeds = {all_kinds()};
#ifdef UBT_LIBBPF_OBJ_DIR
  for (const char *name : {"globals", "typed_maps", "calls"}) {
    std::string path = std::string(UBT_LIBBPF_OBJ_DIR) + "/" + name + ".bpf.o";
    // The BTF as libbpf would load it: opening fixes up the DATASEC sizes and
    // variable offsets clang leaves to the loader.
    struct bpf_object *obj = bpf_object__open_file(path.c_str(), nullptr);
    ASSERT_NE(obj, nullptr) << path;
    uint32_t size = 0;
    const void *raw = btf__raw_data(bpf_object__btf(obj), &size);
    seeds.emplace_back(static_cast<const uint8_t *>(raw), static_cast<const uint8_t *>(raw) + size);
    bpf_object__close(obj);
  }
#endif
  std::mt19937 rng(20261122);
  int accepted = 0, rejected = 0;
  for (const Blob &seed : seeds) {
    EXPECT_EQ(same(seed, "seed"), 0);
    for (int round = 0; round < 500; round++) {
      Blob m = seed;
      int flips = 1 + static_cast<int>(rng() % 3);
      for (int f = 0; f < flips; f++) {
        size_t at = sizeof(btf_header) + rng() % (m.size() - sizeof(btf_header));
        switch (rng() % 3) {
          case 0: m[at] ^= static_cast<uint8_t>(1u << (rng() % 8)); break;
          case 1: m[at] = static_cast<uint8_t>(rng()); break;
          default: m[at] = 0; break;
        }
      }
      long r = same(m, "mutation " + std::to_string(round));
      (r == 0 ? accepted : rejected)++;
      if (HasFailure()) return;
    }
  }
  // The header too: sizes and offsets bent by a few bits or bytes.
  for (int round = 0; round < 200; round++) {
    Blob m = seeds[static_cast<size_t>(round) % seeds.size()];
    size_t at = rng() % sizeof(btf_header);
    if (rng() % 2) m[at] ^= static_cast<uint8_t>(1u << (rng() % 8));
    else m[at] = static_cast<uint8_t>(rng());
    same(m, "header mutation " + std::to_string(round));
    if (HasFailure()) return;
  }
  // The mutations must exercise both outcomes to mean something.
  EXPECT_GT(accepted, 10);
  EXPECT_GT(rejected, 10);
}

TEST_F(DiffBtf, IdsAndInfo) {
  Blob blob = all_kinds();
  for (ubt::BpfFn fn : {ubt::kernel_call, ubt::userbpf_call}) {
    SCOPED_TRACE(fn == ubt::kernel_call ? "kernel" : "userbpf");
    int fd = -1;
    ASSERT_EQ(load(fn, blob, 0, 0, &fd).ret, 0);
    struct bpf_btf_info info;
    memset(&info, 0, sizeof(info));
    std::vector<uint8_t> back(blob.size() + 8, 0xaa);
    char name[8] = "xxxxxxx";
    info.btf = reinterpret_cast<uintptr_t>(back.data());
    info.btf_size = static_cast<uint32_t>(back.size());
    info.name = reinterpret_cast<uintptr_t>(name);
    info.name_len = sizeof(name);
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.info.bpf_fd = fd;
    a.info.info_len = sizeof(info);
    a.info.info = reinterpret_cast<uintptr_t>(&info);
    ASSERT_EQ(ubt::call(fn, BPF_OBJ_GET_INFO_BY_FD, a), 0);
    EXPECT_EQ(a.info.info_len, sizeof(info));
    EXPECT_EQ(info.btf_size, blob.size());
    EXPECT_EQ(0, memcmp(back.data(), blob.data(), blob.size()));
    EXPECT_EQ(back[blob.size()], 0xaa);
    EXPECT_EQ(info.name_len, 0u);
    EXPECT_EQ(name[0], '\0');
    EXPECT_EQ(info.kernel_btf, 0u);
    uint32_t id = info.id;
    EXPECT_GT(id, 0u);
    // name without name_len: EINVAL.
    info.name_len = 0;
    EXPECT_EQ(ubt::call(fn, BPF_OBJ_GET_INFO_BY_FD, a), -EINVAL);

    // GET_FD_BY_ID gives the same object; GET_NEXT_ID walks to it.
    memset(&a, 0, sizeof(a));
    a.btf_id = id;
    long fd2 = ubt::call(fn, BPF_BTF_GET_FD_BY_ID, a);
    ASSERT_GE(fd2, 0);
    close(static_cast<int>(fd2));
    a.open_flags = BPF_F_RDONLY;
    EXPECT_EQ(ubt::call(fn, BPF_BTF_GET_FD_BY_ID, a), -EINVAL);
    memset(&a, 0, sizeof(a));
    a.start_id = id - 1;
    ASSERT_EQ(ubt::call(fn, BPF_BTF_GET_NEXT_ID, a), 0);
    EXPECT_LE(a.next_id, id);
    close(fd);
    memset(&a, 0, sizeof(a));
    a.btf_id = 0x7ffffff0;
    EXPECT_EQ(ubt::call(fn, BPF_BTF_GET_FD_BY_ID, a), -ENOENT);
  }
}

// A map keeps its BTF alive after the BTF fd is closed (the kernel's
// map->btf reference), and releasing the map releases the BTF.
TEST_F(DiffBtf, MapHoldsItsBtf) {
  ubt::BtfBuilder b;
  uint32_t i32 = b.int_type("int", 4, 32);
  Blob blob = b.build();
  for (ubt::BpfFn fn : {ubt::kernel_call, ubt::userbpf_call}) {
    SCOPED_TRACE(fn == ubt::kernel_call ? "kernel" : "userbpf");
    int btf_fd = -1;
    ASSERT_EQ(load(fn, blob, 0, 0, &btf_fd).ret, 0);
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.map_type = BPF_MAP_TYPE_HASH;
    a.key_size = 4;
    a.value_size = 4;
    a.max_entries = 2;
    a.btf_fd = btf_fd;
    a.btf_key_type_id = i32;
    a.btf_value_type_id = i32;
    long map_fd = ubt::call(fn, BPF_MAP_CREATE, a);
    ASSERT_GE(map_fd, 0);
    struct bpf_map_info mi;
    memset(&mi, 0, sizeof(mi));
    union bpf_attr ia;
    memset(&ia, 0, sizeof(ia));
    ia.info.bpf_fd = static_cast<uint32_t>(map_fd);
    ia.info.info_len = sizeof(mi);
    ia.info.info = reinterpret_cast<uintptr_t>(&mi);
    ASSERT_EQ(ubt::call(fn, BPF_OBJ_GET_INFO_BY_FD, ia), 0);
    close(btf_fd);
    memset(&a, 0, sizeof(a));
    a.btf_id = mi.btf_id;
    long again = ubt::call(fn, BPF_BTF_GET_FD_BY_ID, a);
    ASSERT_GE(again, 0) << "the map's BTF is gone with its fd";
    close(static_cast<int>(again));
    close(static_cast<int>(map_fd));
    // The kernel frees the BTF after an RCU grace period; userbpf at once.
    if (fn == ubt::userbpf_call) {
      EXPECT_EQ(ubt::call(fn, BPF_BTF_GET_FD_BY_ID, a), -ENOENT);
    }
  }
}

// BTF-typed maps: map_check_btf()'s verdicts.
TEST_F(DiffBtf, TypedMaps) {
  ubt::BtfBuilder b;
  uint32_t i32 = b.int_type("int", 4, 32);
  uint32_t i64 = b.int_type("long", 8, 64);
  uint32_t s = b.composite(BTF_KIND_STRUCT, "v", 16, {{"a", i64, 0}, {"b", i64, 64}});
  uint32_t td = b.ref(BTF_KIND_TYPEDEF, i32, "u32_t");
  uint32_t v = b.var("g", i64);
  uint32_t sec = b.datasec(".data", 8, {{v, 0, 8}});
  uint32_t fwd = b.type(b.str("f"), BTF_KIND_FWD, 0, false, 0);
  Blob blob = b.build();
  struct Case {
    const char *what;
    uint32_t type, key_size, value_size, max_entries, key_id, value_id, vmlinux_id;
    bool bad_fd;
  };
  const std::vector<Case> cases = {
      {"array int->struct", BPF_MAP_TYPE_ARRAY, 4, 16, 4, i32, s, 0, false},
      {"array typedef key", BPF_MAP_TYPE_ARRAY, 4, 16, 4, td, s, 0, false},
      {"array value size mismatch", BPF_MAP_TYPE_ARRAY, 4, 8, 4, i32, s, 0, false},
      {"array key long", BPF_MAP_TYPE_HASH, 8, 16, 4, i64, s, 0, false},
      {"array keyless datasec", BPF_MAP_TYPE_ARRAY, 4, 8, 1, 0, sec, 0, false},
      {"array keyless two entries", BPF_MAP_TYPE_ARRAY, 4, 8, 2, 0, sec, 0, false},
      {"array keyless not datasec", BPF_MAP_TYPE_ARRAY, 4, 8, 1, 0, i64, 0, false},
      {"percpu keyless datasec", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 1, 0, sec, 0, false},
      {"hash keyless", BPF_MAP_TYPE_HASH, 4, 16, 4, 0, s, 0, false},
      {"hash typed", BPF_MAP_TYPE_HASH, 4, 16, 4, i32, s, 0, false},
      {"hash key size mismatch", BPF_MAP_TYPE_HASH, 8, 16, 4, i32, s, 0, false},
      {"value fwd", BPF_MAP_TYPE_HASH, 4, 16, 4, i32, fwd, 0, false},
      {"value id past end", BPF_MAP_TYPE_HASH, 4, 16, 4, i32, 999, 0, false},
      {"key without value", BPF_MAP_TYPE_HASH, 4, 16, 4, i32, 0, 0, false},
      {"vmlinux id on hash", BPF_MAP_TYPE_HASH, 4, 16, 4, 0, 0, 5, false},
      {"not a btf fd", BPF_MAP_TYPE_HASH, 4, 16, 4, i32, s, 0, true},
  };
  for (const Case &c : cases) {
    long got[2];
    int side = 0;
    for (ubt::BpfFn fn : {ubt::kernel_call, ubt::userbpf_call}) {
      int btf_fd = -1;
      ASSERT_EQ(load(fn, blob, 0, 0, &btf_fd).ret, 0);
      int map_for_fd = -1;
      if (c.bad_fd) map_for_fd = static_cast<int>(ubt::map_create(fn, BPF_MAP_TYPE_ARRAY, 4, 4, 1));
      union bpf_attr a;
      memset(&a, 0, sizeof(a));
      a.map_type = c.type;
      a.key_size = c.key_size;
      a.value_size = c.value_size;
      a.max_entries = c.max_entries;
      a.btf_fd = c.bad_fd ? map_for_fd : btf_fd;
      a.btf_key_type_id = c.key_id;
      a.btf_value_type_id = c.value_id;
      a.btf_vmlinux_value_type_id = c.vmlinux_id;
      long r = ubt::call(fn, BPF_MAP_CREATE, a);
      got[side++] = r < 0 ? r : 0;
      if (r >= 0) {
        struct bpf_map_info mi;
        memset(&mi, 0, sizeof(mi));
        union bpf_attr ia;
        memset(&ia, 0, sizeof(ia));
        ia.info.bpf_fd = static_cast<uint32_t>(r);
        ia.info.info_len = sizeof(mi);
        ia.info.info = reinterpret_cast<uintptr_t>(&mi);
        ASSERT_EQ(ubt::call(fn, BPF_OBJ_GET_INFO_BY_FD, ia), 0);
        EXPECT_EQ(mi.btf_key_type_id, c.key_id) << c.what;
        EXPECT_EQ(mi.btf_value_type_id, c.value_id) << c.what;
        EXPECT_NE(mi.btf_id, 0u) << c.what;
        close(static_cast<int>(r));
      }
      if (map_for_fd >= 0) close(map_for_fd);
      close(btf_fd);
    }
    EXPECT_EQ(got[0], got[1]) << c.what;
  }
}

// BPF_PROG_LOAD with prog_btf_fd, func_info and line_info: the kernel's
// record checks (check_btf_func_early, check_btf_func, check_btf_line).
// Three functions: main at 0 calls f1 at 3, which calls f2 at 6.
struct ProgBtfCase {
  const char *what;
  std::vector<uint32_t> func_words; // records as u32 words
  uint32_t func_rec_size;
  std::vector<uint32_t> line_words;
  uint32_t line_rec_size;
  int btf_fd_kind = 0; // 0: the BTF, 1: a map fd, 2: a closed fd
};

TEST_F(DiffBtf, ProgFuncAndLineInfo) {
  ubt::BtfBuilder b;
  uint32_t i32 = b.int_type("int", 4, 32);
  uint32_t proto = b.func_proto(i32, {});
  uint32_t fmain = b.func("main_fn", proto, BTF_FUNC_STATIC);
  uint32_t f1 = b.func("f1", proto, BTF_FUNC_STATIC);
  uint32_t f2 = b.func("f2", proto, BTF_FUNC_STATIC);
  uint32_t file = b.str("prog.c"), line = b.str("return 0;");
  Blob blob = b.build();
  const struct bpf_insn insns[] = {
      {BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 2}, {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},               {BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 2},
      {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0},      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
      {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 1},      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  auto lines_at = [&](std::vector<uint32_t> offs) {
    std::vector<uint32_t> w;
    for (uint32_t o : offs) w.insert(w.end(), {o, file, line, (7u << 10) | 3});
    return w;
  };
  std::vector<uint32_t> good_funcs = {0, fmain, 3, f1, 6, f2};
  std::vector<uint32_t> good_lines = lines_at({0, 1, 3, 4, 6});
  const std::vector<ProgBtfCase> cases = {
      {"valid", good_funcs, 8, good_lines, 16},
      {"funcs only", good_funcs, 8, {}, 16},
      {"func rec size 4", good_funcs, 4, {}, 16},
      {"func rec size 10", good_funcs, 10, {}, 16},
      {"func rec size 12, zero tail", {0, fmain, 0, 3, f1, 0, 6, f2, 0}, 12, {}, 16},
      {"func rec size 12, non-zero tail", {0, fmain, 5, 3, f1, 0, 6, f2, 0}, 12, {}, 16},
      {"first func not at 0", {1, fmain, 3, f1, 6, f2}, 8, {}, 16},
      {"funcs out of order", {0, fmain, 6, f2, 3, f1}, 8, {}, 16},
      {"func type not FUNC", {0, proto, 3, f1, 6, f2}, 8, {}, 16},
      {"func type past end", {0, 99, 3, f1, 6, f2}, 8, {}, 16},
      {"too few funcs", {0, fmain, 3, f1}, 8, {}, 16},
      {"func not at a subprog", {0, fmain, 2, f1, 6, f2}, 8, {}, 16},
      {"line rec size 8", good_funcs, 8, good_lines, 8},
      {"line rec size 20, non-zero tail", good_funcs, 8, {0, file, line, 1, 9, 3, file, line, 1, 0, 6, file, line, 1, 0}, 20},
      {"line past the end", good_funcs, 8, lines_at({0, 3, 6, 8}), 16},
      {"lines out of order", good_funcs, 8, lines_at({0, 3, 1, 6}), 16},
      {"line string past end", good_funcs, 8, {0, 9999, line, 0, 3, file, line, 0, 6, file, line, 0}, 16},
      {"line missing for f1", good_funcs, 8, lines_at({0, 4, 6}), 16},
      {"lines missing at the end", good_funcs, 8, lines_at({0, 3}), 16},
      {"lines without funcs", {}, 8, good_lines, 16},
      {"btf fd is a map", good_funcs, 8, good_lines, 16, 1},
      {"btf fd closed", good_funcs, 8, good_lines, 16, 2},
  };
  for (const ProgBtfCase &c : cases) {
    long got[2];
    std::string logs[2];
    uint32_t rec_back[2][2];
    int side = 0;
    for (ubt::BpfFn fn : {ubt::kernel_call, ubt::userbpf_call}) {
      int btf_fd = -1;
      ASSERT_EQ(load(fn, blob, 0, 0, &btf_fd).ret, 0);
      int other = -1;
      if (c.btf_fd_kind == 1) other = static_cast<int>(ubt::map_create(fn, BPF_MAP_TYPE_ARRAY, 4, 4, 1));
      if (c.btf_fd_kind == 2) other = 999;
      std::vector<char> log(65536, 0);
      union bpf_attr a;
      memset(&a, 0, sizeof(a));
      a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
      a.insns = reinterpret_cast<uintptr_t>(insns);
      a.insn_cnt = sizeof(insns) / sizeof(insns[0]);
      a.license = reinterpret_cast<uintptr_t>("GPL");
      a.log_buf = reinterpret_cast<uintptr_t>(log.data());
      a.log_size = static_cast<uint32_t>(log.size());
      a.log_level = 1;
      a.prog_btf_fd = c.btf_fd_kind ? other : btf_fd;
      a.func_info_rec_size = c.func_rec_size;
      a.func_info_cnt = c.func_rec_size ? static_cast<uint32_t>(c.func_words.size() * 4 / c.func_rec_size) : 0;
      a.func_info = reinterpret_cast<uintptr_t>(c.func_words.data());
      a.line_info_rec_size = c.line_rec_size;
      a.line_info_cnt = c.line_rec_size ? static_cast<uint32_t>(c.line_words.size() * 4 / c.line_rec_size) : 0;
      a.line_info = reinterpret_cast<uintptr_t>(c.line_words.data());
      long r = ubt::call(fn, BPF_PROG_LOAD, a);
      got[side] = r < 0 ? r : 0;
      logs[side] = log.data();
      rec_back[side][0] = a.func_info_rec_size;
      rec_back[side][1] = a.line_info_rec_size;
      if (r >= 0) {
        struct bpf_prog_info pi;
        memset(&pi, 0, sizeof(pi));
        union bpf_attr ia;
        memset(&ia, 0, sizeof(ia));
        ia.info.bpf_fd = static_cast<uint32_t>(r);
        ia.info.info_len = sizeof(pi);
        ia.info.info = reinterpret_cast<uintptr_t>(&pi);
        EXPECT_EQ(ubt::call(fn, BPF_OBJ_GET_INFO_BY_FD, ia), 0);
        EXPECT_EQ(pi.nr_func_info, a.func_info_cnt) << c.what;
        EXPECT_EQ(pi.nr_line_info, a.line_info_cnt) << c.what;
        EXPECT_NE(pi.btf_id, 0u) << c.what;
        close(static_cast<int>(r));
      }
      if (c.btf_fd_kind == 1) close(other);
      close(btf_fd);
      side++;
    }
    // The case means what it says: only the well-formed ones load.
    bool well_formed = c.what == std::string("valid") || c.what == std::string("funcs only") ||
                       c.what == std::string("func rec size 12, zero tail") ||
                       c.what == std::string("lines without funcs");
    EXPECT_EQ(got[0] == 0, well_formed) << c.what << ": kernel " << got[0];
    EXPECT_EQ(got[0], got[1]) << c.what << "\nkernel log:\n" << logs[0] << "\nuserbpf log:\n" << logs[1];
    // The verifier's message: on an accepted load the logs differ in the
    // verifier's own trace, so compare them only for these early refusals.
    if (got[0] < 0) {
      EXPECT_EQ(logs[0], logs[1]) << c.what;
    }
    EXPECT_EQ(rec_back[0][0], rec_back[1][0]) << c.what;
    EXPECT_EQ(rec_back[0][1], rec_back[1][1]) << c.what;
  }
}

// Global functions (BTF_FUNC_GLOBAL): the verifier types their arguments from
// the BTF prototype (btf_prepare_func_args) and checks every call against it.
// Prototypes clang cannot produce (struct by value, 6 arguments, unknown
// tags) and call-site checks, on hand-built BTF. Each case is a socket
// filter: main sets up r1-r5, calls f, returns 0; f is the case's body.
struct GlobalFnCase {
  const char *what;
  bool accepted;                   // the kernel's verdict (the case means what it says)
  std::vector<struct bpf_insn> main_setup; // before the call; r6 holds the ctx
  std::vector<struct bpf_insn> body;       // f, before its final exit
  uint32_t ret_type = 0;           // filled per case: the prototype's return type
  std::vector<std::pair<std::string, uint32_t>> params;
  std::vector<std::pair<std::string, uint32_t>> tags; // "arg:..." on argument N
  uint32_t linkage = BTF_FUNC_GLOBAL;
};

constexpr struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  return {code, dst, src, off, imm};
}
constexpr struct bpf_insn mov_imm(uint8_t dst, int32_t imm) { return insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm); }
constexpr struct bpf_insn mov_reg(uint8_t dst, uint8_t src) { return insn(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0); }
constexpr struct bpf_insn add_imm(uint8_t dst, int32_t imm) { return insn(BPF_ALU64 | BPF_ADD | BPF_K, dst, 0, 0, imm); }
constexpr struct bpf_insn store_dw(uint8_t dst, int16_t off, int32_t imm) {
  return insn(BPF_ST | BPF_MEM | BPF_DW, dst, 0, off, imm);
}
constexpr struct bpf_insn load_w(uint8_t dst, uint8_t src, int16_t off) {
  return insn(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0);
}

// A socket filter with this BTF and func_info (records of insn_off, type_id)
// loaded on one side: 0 or the negative errno, and the verifier's log.
long load_with_func_info(ubt::BpfFn fn, const Blob &blob, const std::vector<struct bpf_insn> &insns,
                         const std::vector<uint32_t> &func_info, std::string *log_out) {
  int btf_fd = -1;
  EXPECT_EQ(load(fn, blob, 0, 0, &btf_fd).ret, 0);
  std::vector<char> log(1 << 16, 0);
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  a.insns = reinterpret_cast<uintptr_t>(insns.data());
  a.insn_cnt = static_cast<uint32_t>(insns.size());
  a.license = reinterpret_cast<uintptr_t>("GPL");
  a.log_buf = reinterpret_cast<uintptr_t>(log.data());
  a.log_size = static_cast<uint32_t>(log.size());
  a.log_level = 1;
  a.prog_btf_fd = static_cast<uint32_t>(btf_fd);
  a.func_info_rec_size = sizeof(struct bpf_func_info);
  a.func_info_cnt = static_cast<uint32_t>(func_info.size() / 2);
  a.func_info = reinterpret_cast<uintptr_t>(func_info.data());
  long r = ubt::call(fn, BPF_PROG_LOAD, a);
  *log_out = log.data();
  if (r >= 0) close(static_cast<int>(r));
  close(btf_fd);
  return r < 0 ? r : 0;
}

// The verifier's reason for a rejection: the line before the statistics, and
// for a refused call the line before "Caller passes invalid args" too.
std::string rejection_reason(const std::string &log) {
  std::vector<std::string> lines;
  size_t at = 0;
  while (at < log.size()) {
    size_t nl = log.find('\n', at);
    if (nl == std::string::npos) nl = log.size();
    lines.push_back(log.substr(at, nl - at));
    at = nl + 1;
  }
  while (!lines.empty() && (lines.back().empty() || lines.back().rfind("processed ", 0) == 0)) lines.pop_back();
  if (lines.empty()) return "";
  std::string reason = lines.back();
  if (reason.rfind("Caller passes invalid args", 0) == 0 && lines.size() > 1) reason = lines[lines.size() - 2] + " / " + reason;
  return reason;
}

TEST_F(DiffBtf, GlobalFunctionPrototypes) {
  ubt::BtfBuilder b;
  const uint32_t i32 = b.int_type("int", 4, 32);
  const uint32_t i32p = b.ref(BTF_KIND_PTR, i32);
  const uint32_t i32x4 = b.array(i32, i32, 4);
  const uint32_t i32x4p = b.ref(BTF_KIND_PTR, i32x4);
  const uint32_t fl = b.type(b.str("float"), BTF_KIND_FLOAT, 0, false, 4);
  const uint32_t pair = b.composite(BTF_KIND_STRUCT, "pair", 8, {{"a", i32, 0}, {"b", i32, 32}});
  const uint32_t fwd = b.type(b.str("opaque"), BTF_KIND_FWD, 0, false, 0);
  const uint32_t fwdp = b.ref(BTF_KIND_PTR, fwd);
  const uint32_t skb = b.composite(BTF_KIND_STRUCT, "__sk_buff", 4, {{"len", i32, 0}});
  const uint32_t skbp = b.ref(BTF_KIND_PTR, skb);
  const uint32_t kskb = b.composite(BTF_KIND_STRUCT, "sk_buff", 0, {});
  const uint32_t kskbp = b.ref(BTF_KIND_PTR, kskb);
  const uint32_t xdp = b.composite(BTF_KIND_STRUCT, "xdp_md", 4, {{"data", i32, 0}});
  const uint32_t xdpp = b.ref(BTF_KIND_PTR, xdp);
  const uint32_t voidp = b.ref(BTF_KIND_PTR, 0);
  const uint32_t color = b.type(b.str("color"), BTF_KIND_ENUM, 1, false, 4, {b.str("RED"), 0});
  const uint32_t main_proto = b.func_proto(i32, {{"ctx", skbp}});
  const uint32_t main_fn = b.func("main_fn", main_proto);

  const struct bpf_insn r0_zero = mov_imm(0, 0);
  const struct bpf_insn r1_ctx = mov_reg(1, 6);
  const struct bpf_insn r1_null = mov_imm(1, 0);
  const struct bpf_insn r1_fp8 = mov_reg(1, 10), r1_minus8 = add_imm(1, -8), r1_minus16 = add_imm(1, -16);
  const struct bpf_insn fp8_zero = store_dw(10, -8, 0), fp16_zero = store_dw(10, -16, 0);
  const struct bpf_insn skip_if_r1_null = insn(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 1, 0);
  const struct bpf_insn r0_load_r1 = load_w(0, 1, 0), r0_load_r1_plus4 = load_w(0, 1, 4);

  std::vector<GlobalFnCase> cases = {
      {"int and enum args", true, {mov_imm(1, 1), mov_imm(2, 2)}, {r0_zero}, i32, {{"a", i32}, {"c", color}}},
      {"enum return", true, {}, {r0_zero}, color, {}},
      {"pointer return", false, {}, {r0_zero}, i32p, {}},
      {"void return", false, {}, {r0_zero}, 0, {}},
      {"struct by value", false, {r1_null}, {r0_zero}, i32, {{"p", pair}}},
      {"float arg", false, {r1_null}, {r0_zero}, i32, {{"x", fl}}},
      {"six args", false, {r1_null}, {r0_zero}, i32,
       {{"a", i32}, {"b", i32}, {"c", i32}, {"d", i32}, {"e", i32}, {"f", i32}}},
      {"scalar arg not set", false, {mov_imm(1, 1)}, {r0_zero}, i32, {{"a", i32}, {"b", i32}}},
      {"ctx arg", true, {r1_ctx}, {r0_load_r1}, i32, {{"skb", skbp}}},
      {"kernel ctx name is ctx too", true, {r1_ctx}, {r0_zero}, i32, {{"skb", kskbp}}},
      {"ctx arg gets a moved ctx", false, {r1_ctx, add_imm(1, 4)}, {r0_zero}, i32, {{"skb", skbp}}},
      {"other type's ctx is memory", false, {r1_ctx}, {r0_zero}, i32, {{"x", xdpp}}},
      {"mem arg reads past its size", false, {r1_null}, {r0_zero, skip_if_r1_null, r0_load_r1_plus4}, i32,
       {{"p", i32p}}},
      {"mem arg read after NULL check", true, {r1_null}, {r0_zero, skip_if_r1_null, r0_load_r1}, i32, {{"p", i32p}}},
      {"array pointee: 16 bytes given", true, {fp8_zero, fp16_zero, r1_fp8, r1_minus16}, {r0_zero}, i32,
       {{"a", i32x4p}}},
      {"array pointee: 8 bytes given", false, {fp8_zero, r1_fp8, r1_minus8}, {r0_zero}, i32, {{"a", i32x4p}}},
      {"pointer to FWD", false, {r1_null}, {r0_zero}, i32, {{"p", fwdp}}},
      {"void pointer", false, {r1_null}, {r0_zero}, i32, {{"p", voidp}}},
      {"returns a pointer", false, {r1_null}, {mov_reg(0, 10)}, i32, {}},
      {"arg:nonnull reads without check", true, {fp8_zero, r1_fp8, r1_minus8}, {r0_load_r1}, i32, {{"p", i32p}},
       {{"arg:nonnull", 0}}},
      {"arg:nullable on memory", false, {r1_null}, {r0_zero}, i32, {{"p", i32p}}, {{"arg:nullable", 0}}},
      {"unknown arg tag", false, {r1_null}, {r0_zero}, i32, {{"p", i32p}}, {{"arg:shiny", 0}}},
      {"pointer tag on int", false, {r1_null}, {r0_zero}, i32, {{"x", i32}}, {{"arg:nonnull", 0}}},
      {"arg:ctx on void pointer", true, {r1_ctx}, {r0_load_r1}, i32, {{"ctx", voidp}}, {{"arg:ctx", 0}}},
      {"arg:ctx on another struct", false, {r1_ctx}, {r0_zero}, i32, {{"ctx", xdpp}}, {{"arg:ctx", 0}}},
      {"arg:ctx with arg:nonnull", false, {r1_ctx}, {r0_zero}, i32, {{"ctx", voidp}},
       {{"arg:ctx", 0}, {"arg:nonnull", 0}}},
      {"global calls itself", false, {}, {insn(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, -1), r0_zero}, i32, {}},
      {"static: prototype not checked", true, {r1_null}, {r0_zero}, i32, {{"p", pair}}, {}, BTF_FUNC_STATIC},
  };
  int n = 0;
  for (GlobalFnCase &c : cases) {
    // Each case gets its own FUNC (and tags) in one shared BTF.
    const uint32_t proto = b.func_proto(c.ret_type, c.params);
    const uint32_t fn = b.func("f" + std::to_string(n++), proto, c.linkage);
    for (const auto &[tag, arg] : c.tags) b.type(b.str(tag), BTF_KIND_DECL_TAG, 0, false, fn, {arg});
    c.ret_type = fn; // remember the FUNC id for func_info
  }
  const Blob blob = b.build();
  for (const GlobalFnCase &c : cases) {
    std::vector<struct bpf_insn> insns = {mov_reg(6, 1)};
    insns.insert(insns.end(), c.main_setup.begin(), c.main_setup.end());
    insns.push_back(insn(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 2));
    insns.push_back(r0_zero);
    insns.push_back(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
    const uint32_t f_start = static_cast<uint32_t>(insns.size());
    insns.insert(insns.end(), c.body.begin(), c.body.end());
    insns.push_back(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
    const std::vector<uint32_t> func_info = {0, main_fn, f_start, c.ret_type};
    long got[2];
    std::string logs[2];
    got[0] = load_with_func_info(ubt::kernel_call, blob, insns, func_info, &logs[0]);
    got[1] = load_with_func_info(ubt::userbpf_call, blob, insns, func_info, &logs[1]);
    EXPECT_EQ(got[0] == 0, c.accepted) << c.what << ": kernel " << got[0] << "\n" << logs[0];
    EXPECT_EQ(got[0], got[1]) << c.what << "\nkernel log:\n" << logs[0] << "\nuserbpf log:\n" << logs[1];
    if (got[0] < 0 && got[1] < 0) {
      EXPECT_EQ(rejection_reason(logs[0]), rejection_reason(logs[1]))
          << c.what << "\nkernel log:\n" << logs[0] << "\nuserbpf log:\n" << logs[1];
    }
  }
}

// The end of a main function that calls a callback helper (bpf_loop,
// bpf_for_each_map_elem) with r1 as set by the code so far: r2 = the
// callback, r3 = fp-8, r4 = 0, the call, return 0; then the callback, its
// body and an exit. Returns the callback's first instruction.
uint32_t append_callback_call(std::vector<struct bpf_insn> &insns, int32_t helper,
                              const std::vector<struct bpf_insn> &body) {
  const struct bpf_insn exit_insn = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  const size_t ld = insns.size();
  insns.push_back(insn(BPF_LD | BPF_DW | BPF_IMM, 2, BPF_PSEUDO_FUNC, 0, 0));
  insns.push_back(insn(0, 0, 0, 0, 0));
  insns.push_back(mov_reg(3, 10));
  insns.push_back(add_imm(3, -8));
  insns.push_back(mov_imm(4, 0));
  insns.push_back(insn(BPF_JMP | BPF_CALL, 0, 0, 0, helper));
  insns.push_back(mov_imm(0, 0));
  insns.push_back(exit_insn);
  const uint32_t cb_start = static_cast<uint32_t>(insns.size());
  insns[ld].imm = static_cast<int32_t>(cb_start - (ld + 1));
  insns.insert(insns.end(), body.begin(), body.end());
  insns.push_back(exit_insn);
  return cb_start;
}

// got/logs: the kernel's load (0) and userbpf's (1). The kernel's verdict is
// the one recorded; userbpf's must be the same, errno and reason included.
void expect_kernel_verdict(const char *what, bool accepted, const long got[2], const std::string logs[2]) {
  EXPECT_EQ(got[0] == 0, accepted) << what << ": kernel " << got[0] << "\n" << logs[0];
  EXPECT_EQ(got[0], got[1]) << what << "\nkernel log:\n" << logs[0] << "\nuserbpf log:\n" << logs[1];
  if (got[0] < 0 && got[1] < 0) {
    EXPECT_EQ(rejection_reason(logs[0]), rejection_reason(logs[1]))
        << what << "\nkernel log:\n" << logs[0] << "\nuserbpf log:\n" << logs[1];
  }
}

// bpf_loop callbacks on raw instructions with hand-built func_info: what
// only raw code can say (a callback's return register, stack sizes added up
// along the callback, a count of 0 that never runs it, a callback taking the
// place of the caller's own code), with the kernel's errno and reason. main:
// r1 = count, r2 = the callback (the second function), r3 = fp-8 (zeroed),
// r4 = 0, bpf_loop, return 0.
TEST_F(DiffBtf, LoopCallbacks) {
  ubt::BtfBuilder b;
  const uint32_t i32 = b.int_type("int", 4, 32);
  const uint32_t skb = b.composite(BTF_KIND_STRUCT, "__sk_buff", 4, {{"len", i32, 0}});
  const uint32_t main_fn = b.func("main_fn", b.func_proto(i32, {{"ctx", b.ref(BTF_KIND_PTR, skb)}}));
  const uint32_t cb_fn = b.func("cb", b.func_proto(i32, {{"i", i32}, {"ctx", b.ref(BTF_KIND_PTR, 0)}}), BTF_FUNC_STATIC);
  const Blob blob = b.build();
  const struct bpf_insn exit_insn = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  struct Case {
    const char *what;
    bool accepted; // the kernel's verdict
    int32_t count;
    std::vector<struct bpf_insn> body; // the callback, before its exit
    std::vector<struct bpf_insn> main_extra = {}; // in main before the call
  };
  const std::vector<Case> cases = {
      {"returns 0", true, 4, {mov_imm(0, 0)}},
      {"returns the index's low bit", true, 4, {mov_reg(0, 1), insn(BPF_ALU64 | BPF_AND | BPF_K, 0, 0, 0, 1)}},
      {"returns the index", false, 4, {mov_reg(0, 1)}},
      {"returns -1", false, 4, {mov_imm(0, -1)}},
      {"returns nothing", false, 4, {}},
      {"returns its ctx (a stack pointer)", false, 4, {mov_reg(0, 2)}},
      {"reads the index's bytes from ctx", true, 4, {load_w(0, 2, 4), mov_imm(0, 0)}},
      {"writes past the caller's frame through ctx", false, 4, {store_dw(2, 8, 1), mov_imm(0, 0)}},
      {"a count of 0 never runs it", true, 0, {load_w(0, 0, 0)}},
      {"frames of 304 and 256 bytes", false, 4, {store_dw(10, -256, 0), mov_imm(0, 0)},
       {store_dw(10, -304, 0)}},
      {"frames of 256 and 256 bytes", true, 4, {store_dw(10, -256, 0), mov_imm(0, 0)}, {store_dw(10, -256, 0)}},
  };
  for (const Case &c : cases) {
    std::vector<struct bpf_insn> insns = {store_dw(10, -8, 0)};
    insns.insert(insns.end(), c.main_extra.begin(), c.main_extra.end());
    insns.push_back(mov_imm(1, c.count));
    const uint32_t cb_start = append_callback_call(insns, BPF_FUNC_loop, c.body);
    const std::vector<uint32_t> func_info = {0, main_fn, cb_start, cb_fn};
    long got[2];
    std::string logs[2];
    got[0] = load_with_func_info(ubt::kernel_call, blob, insns, func_info, &logs[0]);
    got[1] = load_with_func_info(ubt::userbpf_call, blob, insns, func_info, &logs[1]);
    expect_kernel_verdict(c.what, c.accepted, got, logs);
  }
  // A callback address inside the main function's code: its target becomes
  // a function start (add_subprog), so main no longer ends in exit ("last
  // insn is not an exit or jmp", EINVAL); and the same with func_info that
  // does not list it (EINVAL too; userbpf checks func_info in src/syscall
  // before the verifier sees the code, so its reason is the record count).
  std::vector<struct bpf_insn> inside = {mov_imm(1, 4), insn(BPF_LD | BPF_DW | BPF_IMM, 2, BPF_PSEUDO_FUNC, 0, 4),
                                         insn(0, 0, 0, 0, 0), mov_imm(3, 0), mov_imm(4, 0),
                                         insn(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_loop), mov_imm(0, 0), exit_insn};
  for (const std::vector<uint32_t> &func_info :
       {std::vector<uint32_t>{0, main_fn, 6, cb_fn}, std::vector<uint32_t>{0, main_fn}}) {
    std::string logs[2];
    const long kernel = load_with_func_info(ubt::kernel_call, blob, inside, func_info, &logs[0]);
    const long ours = load_with_func_info(ubt::userbpf_call, blob, inside, func_info, &logs[1]);
    EXPECT_EQ(kernel, -EINVAL) << logs[0];
    EXPECT_EQ(kernel, ours) << "kernel log:\n" << logs[0] << "\nuserbpf log:\n" << logs[1];
    if (func_info.size() == 4) {
      EXPECT_EQ(rejection_reason(logs[0]), rejection_reason(logs[1]));
    }
  }
}

// bpf_for_each_map_elem callbacks on raw instructions: the callback's
// registers (r1 the map, r2 the key, r3 the value, r4 ctx, r5 unset), what
// it may do with them, and its return value, with the kernel's errno and
// reason. main: r1 = a hash map (key 4, value 8 bytes), r2 = the callback,
// r3 = fp-8 (zeroed), r4 = 0, bpf_for_each_map_elem, return 0.
TEST_F(DiffBtf, ForEachCallbacks) {
  ubt::BtfBuilder b;
  const uint32_t i32 = b.int_type("int", 4, 32);
  const uint32_t skb = b.composite(BTF_KIND_STRUCT, "__sk_buff", 4, {{"len", i32, 0}});
  const uint32_t main_fn = b.func("main_fn", b.func_proto(i32, {{"ctx", b.ref(BTF_KIND_PTR, skb)}}));
  const uint32_t vptr = b.ref(BTF_KIND_PTR, 0);
  const uint32_t cb_fn =
      b.func("cb", b.func_proto(i32, {{"map", vptr}, {"key", vptr}, {"value", vptr}, {"ctx", vptr}}), BTF_FUNC_STATIC);
  const Blob blob = b.build();
  long map_fd[2];
  map_fd[0] = ubt::map_create(ubt::kernel_call, BPF_MAP_TYPE_HASH, 4, 8, 4);
  map_fd[1] = ubt::map_create(ubt::userbpf_call, BPF_MAP_TYPE_HASH, 4, 8, 4);
  ASSERT_GE(map_fd[0], 0);
  ASSERT_GE(map_fd[1], 0);
  struct Case {
    const char *what;
    bool accepted; // the kernel's verdict
    std::vector<struct bpf_insn> body; // the callback, before its exit
  };
  const std::vector<Case> cases = {
      {"returns 0", true, {mov_imm(0, 0)}},
      {"returns 1", true, {mov_imm(0, 1)}},
      {"returns 2", false, {mov_imm(0, 2)}},
      {"returns its value pointer", false, {mov_reg(0, 3)}},
      {"reads its key", true, {load_w(0, 2, 0), mov_imm(0, 0)}},
      {"reads past its key", false, {load_w(0, 2, 4), mov_imm(0, 0)}},
      {"writes its key", false, {store_dw(2, 0, 1), mov_imm(0, 0)}},
      {"writes its value", true, {store_dw(3, 0, 1), mov_imm(0, 0)}},
      {"writes past its value", false, {store_dw(3, 8, 1), mov_imm(0, 0)}},
      {"writes its ctx", true, {store_dw(4, 0, 1), mov_imm(0, 0)}},
      {"reads r5", false, {mov_reg(0, 5), mov_imm(0, 0)}},
      {"looks its key up in its map", true,
       {insn(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem), mov_imm(0, 0)}},
      {"deletes its element", true, {insn(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_delete_elem), mov_imm(0, 0)}},
      {"updates with its 4-byte key as the 8-byte value", false,
       {mov_reg(3, 2), mov_imm(4, 0), insn(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_update_elem), mov_imm(0, 0)}},
  };
  for (const Case &c : cases) {
    long got[2];
    std::string logs[2];
    for (int side = 0; side < 2; side++) {
      std::vector<struct bpf_insn> insns = {store_dw(10, -8, 0),
                                            insn(BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0,
                                                 static_cast<int32_t>(map_fd[side])),
                                            insn(0, 0, 0, 0, 0)};
      const uint32_t cb_start = append_callback_call(insns, BPF_FUNC_for_each_map_elem, c.body);
      const std::vector<uint32_t> func_info = {0, main_fn, cb_start, cb_fn};
      got[side] = load_with_func_info(side == 0 ? ubt::kernel_call : ubt::userbpf_call, blob, insns, func_info,
                                      &logs[side]);
    }
    expect_kernel_verdict(c.what, c.accepted, got, logs);
  }
  close(static_cast<int>(map_fd[0]));
  close(static_cast<int>(map_fd[1]));
}

} // namespace

namespace {

// func_info and line_info arrays whose last record lies on an unmapped page:
// the kernel copies records one at a time, so a load fails with EFAULT only
// when every record before the bad one passed its checks, and with that
// record's own error otherwise. userbpf reads a whole array at once when it
// can; these cases make sure the fallback keeps the kernel's order.
TEST_F(DiffBtf, ProgInfoRecordsOnAnUnmappedPage) {
  ubt::BtfBuilder b;
  uint32_t i32 = b.int_type("int", 4, 32);
  uint32_t proto = b.func_proto(i32, {});
  uint32_t fmain = b.func("main_fn", proto, BTF_FUNC_STATIC);
  uint32_t f1 = b.func("f1", proto, BTF_FUNC_STATIC);
  uint32_t file = b.str("prog.c"), line = b.str("return 0;");
  Blob blob = b.build();
  // main at 0 calls f1 at 3.
  const struct bpf_insn insns[] = {
      {BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 2}, {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},               {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 1},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  const long page = sysconf(_SC_PAGESIZE);
  void *mem = mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(mem, MAP_FAILED);
  ASSERT_EQ(mprotect(static_cast<char *>(mem) + page, page, PROT_NONE), 0);
  // The records given are written so that the array's last record (not
  // given) starts at the unmapped page.
  auto array_before_hole = [&](const std::vector<uint32_t> &words, uint32_t rec_size) {
    char *end = static_cast<char *>(mem) + page;
    char *start = end - words.size() * 4;
    memcpy(start, words.data(), words.size() * 4);
    return std::make_pair(reinterpret_cast<uintptr_t>(start), static_cast<uint32_t>(words.size() * 4 / rec_size + 1));
  };
  struct Case {
    const char *what;
    bool hole_in_funcs; // else in the line records
    std::vector<uint32_t> func_words, line_words;
    long kernel_err;
  };
  std::vector<uint32_t> good_funcs = {0, fmain, 3, f1};
  std::vector<uint32_t> good_lines = {0, file, line, 1, 3, file, line, 2};
  const std::vector<Case> cases = {
      {"func records fault after good ones", true, {0, fmain, 3, f1}, good_lines, -EFAULT},
      {"bad first func record before the fault", true, {1, fmain, 3, f1}, good_lines, -EINVAL},
      {"line records fault after good ones", false, good_funcs, {0, file, line, 1, 3, file, line, 2}, -EFAULT},
      {"lines out of order before the fault", false, good_funcs, {3, file, line, 1, 0, file, line, 2}, -EINVAL},
  };
  for (const Case &c : cases) {
    long got[2];
    std::string logs[2];
    int side = 0;
    for (ubt::BpfFn fn : {ubt::kernel_call, ubt::userbpf_call}) {
      int btf_fd = -1;
      ASSERT_EQ(load(fn, blob, 0, 0, &btf_fd).ret, 0);
      std::vector<char> log(65536, 0);
      union bpf_attr a;
      memset(&a, 0, sizeof(a));
      a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
      a.insns = reinterpret_cast<uintptr_t>(insns);
      a.insn_cnt = sizeof(insns) / sizeof(insns[0]);
      a.license = reinterpret_cast<uintptr_t>("GPL");
      a.log_buf = reinterpret_cast<uintptr_t>(log.data());
      a.log_size = static_cast<uint32_t>(log.size());
      a.log_level = 1;
      a.prog_btf_fd = static_cast<uint32_t>(btf_fd);
      a.func_info_rec_size = 8;
      a.line_info_rec_size = 16;
      if (c.hole_in_funcs) {
        std::tie(a.func_info, a.func_info_cnt) = array_before_hole(c.func_words, 8);
        a.line_info = reinterpret_cast<uintptr_t>(c.line_words.data());
        a.line_info_cnt = static_cast<uint32_t>(c.line_words.size() / 4);
      } else {
        a.func_info = reinterpret_cast<uintptr_t>(c.func_words.data());
        a.func_info_cnt = static_cast<uint32_t>(c.func_words.size() / 2);
        std::tie(a.line_info, a.line_info_cnt) = array_before_hole(c.line_words, 16);
      }
      long r = ubt::call(fn, BPF_PROG_LOAD, a);
      if (r >= 0) close(static_cast<int>(r));
      got[side] = r < 0 ? r : 0;
      logs[side] = log.data();
      close(btf_fd);
      side++;
    }
    EXPECT_EQ(got[0], c.kernel_err) << c.what << " (the kernel's verdict changed?)";
    EXPECT_EQ(got[0], got[1]) << c.what << "\nkernel log:\n" << logs[0] << "\nuserbpf log:\n" << logs[1];
    EXPECT_EQ(logs[0], logs[1]) << c.what;
  }
  munmap(mem, 2 * page);
}

} // namespace
