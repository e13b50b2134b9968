// The BTF validator (src/btf) on its own, without the kernel: verdicts and
// final log lines recorded from Linux 6.18 for hand-built blobs (the full
// comparison against the running kernel is tests/diff/diff_btf.cpp), the
// queries map creation and program loading use, and BPF_BTF_LOAD's
// attr-level errors through userbpf_bpf().
#include <errno.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "btf/btf.h"
#include "btf/btf_object.h"
#include "btf_builder.h"
#include "private_root_env.h"

namespace {

using userbpf::btf::Btf;

struct Verdict {
  int err;
  std::string last_line;
};

Verdict parse(const std::vector<uint8_t> &blob) {
  std::string log;
  std::unique_ptr<Btf> b;
  int err = Btf::parse(blob.data(), static_cast<uint32_t>(blob.size()), &log, &b);
  if (!log.empty() && log.back() == '\n') log.pop_back();
  size_t nl = log.rfind('\n');
  return {err, nl == std::string::npos ? log : log.substr(nl + 1)};
}

TEST(Btf, KernelVerdicts) {
  struct Case {
    const char *what;
    std::function<void(ubt::BtfBuilder &, uint32_t)> add;
    int err;
    const char *last_line; // as Linux 6.18 logs it
  };
  const std::vector<Case> cases = {
      {"valid int", [](auto &, uint32_t) {}, 0, "[1] INT int size=4 bits_offset=0 nr_bits=32 encoding=SIGNED"},
      {"int 129 bits", [](auto &b, uint32_t) { b.type(b.str("x"), BTF_KIND_INT, 0, false, 32, {129}); }, -EINVAL,
       "[2] INT x size=32 bits_offset=0 nr_bits=129 encoding=(none) nr_bits exceeds 128"},
      {"int encoding", [](auto &b, uint32_t) { b.type(b.str("x"), BTF_KIND_INT, 0, false, 4, {ubt::btf_int_enc(3, 0, 32)}); },
       -524, "[2] INT x size=4 bits_offset=0 nr_bits=32 encoding=UNKN Unsupported encoding"},
      {"ptr loop", [](auto &b, uint32_t i) { b.ref(BTF_KIND_PTR, i + 2); b.ref(BTF_KIND_CONST, i + 1); }, -EEXIST,
       "[2] PTR (anon) type_id=3 Loop detected"},
      {"struct loop", [](auto &b, uint32_t i) { b.composite(BTF_KIND_STRUCT, "a", 4, {{"x", i + 2, 0}}); b.composite(BTF_KIND_STRUCT, "b", 4, {{"y", i + 1, 0}}); },
       -EEXIST, "[2] STRUCT a size=4 vlen=1 Loop detected"},
      {"deep typedefs", [](auto &b, uint32_t i) { uint32_t t = i; for (int k = 0; k < 40; k++) t = b.ref(BTF_KIND_TYPEDEF, t, "t" + std::to_string(k)); },
       0, "[41] TYPEDEF t39 type_id=40"},
      {"deep consts", [](auto &b, uint32_t i) { for (uint32_t k = 0; k < 40; k++) b.ref(BTF_KIND_CONST, k == 39 ? i : i + k + 2); },
       -E2BIG, "[2] CONST (anon) type_id=3 Exceeded max resolving depth:32"},
      {"datasec overlap", [](auto &b, uint32_t i) { uint32_t v = b.var("v", i), w = b.var("w", i); b.datasec(".data", 8, {{v, 0, 4}, {w, 2, 4}}); },
       -EINVAL, "\t type_id=3 offset=2 size=4 Invalid offset"},
      {"tag after const", [](auto &b, uint32_t i) { uint32_t t = b.ref(BTF_KIND_TYPE_TAG, i, "t"); b.ref(BTF_KIND_CONST, t); },
       -EINVAL, "Type tags don't precede modifiers"},
      {"func unnamed arg", [](auto &b, uint32_t i) { uint32_t p = b.func_proto(i, {{"", i}}); b.func("f", p); }, -EINVAL,
       "[3] FUNC f type_id=2 Invalid arg#1"},
      {"var of void", [](auto &b, uint32_t) { b.var("v", 0); }, -EINVAL, "[2] VAR v type_id=0 linkage=1 Invalid type_id"},
  };
  for (const Case &c : cases) {
    ubt::BtfBuilder b;
    uint32_t i32 = b.int_type("int", 4, 32);
    c.add(b, i32);
    Verdict v = parse(b.build());
    EXPECT_EQ(v.err, c.err) << c.what;
    EXPECT_EQ(v.last_line, c.last_line) << c.what;
  }
}

TEST(Btf, HeaderErrors) {
  ubt::BtfBuilder b;
  b.int_type("int", 4, 32);
  struct btf_header h = b.header();
  h.magic = 0x1234;
  EXPECT_EQ(parse(b.build_with(h)).last_line, "Invalid magic");
  h = b.header();
  h.version = 2;
  EXPECT_EQ(parse(b.build_with(h)).err, -524);
  std::vector<uint8_t> tiny = {0x9f, 0xeb};
  EXPECT_EQ(parse(tiny).last_line, "hdr_len not found");
  std::vector<uint8_t> big(userbpf::btf::kMaxSize + 1);
  std::unique_ptr<Btf> out;
  EXPECT_EQ(Btf::parse(big.data(), static_cast<uint32_t>(big.size()), nullptr, &out), -E2BIG);
}

TEST(Btf, SizesAndMapChecks) {
  ubt::BtfBuilder b;
  uint32_t i32 = b.int_type("int", 4, 32);
  uint32_t arr = b.array(i32, i32, 5);
  uint32_t td = b.ref(BTF_KIND_TYPEDEF, arr, "five");
  uint32_t v = b.var("g", td);
  uint32_t sec = b.datasec(".bss", 20, {{v, 0, 20}});
  std::vector<uint8_t> blob = b.build();
  std::unique_ptr<Btf> btf;
  ASSERT_EQ(Btf::parse(blob.data(), static_cast<uint32_t>(blob.size()), nullptr, &btf), 0);
  uint32_t id = td, size = 0;
  ASSERT_NE(btf->type_id_size(&id, &size), nullptr);
  EXPECT_EQ(id, arr);
  EXPECT_EQ(size, 20u);
  EXPECT_EQ(userbpf::btf_check_map_types(*btf, BPF_MAP_TYPE_ARRAY, 4, 20, 1, 0, sec), 0);
  EXPECT_EQ(userbpf::btf_check_map_types(*btf, BPF_MAP_TYPE_ARRAY, 4, 20, 2, 0, sec), -EINVAL);
  EXPECT_EQ(userbpf::btf_check_map_types(*btf, BPF_MAP_TYPE_HASH, 4, 20, 1, i32, td), 0);
  EXPECT_EQ(userbpf::btf_check_map_types(*btf, BPF_MAP_TYPE_HASH, 4, 16, 1, i32, td), -EINVAL);
  EXPECT_EQ(userbpf::btf_check_map_types(*btf, BPF_MAP_TYPE_ARRAY, 20, 4, 1, arr, i32), -EINVAL);
  EXPECT_EQ(btf->type_by_id(btf->nr_types()), nullptr);
}

TEST(Btf, LoadAttrErrors) {
  ubt::BtfBuilder b;
  b.int_type("int", 4, 32);
  std::vector<uint8_t> blob = b.build();
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.btf = reinterpret_cast<uintptr_t>(blob.data());
  a.btf_size = static_cast<uint32_t>(blob.size());
  a.btf_log_level = 1; // a level without a buffer is allowed (6.4+)
  long fd = userbpf_bpf(BPF_BTF_LOAD, &a, sizeof(a));
  ASSERT_GE(fd, 0) << strerror(errno);
  close(static_cast<int>(fd));
  char log[64];
  a.btf_log_buf = reinterpret_cast<uintptr_t>(log);
  a.btf_log_size = 0; // a buffer without a size
  EXPECT_EQ(userbpf_bpf(BPF_BTF_LOAD, &a, sizeof(a)), -1);
  EXPECT_EQ(errno, EINVAL);
  a.btf_log_size = sizeof(log);
  a.btf_log_level = 0; // a buffer without a level
  EXPECT_EQ(userbpf_bpf(BPF_BTF_LOAD, &a, sizeof(a)), -1);
  EXPECT_EQ(errno, EINVAL);
  a.btf_log_level = 1; // the log does not fit: ENOSPC, the end of the log kept
  EXPECT_EQ(userbpf_bpf(BPF_BTF_LOAD, &a, sizeof(a)), -1);
  EXPECT_EQ(errno, ENOSPC);
  EXPECT_EQ(strlen(log), sizeof(log) - 1);
  memset(&a, 0, sizeof(a));
  a.btf = 8; // a bad pointer
  a.btf_size = 64;
  EXPECT_EQ(userbpf_bpf(BPF_BTF_LOAD, &a, sizeof(a)), -1);
  EXPECT_EQ(errno, EFAULT);
}

} // namespace

