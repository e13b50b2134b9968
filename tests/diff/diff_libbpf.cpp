// Differential test of libbpf in-process: the same clang-built objects
// (tests/libbpf) opened and loaded by Debian's libbpf into the kernel and
// into userbpf (bpf() routed per thread, tests/common/bpf_router.h). Both
// sides must agree on the verdict, on every map's bpf_map_info (type, sizes,
// flags, BTF type ids), on every program's func_info and line_info records
// and used maps, on the BTF blob, and on global data as loaded (.data
// initial values, .rodata frozen).
//
// libbpf caches its feature probes per process: the userbpf side runs first,
// so both sides load with what userbpf reports (the kernel has all of it).
#include <errno.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "bpf_router.h"
#include "bpf_test_util.h"
#include "private_root_env.h"

namespace {

#ifndef UBT_LIBBPF_OBJ_DIR
TEST(DiffLibbpf, Objects) { GTEST_SKIP() << "no clang for -target bpf: the tests/libbpf objects were not built"; }
#else
using ubt::Backend;

// What one side reports about a loaded object.
struct Loaded {
  int err = 0;
  std::map<std::string, bpf_map_info> maps;
  std::map<std::string, bpf_prog_info> progs;
  std::map<std::string, std::vector<bpf_func_info>> func_info;
  std::map<std::string, std::vector<bpf_line_info>> line_info;
  std::vector<uint8_t> btf;
  std::map<std::string, std::vector<uint8_t>> global_values; // .data/.rodata/.bss contents
  std::map<std::string, int> rodata_update;                  // update of a global map: 0 or -errno
};

Loaded load_object(const std::string &path, Backend backend) {
  return ubt::with_backend(backend, [&] {
    Loaded out;
    struct bpf_object *obj = bpf_object__open_file(path.c_str(), nullptr);
    if (!obj) {
      out.err = -errno;
      return out;
    }
    out.err = bpf_object__load(obj);
    if (out.err) {
      bpf_object__close(obj);
      return out;
    }
    struct bpf_map *m;
    bpf_object__for_each_map(m, obj) {
      struct bpf_map_info info = {};
      uint32_t len = sizeof(info);
      EXPECT_EQ(bpf_obj_get_info_by_fd(bpf_map__fd(m), &info, &len), 0);
      out.maps[bpf_map__name(m)] = info;
      if (info.map_flags & BPF_F_MMAPABLE) { // a global data section
        uint32_t zero = 0;
        std::vector<uint8_t> value(info.value_size);
        EXPECT_EQ(bpf_map_lookup_elem(bpf_map__fd(m), &zero, value.data()), 0);
        out.global_values[bpf_map__name(m)] = value;
        out.rodata_update[bpf_map__name(m)] = bpf_map_update_elem(bpf_map__fd(m), &zero, value.data(), 0);
      }
    }
    struct bpf_program *p;
    bpf_object__for_each_program(p, obj) {
      struct bpf_prog_info info = {};
      uint32_t len = sizeof(info);
      int fd = bpf_program__fd(p);
      EXPECT_EQ(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
      std::vector<bpf_func_info> funcs(info.nr_func_info);
      std::vector<bpf_line_info> lines(info.nr_line_info);
      struct bpf_prog_info again = {};
      again.nr_func_info = info.nr_func_info;
      again.func_info_rec_size = sizeof(bpf_func_info);
      again.func_info = reinterpret_cast<uintptr_t>(funcs.data());
      again.nr_line_info = info.nr_line_info;
      again.line_info_rec_size = sizeof(bpf_line_info);
      again.line_info = reinterpret_cast<uintptr_t>(lines.data());
      EXPECT_EQ(bpf_obj_get_info_by_fd(fd, &again, &len), 0);
      out.progs[bpf_program__name(p)] = info;
      out.func_info[bpf_program__name(p)] = funcs;
      out.line_info[bpf_program__name(p)] = lines;
    }
    if (struct btf *btf = bpf_object__btf(obj)) {
      struct bpf_btf_info bi = {};
      std::vector<uint8_t> blob(1 << 16);
      bi.btf = reinterpret_cast<uintptr_t>(blob.data());
      bi.btf_size = static_cast<uint32_t>(blob.size());
      uint32_t len = sizeof(bi);
      EXPECT_EQ(bpf_obj_get_info_by_fd(btf__fd(btf), &bi, &len), 0);
      blob.resize(std::min<size_t>(bi.btf_size, blob.size()));
      out.btf = blob;
    }
    bpf_object__close(obj);
    return out;
  });
}

class DiffLibbpf : public ::testing::TestWithParam<const char *> {
 protected:
  void SetUp() override {
    std::string why;
    if (!ubt::kernel_bpf_available(&why)) GTEST_SKIP() << why;
    libbpf_set_print([](enum libbpf_print_level, const char *, va_list) { return 0; });
  }
};

TEST_P(DiffLibbpf, SameObjectSameAnswers) {
  std::string path = std::string(UBT_LIBBPF_OBJ_DIR) + "/" + GetParam() + ".bpf.o";
  Loaded u = load_object(path, Backend::kUserbpf);
  Loaded k = load_object(path, Backend::kKernel);
  ASSERT_EQ(k.err, u.err);
  if (k.err) return;
  ASSERT_EQ(k.maps.size(), u.maps.size());
  for (const auto &[name, ki] : k.maps) {
    SCOPED_TRACE("map " + name);
    ASSERT_TRUE(u.maps.count(name));
    const bpf_map_info &ui = u.maps.at(name);
    EXPECT_EQ(ki.type, ui.type);
    EXPECT_EQ(ki.key_size, ui.key_size);
    EXPECT_EQ(ki.value_size, ui.value_size);
    EXPECT_EQ(ki.max_entries, ui.max_entries);
    EXPECT_EQ(ki.map_flags, ui.map_flags);
    EXPECT_EQ(ki.btf_key_type_id, ui.btf_key_type_id);
    EXPECT_EQ(ki.btf_value_type_id, ui.btf_value_type_id);
    EXPECT_EQ(!!ki.btf_id, !!ui.btf_id);
    EXPECT_STREQ(ki.name, ui.name);
  }
  EXPECT_EQ(k.global_values, u.global_values);
  EXPECT_EQ(k.rodata_update, u.rodata_update);
  ASSERT_EQ(k.progs.size(), u.progs.size());
  for (const auto &[name, ki] : k.progs) {
    SCOPED_TRACE("prog " + name);
    ASSERT_TRUE(u.progs.count(name));
    const bpf_prog_info &ui = u.progs.at(name);
    EXPECT_EQ(ki.type, ui.type);
    EXPECT_EQ(ki.nr_map_ids, ui.nr_map_ids);
    EXPECT_EQ(ki.gpl_compatible, ui.gpl_compatible);
    EXPECT_EQ(!!ki.btf_id, !!ui.btf_id);
    EXPECT_EQ(ki.nr_func_info, ui.nr_func_info);
    EXPECT_EQ(ki.nr_line_info, ui.nr_line_info);
    // The records' insn_off index each side's xlated program: the kernel's
    // grows where it rewrites context accesses and inlines map lookups,
    // userbpf's keeps the loaded shape (tests/diff/known-differences.md).
    // Offsets are compared where both programs have the same length.
    bool same_shape = ki.xlated_prog_len == ui.xlated_prog_len;
    const auto &kf = k.func_info.at(name), &uf = u.func_info.at(name);
    ASSERT_EQ(kf.size(), uf.size());
    for (size_t i = 0; i < kf.size(); i++) {
      if (same_shape) {
        EXPECT_EQ(kf[i].insn_off, uf[i].insn_off) << i;
      }
      EXPECT_EQ(kf[i].type_id, uf[i].type_id) << i;
    }
    const auto &kl = k.line_info.at(name), &ul = u.line_info.at(name);
    ASSERT_EQ(kl.size(), ul.size());
    for (size_t i = 0; i < kl.size(); i++) {
      if (same_shape) {
        EXPECT_EQ(kl[i].insn_off, ul[i].insn_off) << i;
      }
      EXPECT_EQ(kl[i].file_name_off, ul[i].file_name_off) << i;
      EXPECT_EQ(kl[i].line_off, ul[i].line_off) << i;
      EXPECT_EQ(kl[i].line_col, ul[i].line_col) << i;
    }
  }
  EXPECT_EQ(k.btf, u.btf);
}

INSTANTIATE_TEST_SUITE_P(Objects, DiffLibbpf, ::testing::Values("globals", "typed_maps", "calls", "unknown_section", "rodata_write", "global_func", "bind_rodata",
                                                               "queue_stack"));
#endif

} // namespace
