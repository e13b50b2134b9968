// libbpf in-process: Debian's unmodified libbpf opens and loads clang-built
// objects into userbpf. This binary links the shared libuserbpf and nothing
// else of ours: libbpf's syscall(__NR_bpf, ...) reaches userbpf only through
// libuserbpf's syscall() (src/syscall/syscall_interposer.cpp), as in a
// user's program. Every object is loaded through the plain API, one
// (globals) also through a bpftool-generated skeleton; the tests read and
// write maps and global data and check what bpf_map_info, bpf_prog_info and
// bpf_btf_info report. Bad inputs (corrupt ELF, corrupt BTF, unknown
// section) must fail cleanly with libbpf's error.
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "bpf_test_util.h"

#ifdef UBT_HAVE_SKELETON
#include "globals.skel.h"
#endif

namespace {

std::string obj_path(const char *name) { return std::string(UBT_LIBBPF_OBJ_DIR) + "/" + name + ".bpf.o"; }

// Every test runs with its own pin root, so ids and objects start afresh.
class LibbpfTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ubt::use_private_fs_root(); }
  void SetUp() override {
    libbpf_set_print([](enum libbpf_print_level level, const char *fmt, va_list ap) {
      return level == LIBBPF_DEBUG || !getenv("UBT_LIBBPF_VERBOSE") ? 0 : vfprintf(stderr, fmt, ap);
    });
  }
};

struct bpf_map_info map_info(int fd) {
  struct bpf_map_info info = {};
  uint32_t len = sizeof(info);
  EXPECT_EQ(bpf_obj_get_info_by_fd(fd, &info, &len), 0) << strerror(errno);
  return info;
}

// The id of the BTF object libbpf loaded for an object.
uint32_t btf_obj_id(const struct btf *btf) {
  struct bpf_btf_info info = {};
  uint32_t len = sizeof(info);
  EXPECT_EQ(bpf_obj_get_info_by_fd(btf__fd(btf), &info, &len), 0) << strerror(errno);
  return info.id;
}