namespace {

long load_btf(const std::vector<uint8_t> &blob) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.btf = reinterpret_cast<uintptr_t>(blob.data());
  a.btf_size = static_cast<uint32_t>(blob.size());
  return userbpf_bpf(BPF_BTF_LOAD, &a, sizeof(a));
}

// BPF_MAP_CREATE of a hash map whose key and value are type 1 of btf_fd:
// 0 (map closed) or -errno.
long typed_hash(long btf_fd, uint32_t key_value_size) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.map_type = BPF_MAP_TYPE_HASH;
  a.key_size = key_value_size;
  a.value_size = key_value_size;
  a.max_entries = 4;
  a.btf_fd = static_cast<uint32_t>(btf_fd);
  a.btf_key_type_id = 1;
  a.btf_value_type_id = 1;
  long fd = userbpf_bpf(BPF_MAP_CREATE, &a, sizeof(a));
  if (fd < 0) return -errno;
  close(static_cast<int>(fd));
  return 0;
}

// Type 1 is an int of `bytes` bytes; every blob has the same length, so
// blobs differ only in their bytes.
std::vector<uint8_t> int_btf(uint32_t bytes, const char *name) {
  ubt::BtfBuilder b;
  b.int_type(name, bytes, bytes * 8);
  return b.build();
}

} // namespace

// Map creation checks its types against the BTF it names, whichever BTF
// objects this process parsed before (the parse of a stored blob is reused
// only for the same bytes): same-size blobs that differ, the same blob in
// two objects, and a blob used again after several others.
TEST(Btf, MapsCheckedAgainstTheirOwnBtf) {
  std::vector<uint8_t> four = int_btf(4, "a"), eight = int_btf(8, "a");
  ASSERT_EQ(four.size(), eight.size());
  long fd4 = load_btf(four), fd8 = load_btf(eight), fd4_again = load_btf(four);
  ASSERT_GE(fd4, 0) << strerror(errno);
  ASSERT_GE(fd8, 0) << strerror(errno);
  ASSERT_GE(fd4_again, 0) << strerror(errno);
  for (int round = 0; round < 2; round++) {
    EXPECT_EQ(typed_hash(fd4, 4), 0);
    EXPECT_EQ(typed_hash(fd4, 8), -EINVAL);
    EXPECT_EQ(typed_hash(fd8, 8), 0);
    EXPECT_EQ(typed_hash(fd8, 4), -EINVAL);
    EXPECT_EQ(typed_hash(fd4_again, 4), 0);
    EXPECT_EQ(typed_hash(fd4_again, 8), -EINVAL);
  }
  close(static_cast<int>(fd4));
  EXPECT_EQ(typed_hash(fd4_again, 4), 0);
  // More BTFs than a process keeps parsed, then the first ones again.
  std::vector<long> others;
  for (uint32_t bytes : {1u, 2u, 16u}) {
    for (const char *name : {"b", "c"}) {
      long fd = load_btf(int_btf(bytes, name));
      ASSERT_GE(fd, 0) << strerror(errno);
      EXPECT_EQ(typed_hash(fd, bytes), 0);
      others.push_back(fd);
    }
  }
  EXPECT_EQ(typed_hash(fd8, 8), 0);
  EXPECT_EQ(typed_hash(fd8, 4), -EINVAL);
  EXPECT_EQ(typed_hash(fd4_again, 4), 0);
  EXPECT_EQ(typed_hash(fd4_again, 8), -EINVAL);
  for (long fd : others) close(static_cast<int>(fd));
  close(static_cast<int>(fd8));
  close(static_cast<int>(fd4_again));
}