TEST_F(LibbpfTest, RequestsReachUserbpf) {
  // A map created through libbpf is one of userbpf's: it has a pin-root
  // object file, which the kernel's maps never have.
  int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "probe", 4, 8, 2, nullptr);
  ASSERT_GE(fd, 0) << strerror(errno);
  struct bpf_map_info info = map_info(fd);
  char path[4096];
  ASSERT_EQ(userbpf_pin_path("/sys/fs/bpf", path, sizeof(path)), 0);
  std::string store = std::string(path) + "/.userbpf/obj/map-" + std::to_string(info.id);
  EXPECT_EQ(access(store.c_str(), F_OK), 0) << store;
  close(fd);
  // Other system calls still reach the kernel.
  EXPECT_EQ(syscall(SYS_getpid), getpid());
  errno = 0;
  EXPECT_EQ(syscall(SYS_close, -1), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST_F(LibbpfTest, GlobalDataThroughPlainApi) {
  struct bpf_object *obj = bpf_object__open_file(obj_path("globals").c_str(), nullptr);
  ASSERT_NE(obj, nullptr) << strerror(errno);
  ASSERT_EQ(bpf_object__load(obj), 0) << strerror(errno);
  struct bpf_map *bss = bpf_object__find_map_by_name(obj, "globals.bss");
  struct bpf_map *data = bpf_object__find_map_by_name(obj, "globals.data");
  struct bpf_map *rodata = bpf_object__find_map_by_name(obj, "globals.rodata");
  ASSERT_TRUE(bss && data && rodata);

  // .data starts with its initial values; .rodata is frozen.
  uint32_t zero = 0;
  std::vector<uint8_t> value(bpf_map__value_size(data));
  ASSERT_EQ(bpf_map_lookup_elem(bpf_map__fd(data), &zero, value.data()), 0);
  uint64_t total;
  memcpy(&total, value.data(), 8);
  EXPECT_EQ(total, 100u);
  std::vector<uint8_t> ro(bpf_map__value_size(rodata));
  ASSERT_EQ(bpf_map_lookup_elem(bpf_map__fd(rodata), &zero, ro.data()), 0);
  uint32_t scale;
  memcpy(&scale, ro.data(), 4);
  EXPECT_EQ(scale, 3u);
  EXPECT_EQ(bpf_map_update_elem(bpf_map__fd(rodata), &zero, ro.data(), 0), -EPERM);

  // The global data maps: mmap-able one-element arrays whose BTF value is
  // the section's DATASEC, without a key type; .rodata read-only for programs.
  struct btf *btf = bpf_object__btf(obj);
  ASSERT_NE(btf, nullptr);
  for (struct bpf_map *m : {bss, data, rodata}) {
    struct bpf_map_info info = map_info(bpf_map__fd(m));
    SCOPED_TRACE(bpf_map__name(m));
    EXPECT_EQ(info.type, BPF_MAP_TYPE_ARRAY);
    EXPECT_EQ(info.max_entries, 1u);
    EXPECT_TRUE(info.map_flags & BPF_F_MMAPABLE);
    EXPECT_EQ(!!(info.map_flags & BPF_F_RDONLY_PROG), m == rodata);
    EXPECT_EQ(info.btf_id, btf_obj_id(btf));
    EXPECT_EQ(info.btf_key_type_id, 0u);
    ASSERT_NE(info.btf_value_type_id, 0u);
    const struct btf_type *t = btf__type_by_id(btf, info.btf_value_type_id);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(btf_kind(t), BTF_KIND_DATASEC);
  }

  // The BTF-defined map keeps its key and value types.
  struct bpf_map *counters = bpf_object__find_map_by_name(obj, "counters");
  ASSERT_NE(counters, nullptr);
  struct bpf_map_info ci = map_info(bpf_map__fd(counters));
  EXPECT_NE(ci.btf_key_type_id, 0u);
  EXPECT_NE(ci.btf_value_type_id, 0u);
  uint32_t key = 1;
  uint64_t v = 41;
  ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(counters), &key, &v, BPF_ANY), 0);
  v = 0;
  ASSERT_EQ(bpf_map_lookup_elem(bpf_map__fd(counters), &key, &v), 0);
  EXPECT_EQ(v, 41u);

  // The program: its instructions refer to the three sections' maps.
  struct bpf_program *prog = bpf_object__find_program_by_name(obj, "count_packets");
  ASSERT_NE(prog, nullptr);
  struct bpf_prog_info pi = {};
  uint32_t map_ids[8];
  pi.nr_map_ids = 8;
  pi.map_ids = reinterpret_cast<uintptr_t>(map_ids);
  uint32_t len = sizeof(pi);
  ASSERT_EQ(bpf_obj_get_info_by_fd(bpf_program__fd(prog), &pi, &len), 0);
  EXPECT_EQ(pi.type, BPF_PROG_TYPE_SOCKET_FILTER);
  EXPECT_EQ(pi.nr_map_ids, 4u);
  EXPECT_EQ(pi.btf_id, btf_obj_id(btf));
  EXPECT_EQ(pi.nr_func_info, 1u);
  EXPECT_GT(pi.nr_line_info, 0u);
  bpf_object__close(obj);
}