namespace {
// BTF_GET_FD_BY_ID from another process: 0 if found (the fd closed), or -errno.
int btf_found_elsewhere(uint32_t id) {
  pid_t pid = fork();
  if (pid < 0) return -errno;
  if (pid == 0) {
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.btf_id = id;
    long fd = userbpf_bpf(BPF_BTF_GET_FD_BY_ID, &a, sizeof(a));
    _exit(fd >= 0 ? 0 : errno);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -EIO;
  return -WEXITSTATUS(status);
}
} // namespace

// A BTF object lives while maps hold it (the kernel's btf_put on map free),
// counted in every storage of the object store: a small blob kept in an
// extended attribute (the count is its file's size, here past a header's
// length) and a large one in the file's data (the count in its header).
TEST(Btf, HeldByItsMapsInEveryStorage) {
  ubt::BtfBuilder large;
  large.int_type("int", 4, 32);
  for (int i = 0; i < 3000; i++) large.ref(BTF_KIND_PTR, 1); // 36 KB of types: past the attribute's 32 KiB
  for (const std::vector<uint8_t> &blob : {int_btf(4, "a"), large.build()}) {
    SCOPED_TRACE(blob.size());
    long btf_fd = load_btf(blob);
    ASSERT_GE(btf_fd, 0) << strerror(errno);
    struct bpf_btf_info info;
    memset(&info, 0, sizeof(info));
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.info.bpf_fd = static_cast<uint32_t>(btf_fd);
    a.info.info_len = sizeof(info);
    a.info.info = reinterpret_cast<uintptr_t>(&info);
    ASSERT_EQ(userbpf_bpf(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a)), 0) << strerror(errno);
    std::vector<int> maps;
    for (int i = 0; i < 640; i++) {
      memset(&a, 0, sizeof(a));
      a.map_type = BPF_MAP_TYPE_ARRAY;
      a.key_size = 4;
      a.value_size = 4;
      a.max_entries = 1;
      a.btf_fd = static_cast<uint32_t>(btf_fd);
      a.btf_key_type_id = 1;
      a.btf_value_type_id = 1;
      long fd = userbpf_bpf(BPF_MAP_CREATE, &a, sizeof(a));
      ASSERT_GE(fd, 0) << "map " << i << ": " << strerror(errno);
      maps.push_back(static_cast<int>(fd));
    }
    close(static_cast<int>(btf_fd));
    EXPECT_EQ(btf_found_elsewhere(info.id), 0) << "held by 640 maps";
    while (maps.size() > 1) {
      close(maps.back());
      maps.pop_back();
    }
    EXPECT_EQ(btf_found_elsewhere(info.id), 0) << "held by one map";
    close(maps.back());
    EXPECT_EQ(btf_found_elsewhere(info.id), -ENOENT) << "held by nothing";
  }
}