#ifdef UBT_HAVE_SKELETON
TEST_F(LibbpfTest, Skeleton) {
  struct globals *skel = globals__open();
  ASSERT_NE(skel, nullptr) << strerror(errno);
  skel->rodata->scale = 5; // before load: part of the frozen .rodata
  ASSERT_EQ(globals__load(skel), 0) << strerror(errno);
  // The skeleton's .bss and .data pointers are mmaps of the maps: writes
  // through them are map contents, and map updates show through them.
  skel->bss->runs = 7;
  skel->data->total = 9;
  uint32_t zero = 0;
  std::vector<uint8_t> v(bpf_map__value_size(skel->maps.bss));
  ASSERT_EQ(bpf_map_lookup_elem(bpf_map__fd(skel->maps.bss), &zero, v.data()), 0);
  uint64_t runs;
  memcpy(&runs, v.data(), 8);
  EXPECT_EQ(runs, 7u);
  skel->bss->last_len[2] = 1234;
  std::vector<uint8_t> d(bpf_map__value_size(skel->maps.data));
  ASSERT_EQ(bpf_map_lookup_elem(bpf_map__fd(skel->maps.data), &zero, d.data()), 0);
  uint64_t total;
  memcpy(&total, d.data(), 8);
  EXPECT_EQ(total, 9u);
  memset(v.data(), 0, v.size());
  uint64_t hundred = 100;
  memcpy(v.data(), &hundred, 8);
  ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel->maps.bss), &zero, v.data(), BPF_ANY), 0);
  EXPECT_EQ(skel->bss->runs, 100u);
  // .rodata holds what was set before load, and is frozen now.
  std::vector<uint8_t> ro(bpf_map__value_size(skel->maps.rodata));
  ASSERT_EQ(bpf_map_lookup_elem(bpf_map__fd(skel->maps.rodata), &zero, ro.data()), 0);
  uint32_t scale;
  memcpy(&scale, ro.data(), 4);
  EXPECT_EQ(scale, 5u);
  EXPECT_EQ(bpf_map_update_elem(bpf_map__fd(skel->maps.rodata), &zero, ro.data(), BPF_ANY), -EPERM);
  void *w = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(skel->maps.rodata), 0);
  EXPECT_EQ(w, MAP_FAILED);
  EXPECT_GE(bpf_program__fd(skel->progs.count_packets), 0);
  globals__destroy(skel);
}
#endif

TEST_F(LibbpfTest, TypedMaps) {
  struct bpf_object *obj = bpf_object__open_file(obj_path("typed_maps").c_str(), nullptr);
  ASSERT_NE(obj, nullptr) << strerror(errno);
  ASSERT_EQ(bpf_object__load(obj), 0) << strerror(errno);
  struct btf *btf = bpf_object__btf(obj);
  ASSERT_NE(btf, nullptr);
  struct Expect {
    const char *map, *key, *value;
    uint32_t type;
  };
  for (const Expect &e : {Expect{"flows", "flow_key", "flow_stats", BPF_MAP_TYPE_HASH},
                          Expect{"per_cpu", "__u32", "flow_stats", BPF_MAP_TYPE_PERCPU_ARRAY},
                          Expect{"recent", "__u64", "__u32", BPF_MAP_TYPE_LRU_HASH}}) {
    SCOPED_TRACE(e.map);
    struct bpf_map *m = bpf_object__find_map_by_name(obj, e.map);
    ASSERT_NE(m, nullptr);
    struct bpf_map_info info = map_info(bpf_map__fd(m));
    EXPECT_EQ(info.type, e.type);
    EXPECT_EQ(info.btf_id, btf_obj_id(btf));
    EXPECT_STREQ(btf__name_by_offset(btf, btf__type_by_id(btf, info.btf_key_type_id)->name_off), e.key);
    EXPECT_STREQ(btf__name_by_offset(btf, btf__type_by_id(btf, info.btf_value_type_id)->name_off), e.value);
  }
  struct FlowKey {
    uint32_t saddr, daddr;
    uint16_t sport, dport;
    uint8_t proto, pad[3];
  } key = {1, 2, 3, 4, 17, {}};
  uint64_t stats[2] = {5, 6}, back[2] = {};
  int flows = bpf_map__fd(bpf_object__find_map_by_name(obj, "flows"));
  ASSERT_EQ(bpf_map_update_elem(flows, &key, stats, BPF_NOEXIST), 0);
  ASSERT_EQ(bpf_map_lookup_elem(flows, &key, back), 0);
  EXPECT_EQ(back[0], 5u);
  EXPECT_EQ(back[1], 6u);
  EXPECT_EQ(bpf_map_update_elem(flows, &key, stats, BPF_NOEXIST), -EEXIST);
  bpf_object__close(obj);
}

TEST_F(LibbpfTest, FuncAndLineInfo) {
  struct bpf_object *obj = bpf_object__open_file(obj_path("calls").c_str(), nullptr);
  ASSERT_NE(obj, nullptr) << strerror(errno);
  ASSERT_EQ(bpf_object__load(obj), 0) << strerror(errno);
  struct bpf_program *prog = bpf_object__find_program_by_name(obj, "calls_main");
  ASSERT_NE(prog, nullptr);
  int fd = bpf_program__fd(prog);
  struct bpf_prog_info pi = {};
  uint32_t len = sizeof(pi);
  ASSERT_EQ(bpf_obj_get_info_by_fd(fd, &pi, &len), 0);
  ASSERT_EQ(pi.nr_func_info, 3u); // calls_main, sum_squares, square
  ASSERT_GT(pi.nr_line_info, 3u);
  std::vector<struct bpf_func_info> funcs(pi.nr_func_info);
  std::vector<struct bpf_line_info> lines(pi.nr_line_info);
  uint32_t nf = pi.nr_func_info, nl = pi.nr_line_info;
  memset(&pi, 0, sizeof(pi));
  pi.nr_func_info = nf;
  pi.func_info_rec_size = sizeof(struct bpf_func_info);
  pi.func_info = reinterpret_cast<uintptr_t>(funcs.data());
  pi.nr_line_info = nl;
  pi.line_info_rec_size = sizeof(struct bpf_line_info);
  pi.line_info = reinterpret_cast<uintptr_t>(lines.data());
  ASSERT_EQ(bpf_obj_get_info_by_fd(fd, &pi, &len), 0);
  struct btf *btf = bpf_object__btf(obj);
  EXPECT_EQ(funcs[0].insn_off, 0u);
  const char *names[3];
  for (int i = 0; i < 3; i++) {
    const struct btf_type *t = btf__type_by_id(btf, funcs[i].type_id);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(btf_kind(t), BTF_KIND_FUNC);
    names[i] = btf__name_by_offset(btf, t->name_off);
    if (i) {
      EXPECT_GT(funcs[i].insn_off, funcs[i - 1].insn_off);
    }
  }
  EXPECT_STREQ(names[0], "calls_main");
  EXPECT_EQ(lines[0].insn_off, 0u);
  EXPECT_NE(btf__name_by_offset(btf, lines[0].file_name_off), nullptr);

  // The program's BTF by id: the same blob libbpf loaded.
  int btf_fd = bpf_btf_get_fd_by_id(pi.btf_id);
  ASSERT_GE(btf_fd, 0) << strerror(errno);
  struct bpf_btf_info bi = {};
  uint32_t blen = sizeof(bi);
  ASSERT_EQ(bpf_obj_get_info_by_fd(btf_fd, &bi, &blen), 0);
  EXPECT_EQ(bi.id, pi.btf_id);
  EXPECT_GT(bi.btf_size, 0u);
  EXPECT_EQ(bi.kernel_btf, 0u);
  struct btf *fetched = btf__load_from_kernel_by_id(pi.btf_id);
  ASSERT_NE(fetched, nullptr) << strerror(errno);
  EXPECT_EQ(btf__type_cnt(fetched), btf__type_cnt(btf));
  btf__free(fetched);
  close(btf_fd);
  bpf_object__close(obj);
}

// Feature probes get truthful answers: what userbpf has is supported, the
// rest reads as missing, as on a kernel without it.
TEST_F(LibbpfTest, FeatureProbes) {
  EXPECT_EQ(libbpf_probe_bpf_map_type(BPF_MAP_TYPE_ARRAY, nullptr), 1);
  EXPECT_EQ(libbpf_probe_bpf_map_type(BPF_MAP_TYPE_LRU_PERCPU_HASH, nullptr), 1);
  EXPECT_EQ(libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, nullptr), 0);
  EXPECT_EQ(libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_XDP, nullptr), 1);
  EXPECT_EQ(libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SOCKET_FILTER, nullptr), 1);
  EXPECT_EQ(libbpf_probe_bpf_helper(BPF_PROG_TYPE_XDP, BPF_FUNC_map_lookup_elem, nullptr), 1);
}

std::vector<char> read_file(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<char>(std::istreambuf_iterator<char>(f), {});
}

TEST_F(LibbpfTest, CorruptElf) {
  std::vector<char> elf = read_file(obj_path("globals"));
  ASSERT_GT(elf.size(), 64u);
  // Truncated, and not an ELF file at all: open fails with libbpf's error.
  std::vector<char> half(elf.begin(), elf.begin() + static_cast<long>(elf.size() / 3));
  struct bpf_object *obj = bpf_object__open_mem(half.data(), half.size(), nullptr);
  EXPECT_EQ(obj, nullptr);
  EXPECT_NE(errno, 0);
  std::vector<char> junk(512, 'x');
  obj = bpf_object__open_mem(junk.data(), junk.size(), nullptr);
  EXPECT_EQ(obj, nullptr);
  EXPECT_EQ(errno, LIBBPF_ERRNO__FORMAT);
}

// Corrupt BTF inside a valid ELF: libbpf's own checks or userbpf's BTF_LOAD
// reject it; the object then loads without BTF or fails, never crashes.
TEST_F(LibbpfTest, CorruptBtfInElf) {
  std::vector<char> elf = read_file(obj_path("typed_maps"));
  // Find the .BTF magic (0xeb9f, little endian) and damage the first type.
  size_t at = 0;
  for (size_t i = 0; i + 1 < elf.size(); i++)
    if (static_cast<uint8_t>(elf[i]) == 0x9f && static_cast<uint8_t>(elf[i + 1]) == 0xeb) at = i;
  ASSERT_NE(at, 0u);
  std::vector<char> bad = elf;
  bad[at + 24 + 4 + 3] = 0x7f; // kind 31 in the first type's info
  struct bpf_object *obj = bpf_object__open_mem(bad.data(), bad.size(), nullptr);
  if (obj) {
    int err = bpf_object__load(obj);
    EXPECT_NE(err, 0) << "the BTF-defined maps need their BTF";
    bpf_object__close(obj);
  } else {
    EXPECT_NE(errno, 0);
  }
  // A blob libbpf accepts but BTF_LOAD refuses (an INT of 129 bits): the
  // kernel-side verdict comes from userbpf, and libbpf reports it.
  struct btf *btf = btf__new_empty();
  btf__add_int(btf, "int", 4, BTF_INT_SIGNED);
  uint32_t size = 0;
  const void *raw = btf__raw_data(btf, &size);
  std::vector<uint8_t> blob(static_cast<const uint8_t *>(raw), static_cast<const uint8_t *>(raw) + size);
  uint32_t *int_data = reinterpret_cast<uint32_t *>(blob.data() + 24 + 12);
  *int_data = 129;
  char log[256] = {};
  LIBBPF_OPTS(bpf_btf_load_opts, opts);
  opts.log_buf = log;
  opts.log_size = sizeof(log);
  opts.log_level = 1;
  EXPECT_LT(bpf_btf_load(blob.data(), blob.size(), &opts), 0);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_NE(strstr(log, "nr_bits exceeds 128"), nullptr) << log;
  btf__free(btf);
}

// libbpf's FEAT_PROG_BIND_MAP probe finds BPF_PROG_BIND_MAP supported, so
// it binds .rodata to every program of the object: the one that never reads
// it lists it too, and keeps it alive after the object's map fds are gone.
TEST_F(LibbpfTest, RodataBoundToEveryProgram) {
  struct bpf_object *obj = bpf_object__open_file(obj_path("bind_rodata").c_str(), nullptr);
  ASSERT_NE(obj, nullptr) << strerror(errno);
  ASSERT_EQ(bpf_object__load(obj), 0);
  struct bpf_map *rodata = bpf_object__find_map_by_name(obj, "bind_rod.rodata");
  ASSERT_NE(rodata, nullptr);
  const uint32_t rodata_id = map_info(bpf_map__fd(rodata)).id;
  int kept_prog = -1;
  for (const char *name : {"uses_rodata", "ignores_rodata"}) {
    SCOPED_TRACE(name);
    struct bpf_program *prog = bpf_object__find_program_by_name(obj, name);
    ASSERT_NE(prog, nullptr);
    uint32_t ids[4] = {};
    struct bpf_prog_info pi = {};
    pi.nr_map_ids = 4;
    pi.map_ids = reinterpret_cast<uintptr_t>(ids);
    uint32_t len = sizeof(pi);
    ASSERT_EQ(bpf_obj_get_info_by_fd(bpf_program__fd(prog), &pi, &len), 0);
    ASSERT_EQ(pi.nr_map_ids, 1u);
    EXPECT_EQ(ids[0], rodata_id);
    if (std::string(name) == "ignores_rodata") kept_prog = dup(bpf_program__fd(prog));
  }
  ASSERT_GE(kept_prog, 0);
  bpf_object__close(obj);
  // Only the program that never reads .rodata holds it now.
  int fd = bpf_map_get_fd_by_id(rodata_id);
  EXPECT_GE(fd, 0) << strerror(errno);
  if (fd >= 0) close(fd);
  close(kept_prog);
  EXPECT_EQ(bpf_map_get_fd_by_id(rodata_id), -ENOENT);
}

// The verifier's refusal reaches the user through libbpf's log.
TEST_F(LibbpfTest, WriteIntoRodataRefused) {
  struct bpf_object *obj = bpf_object__open_file(obj_path("rodata_write").c_str(), nullptr);
  ASSERT_NE(obj, nullptr) << strerror(errno);
  struct bpf_program *prog = bpf_object__find_program_by_name(obj, "write_rodata");
  ASSERT_NE(prog, nullptr);
  static char log[16384];
  bpf_program__set_log_buf(prog, log, sizeof(log));
  bpf_program__set_log_level(prog, 1);
  EXPECT_EQ(bpf_object__load(obj), -EACCES);
  EXPECT_NE(strstr(log, "write into map forbidden"), nullptr) << log;
  bpf_object__close(obj);
}

// A queue and a stack through libbpf: the program's pushes, pops and peeks
// over a few test runs, then what user space pops (queue: oldest first,
// the oldest dropped when full; stack: newest first).
TEST_F(LibbpfTest, QueueAndStack) {
  struct bpf_object *obj = bpf_object__open_file(obj_path("queue_stack").c_str(), nullptr);
  ASSERT_NE(obj, nullptr) << strerror(errno);
  ASSERT_EQ(bpf_object__load(obj), 0);
  struct bpf_map *lengths = bpf_object__find_map_by_name(obj, "lengths");
  struct bpf_map *seen = bpf_object__find_map_by_name(obj, "seen");
  struct bpf_program *prog = bpf_object__find_program_by_name(obj, "queue_lengths");
  ASSERT_TRUE(lengths && seen && prog);
  EXPECT_EQ(map_info(bpf_map__fd(lengths)).type, static_cast<uint32_t>(BPF_MAP_TYPE_QUEUE));
  EXPECT_EQ(map_info(bpf_map__fd(lengths)).key_size, 0u);
  EXPECT_EQ(map_info(bpf_map__fd(seen)).btf_value_type_id, 0u) << "libbpf strips BTF from stacks";
  std::vector<uint32_t> verdicts;
  for (uint32_t len : {60u, 61u, 61u, 62u, 63u, 63u}) {
    std::vector<uint8_t> packet(len, 0xab);
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet.data(), .data_size_in = len);
    ASSERT_EQ(bpf_prog_test_run_opts(bpf_program__fd(prog), &opts), 0) << strerror(errno);
    verdicts.push_back(opts.retval);
  }
  EXPECT_EQ(verdicts, (std::vector<uint32_t>{XDP_PASS, XDP_PASS, XDP_DROP, XDP_PASS, XDP_PASS, XDP_DROP}));
  std::vector<uint32_t> queued;
  for (uint32_t v; bpf_map_lookup_and_delete_elem(bpf_map__fd(lengths), nullptr, &v) == 0;) queued.push_back(v);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(queued, (std::vector<uint32_t>{61, 62, 63, 63})) << "the two oldest of six gave way";
  std::vector<uint64_t> stacked;
  for (uint64_t v; bpf_map__lookup_and_delete_elem(seen, nullptr, 0, &v, sizeof(v), 0) == 0;) stacked.push_back(v);
  EXPECT_EQ(stacked, (std::vector<uint64_t>{62, 60}));
  bpf_object__close(obj);
}

TEST_F(LibbpfTest, UnknownSection) {
  std::string path = obj_path("unknown_section");
  struct bpf_object *obj = bpf_object__open_file(path.c_str(), nullptr);
  ASSERT_NE(obj, nullptr) << strerror(errno);
  // libbpf cannot tell the program type of "foo/bar": load fails.
  EXPECT_NE(bpf_object__load(obj), 0);
  bpf_object__close(obj);
}

} // namespace
