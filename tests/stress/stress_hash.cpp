// Hash maps under concurrent use: writers insert, replace and delete while a
// reader looks keys up, a walker walks the map with GET_NEXT_KEY, a batcher
// reads it bucket by bucket with BPF_MAP_LOOKUP_BATCH and a for_each walker
// walks it as bpf_for_each_map_elem does (helpers::for_each_map_step, inside
// an RCU read-side section as a program run). Runs a few seconds per map
// variant; meant to run under ThreadSanitizer too.
//
// The checks are exact despite the kernel's walk rules. The map is created
// with BPF_F_ZERO_SEED, so the test knows every key's bucket and chooses:
//   F  - one key alone in bucket 0: the first key of every walk;
//   S  - stable keys, never changed, in buckets no other key uses;
//   P  - persistent keys, always present but replaced over and over, in the
//        "churn" buckets;
//   V  - volatile keys, inserted and deleted, in the churn buckets.
// GET_NEXT_KEY of a key that was deleted meanwhile restarts the walk at the
// first key, so F can only come back through such a restart. A walk is cut
// into segments at each F; a segment that reaches the end (ENOENT) is a full
// walk and must hold every S key exactly once; every segment must visit
// buckets in non-decreasing order and hold only keys of the map.
// A for_each walk has no cursor key to lose, so it never restarts: every walk
// must hold F and every S key exactly once, reach the F and S keys in
// non-decreasing bucket order and hold only keys of the map. (A preallocated
// P or V element may be deleted and reused for another bucket's key while
// the walk stands on it, in the kernel too: the key handed out may then be
// of any bucket, and may come twice; the walk itself stays in its bucket.)
// Lookups of F, S and P keys must always succeed (an element never
// disappears while its bucket changes), with a value that belongs to the key.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "alloc/rcu.h"
#include "bpf_test_util.h"
#include "helpers/helpers.h"
#include "object/handle.h"
#include "private_root_env.h"
#include "util/jhash.h"

namespace {

using Clock = std::chrono::steady_clock;


constexpr uint32_t kMaxEntries = 1024;
constexpr uint32_t kBuckets = 1024; // roundup_pow_of_two(kMaxEntries)

enum class Kind : uint8_t { kNone, kFirst, kStable, kPersistent, kVolatile };

uint32_t bucket_of(uint32_t key) { return userbpf::htab_hash(&key, 4, 0) & (kBuckets - 1); }
bool is_churn_bucket(uint32_t bucket) { return bucket % 4 == 1; }

struct Keys {
  uint32_t first = 0;
  std::vector<uint32_t> stable, persistent, volatile_keys;
  std::unordered_map<uint32_t, Kind> kind;
  std::unordered_map<uint32_t, uint32_t> stable_index;

  Keys() {
    for (uint32_t k = 1; stable.size() < 300 || persistent.size() < 40 || volatile_keys.size() < 120 || !first; ++k) {
      uint32_t b = bucket_of(k);
      if (b == 0) {
        if (!first) first = k; // every other key of bucket 0 stays out
        continue;
      }
      if (is_churn_bucket(b)) {
        if (persistent.size() < 40 && k % 3 == 0) persistent.push_back(k);
        else if (volatile_keys.size() < 120) volatile_keys.push_back(k);
      } else if (stable.size() < 300) {
        stable_index[k] = static_cast<uint32_t>(stable.size());
        stable.push_back(k);
      }
    }
    kind[first] = Kind::kFirst;
    for (uint32_t k : stable) kind[k] = Kind::kStable;
    for (uint32_t k : persistent) kind[k] = Kind::kPersistent;
    for (uint32_t k : volatile_keys) kind[k] = Kind::kVolatile;
  }
  Kind of(uint32_t key) const {
    auto it = kind.find(key);
    return it == kind.end() ? Kind::kNone : it->second;
  }
};

const Keys &keys() {
  static const Keys k;
  return k;
}

struct Variant {
  const char *name;
  uint32_t type;
  uint32_t flags;
};

bool is_percpu(uint32_t type) { return type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_LRU_PERCPU_HASH; }

// A value names its key in the upper half, a version in the lower.
uint64_t encode(uint32_t key, uint32_t version) { return (uint64_t{key} << 32) | version; }

double seconds_per_variant() {
  const char *env = getenv("USERBPF_STRESS_SECONDS");
  double s = env ? atof(env) : 1.5;
  return s > 0 ? s : 1.5;
}

class StressHash : public ::testing::TestWithParam<Variant> {
 protected:
  void SetUp() override {
    variant = GetParam();
    ncpus = static_cast<uint32_t>(userbpf_num_possible_cpus());
    value_words = is_percpu(variant.type) ? ncpus : 1;
    long r = ubt::map_create(ubt::userbpf_call, variant.type, 4, 8, kMaxEntries, variant.flags | BPF_F_ZERO_SEED);
    ASSERT_GE(r, 0) << strerror(static_cast<int>(-r));
    fd = static_cast<int>(r);
  }
  void TearDown() override {
    if (fd >= 0) close(fd);
  }

  long update(uint32_t key, uint32_t version, uint64_t flags) {
    std::vector<uint64_t> value(value_words, encode(key, version));
    return ubt::map_update(ubt::userbpf_call, fd, &key, value.data(), flags);
  }
  // 0 and a value that belongs to key, -ENOENT, or a failure message.
  long lookup(uint32_t key, std::string *error) {
    std::vector<uint64_t> value(value_words, 0);
    long r = ubt::map_lookup(ubt::userbpf_call, fd, &key, value.data());
    if (r == 0) {
      for (uint64_t word : value) {
        if (word >> 32 != key) *error = "key " + std::to_string(key) + " has a value of key " + std::to_string(word >> 32);
      }
    }
    return r;
  }

  Variant variant{};
  uint32_t ncpus = 1, value_words = 1;
  int fd = -1;
};

TEST_P(StressHash, ConcurrentUpdatesWalksAndBatches) {
  const Keys &k = keys();
  ASSERT_EQ(update(k.first, 0, BPF_NOEXIST), 0);
  for (uint32_t key : k.stable) ASSERT_EQ(update(key, 0, BPF_NOEXIST), 0);
  for (uint32_t key : k.persistent) ASSERT_EQ(update(key, 0, BPF_NOEXIST), 0);

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> writes{0}, lookups{0}, full_walks{0}, restarts{0}, batch_passes{0}, for_each_walks{0};
  std::vector<std::string> failures[5];

  // Writers: volatile keys come and go, persistent keys are replaced.
  auto writer = [&](int id) {
    std::mt19937 rng(100 + id);
    uint32_t version = 0;
    auto &fail = failures[id];
    while (!stop.load(std::memory_order_relaxed) && fail.size() < 5) {
      ++version;
      uint32_t r = rng() % 16;
      if (r < 4) {
        uint32_t key = k.persistent[rng() % k.persistent.size()];
        long e = update(key, version, r % 2 ? BPF_EXIST : BPF_ANY);
        if (e != 0) fail.push_back("replace of persistent key " + std::to_string(key) + ": " + std::to_string(e));
        continue;
      }
      uint32_t key = k.volatile_keys[rng() % k.volatile_keys.size()];
      long e;
      if (r < 9) {
        e = update(key, version, r % 3); // BPF_ANY, BPF_NOEXIST or BPF_EXIST
        if (e != 0 && e != -EEXIST && e != -ENOENT) fail.push_back("update: " + std::to_string(e));
      } else if (r < 14) {
        e = ubt::map_delete(ubt::userbpf_call, fd, &key);
        if (e != 0 && e != -ENOENT) fail.push_back("delete: " + std::to_string(e));
      } else {
        std::vector<uint64_t> value(value_words);
        e = ubt::map_lookup_and_delete(ubt::userbpf_call, fd, &key, value.data());
        if (e != 0 && e != -ENOENT) fail.push_back("lookup_and_delete: " + std::to_string(e));
        if (e == 0 && value[0] >> 32 != key) fail.push_back("lookup_and_delete: wrong value");
      }
      writes.fetch_add(1, std::memory_order_relaxed);
    }
  };

  // Reader: F, S and P keys are always there; V keys have their own values.
  auto reader = [&]() {
    std::mt19937 rng(7);
    auto &fail = failures[2];
    std::string error;
    while (!stop.load(std::memory_order_relaxed) && fail.size() < 5) {
      uint32_t r = rng() % 4;
      uint32_t key = r == 0 ? k.stable[rng() % k.stable.size()]
                   : r == 1 ? k.persistent[rng() % k.persistent.size()]
                   : r == 2 ? k.volatile_keys[rng() % k.volatile_keys.size()]
                            : k.first;
      long e = lookup(key, &error);
      if (e != 0 && !(r == 2 && e == -ENOENT)) {
        static const char *const kClass[] = {"?", "first", "stable", "persistent", "volatile"};
        fail.push_back(std::string("lookup of ") + kClass[static_cast<int>(k.of(key))] + " key " + std::to_string(key) +
                       ": " + std::to_string(e));
      }
      if (!error.empty()) fail.push_back(error);
      error.clear();
      lookups.fetch_add(1, std::memory_order_relaxed);
    }
  };

  // Walker: GET_NEXT_KEY walks, checked segment by segment.
  auto walker = [&]() {
    auto &fail = failures[3];
    std::vector<uint32_t> stable_seen(k.stable.size());
    const size_t universe = 1 + k.stable.size() + k.persistent.size() + k.volatile_keys.size();
    while (!stop.load(std::memory_order_relaxed) && fail.size() < 5) {
      uint32_t cursor = 0, next = 0;
      bool have_cursor = false;
      std::fill(stable_seen.begin(), stable_seen.end(), 0);
      uint32_t last_bucket = 0;
      size_t segment_len = 0;
      std::vector<uint32_t> recent;
      for (;;) {
        long e = ubt::map_get_next_key(ubt::userbpf_call, fd, have_cursor ? &cursor : nullptr, &next);
        if (e == -ENOENT) {
          // A full walk: every stable key exactly once.
          for (size_t i = 0; i < stable_seen.size(); ++i) {
            if (stable_seen[i] != 1) {
              fail.push_back("stable key " + std::to_string(k.stable[i]) + " seen " + std::to_string(stable_seen[i]) +
                             " times in a full walk");
              break;
            }
          }
          full_walks.fetch_add(1, std::memory_order_relaxed);
          break;
        }
        if (e != 0) {
          fail.push_back("get_next_key: " + std::to_string(e));
          break;
        }
        const Kind kind = k.of(next);
        const uint32_t bucket = bucket_of(next);
        if (kind == Kind::kNone) {
          fail.push_back("walk returned key " + std::to_string(next) + ", never inserted");
          break;
        }
        if (kind == Kind::kFirst) {
          if (have_cursor) restarts.fetch_add(1, std::memory_order_relaxed);
          std::fill(stable_seen.begin(), stable_seen.end(), 0); // a new full walk starts here
          segment_len = 0;
        } else if (bucket < last_bucket) {
          fail.push_back("walk went back from bucket " + std::to_string(last_bucket) + " to " + std::to_string(bucket));
          break;
        }
        if (kind == Kind::kStable && ++stable_seen[k.stable_index.at(next)] > 1) {
          fail.push_back("stable key " + std::to_string(next) + " twice in one walk");
          break;
        }
        if (++segment_len > 4 * universe) {
          std::string tail;
          for (size_t i = recent.size() >= 24 ? recent.size() - 24 : 0; i < recent.size(); ++i)
            tail += " " + std::to_string(recent[i]) + "@" + std::to_string(bucket_of(recent[i]));
          fail.push_back("walk does not end:" + tail);
          break;
        }
        recent.push_back(next);
        last_bucket = bucket;
        cursor = next;
        have_cursor = true;
      }
    }
  };

  // Batcher: LOOKUP_BATCH passes see each stable key exactly once (buckets
  // are read under their lock).
  auto batcher = [&](std::vector<std::string> &fail) {
    std::vector<uint32_t> out_keys(64);
    std::vector<uint64_t> out_values(64 * value_words);
    std::vector<uint32_t> stable_seen(k.stable.size());
    while (!stop.load(std::memory_order_relaxed) && fail.size() < 5) {
      std::fill(stable_seen.begin(), stable_seen.end(), 0);
      uint32_t in_batch = 0, out_batch = 0;
      bool first = true;
      for (;;) {
        uint32_t count = 64;
        long e = ubt::map_batch(ubt::userbpf_call, BPF_MAP_LOOKUP_BATCH, fd, first ? nullptr : &in_batch, &out_batch,
                                out_keys.data(), out_values.data(), &count);
        if (e != 0 && e != -ENOENT) {
          fail.push_back("lookup_batch: " + std::to_string(e));
          break;
        }
        for (uint32_t i = 0; i < count; ++i) {
          uint32_t key = out_keys[i];
          if (k.of(key) == Kind::kNone) fail.push_back("batch returned key " + std::to_string(key));
          if (out_values[i * value_words] >> 32 != key) fail.push_back("batch value of another key");
          if (k.of(key) == Kind::kStable) ++stable_seen[k.stable_index.at(key)];
        }
        if (e == -ENOENT) break;
        in_batch = out_batch;
        first = false;
      }
      for (size_t i = 0; i < stable_seen.size(); ++i) {
        if (stable_seen[i] != 1) {
          fail.push_back("stable key seen " + std::to_string(stable_seen[i]) + " times in a batch pass");
          break;
        }
      }
      batch_passes.fetch_add(1, std::memory_order_relaxed);
    }
  };

  // For_each walker: the walk bpf_for_each_map_elem runs, one element at a
  // time, reading each key as a program would (the element may be reused
  // under it: an atomic load, the key area is 8-aligned).
  userbpf::Map *map = nullptr;
  {
    userbpf::RcuReadGuard guard;
    int err = 0;
    const userbpf::Handle *h = userbpf::handle_get(fd, &err);
    ASSERT_NE(h, nullptr) << err;
    map = &h->obj->map; // valid while fd is open
  }
  auto for_each_walker = [&]() {
    auto &fail = failures[4];
    std::vector<uint32_t> stable_seen(k.stable.size());
    const size_t universe = 1 + k.stable.size() + k.persistent.size() + k.volatile_keys.size();
    while (!stop.load(std::memory_order_relaxed) && fail.size() < 5) {
      std::fill(stable_seen.begin(), stable_seen.end(), 0);
      uint32_t first_seen = 0, last_bucket = 0;
      size_t visited = 0;
      userbpf::RcuReadGuard guard;
      userbpf::helpers::ForEachWalk walk;
      if (userbpf::helpers::for_each_map_start(&walk, reinterpret_cast<uintptr_t>(map)) != 0) {
        fail.push_back("for_each_map_start refused a hash");
        break;
      }
      while (userbpf::helpers::for_each_map_step(&walk)) {
        const uint32_t key = __atomic_load_n(static_cast<const uint32_t *>(walk.key), __ATOMIC_RELAXED);
        const Kind kind = k.of(key);
        const uint32_t bucket = bucket_of(key);
        if (kind == Kind::kNone) {
          fail.push_back("for_each visited key " + std::to_string(key) + ", never inserted");
          break;
        }
        if (kind == Kind::kFirst || kind == Kind::kStable) { // elements that never move
          if (bucket < last_bucket) {
            fail.push_back("for_each went back from bucket " + std::to_string(last_bucket) + " to " +
                           std::to_string(bucket));
            break;
          }
          last_bucket = bucket;
        }
        if (kind == Kind::kFirst) ++first_seen;
        if (kind == Kind::kStable) ++stable_seen[k.stable_index.at(key)];
        if (++visited > 4 * universe) {
          fail.push_back("for_each walk does not end");
          break;
        }
      }
      if (first_seen != 1) fail.push_back("first key seen " + std::to_string(first_seen) + " times by for_each");
      for (size_t i = 0; i < stable_seen.size(); ++i) {
        if (stable_seen[i] != 1) {
          fail.push_back("stable key " + std::to_string(k.stable[i]) + " seen " + std::to_string(stable_seen[i]) +
                         " times by for_each");
          break;
        }
      }
      for_each_walks.fetch_add(1, std::memory_order_relaxed);
    }
  };

  std::vector<std::string> batch_failures;
  std::vector<std::thread> threads;
  threads.emplace_back(writer, 0);
  threads.emplace_back(writer, 1);
  threads.emplace_back(reader);
  threads.emplace_back(walker);
  threads.emplace_back(batcher, std::ref(batch_failures));
  threads.emplace_back(for_each_walker);
  const auto deadline = Clock::now() + std::chrono::duration<double>(seconds_per_variant());
  while (Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  stop.store(true);
  for (auto &t : threads) t.join();

  for (auto &f : failures)
    for (auto &msg : f) ADD_FAILURE() << msg;
  for (auto &msg : batch_failures) ADD_FAILURE() << msg;

  // The checks must have had something to check.
  EXPECT_GT(writes.load(), 1000u);
  EXPECT_GT(lookups.load(), 1000u);
  EXPECT_GT(full_walks.load(), 0u);
  EXPECT_GT(batch_passes.load(), 0u);
  EXPECT_GT(for_each_walks.load(), 0u);
  printf("  %s: %llu writes, %llu lookups, %llu full walks (%llu restarts), %llu batch passes, %llu for_each walks\n",
         variant.name, static_cast<unsigned long long>(writes.load()), static_cast<unsigned long long>(lookups.load()),
         static_cast<unsigned long long>(full_walks.load()), static_cast<unsigned long long>(restarts.load()),
         static_cast<unsigned long long>(batch_passes.load()), static_cast<unsigned long long>(for_each_walks.load()));
  RecordProperty("writes", std::to_string(writes.load()));
  RecordProperty("full_walks", std::to_string(full_walks.load()));
  RecordProperty("restarts", std::to_string(restarts.load()));

  // Quiet again: the map holds exactly F, S, P and the volatile keys that a
  // lookup finds, each once, with their own values.
  std::vector<uint32_t> walked;
  uint32_t cursor = 0, next = 0;
  const uint32_t *prev = nullptr;
  while (ubt::map_get_next_key(ubt::userbpf_call, fd, prev, &next) == 0 && walked.size() < 10 * kMaxEntries) {
    walked.push_back(next);
    cursor = next;
    prev = &cursor;
  }
  std::sort(walked.begin(), walked.end());
  EXPECT_EQ(std::adjacent_find(walked.begin(), walked.end()), walked.end()) << "a key twice in the map";
  size_t expected = 1 + k.stable.size() + k.persistent.size();
  std::string error;
  for (uint32_t key : k.volatile_keys) {
    long e = lookup(key, &error);
    if (e == 0) ++expected;
    EXPECT_EQ(e == 0, std::binary_search(walked.begin(), walked.end(), key)) << key;
  }
  EXPECT_EQ(walked.size(), expected);
  EXPECT_TRUE(error.empty()) << error;
}

const Variant kVariants[] = {
    {"hash", BPF_MAP_TYPE_HASH, 0},
    {"hash_noprealloc", BPF_MAP_TYPE_HASH, BPF_F_NO_PREALLOC},
    {"percpu_hash", BPF_MAP_TYPE_PERCPU_HASH, 0},
    {"percpu_hash_noprealloc", BPF_MAP_TYPE_PERCPU_HASH, BPF_F_NO_PREALLOC},
};

INSTANTIATE_TEST_SUITE_P(Variants, StressHash, ::testing::ValuesIn(kVariants),
                         [](const auto &info) { return std::string(info.param.name); });

// LRU maps evict, so nothing is promised about which keys stay; they must
// still never crash, corrupt a bucket or mix up values, with writers on every
// CPU evicting from each other's lists.
class StressLru : public ::testing::TestWithParam<Variant> {};

TEST_P(StressLru, EvictionUnderConcurrency) {
  const Variant v = GetParam();
  const uint32_t ncpus = static_cast<uint32_t>(userbpf_num_possible_cpus());
  const uint32_t words = is_percpu(v.type) ? ncpus : 1;
  long r = ubt::map_create(ubt::userbpf_call, v.type, 4, 8, 256, v.flags);
  ASSERT_GE(r, 0);
  const int fd = static_cast<int>(r);
  std::atomic<bool> stop{false};
  std::vector<std::string> failures[3];
  auto worker = [&](int id) {
    std::mt19937 rng(id);
    std::vector<uint64_t> value(words);
    auto &fail = failures[id];
    uint32_t cursor = 0, next = 0;
    while (!stop.load(std::memory_order_relaxed) && fail.size() < 5) {
      uint32_t key = rng() % 2048;
      uint32_t op = rng() % 8;
      long e;
      if (op < 4) {
        std::fill(value.begin(), value.end(), encode(key, op));
        e = ubt::map_update(ubt::userbpf_call, fd, &key, value.data(), BPF_ANY);
        if (e != 0) fail.push_back("update: " + std::to_string(e));
      } else if (op < 6) {
        e = ubt::map_lookup(ubt::userbpf_call, fd, &key, value.data());
        if (e == 0 && value[0] >> 32 != key) fail.push_back("value of another key");
        if (e != 0 && e != -ENOENT) fail.push_back("lookup: " + std::to_string(e));
      } else if (op < 7) {
        e = ubt::map_delete(ubt::userbpf_call, fd, &key);
        if (e != 0 && e != -ENOENT) fail.push_back("delete: " + std::to_string(e));
      } else {
        e = ubt::map_get_next_key(ubt::userbpf_call, fd, &cursor, &next);
        if (e == 0) cursor = next;
        if (e != 0 && e != -ENOENT) fail.push_back("get_next_key: " + std::to_string(e));
      }
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) threads.emplace_back(worker, i);
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds_per_variant() / 2));
  stop.store(true);
  for (auto &t : threads) t.join();
  for (auto &f : failures)
    for (auto &msg : f) ADD_FAILURE() << msg;

  // Quiet: no key twice, no more keys than elements.
  std::vector<uint32_t> walked;
  uint32_t cursor = 0, next = 0;
  const uint32_t *prev = nullptr;
  while (ubt::map_get_next_key(ubt::userbpf_call, fd, prev, &next) == 0 && walked.size() < 10000) {
    walked.push_back(next);
    cursor = next;
    prev = &cursor;
  }
  std::sort(walked.begin(), walked.end());
  EXPECT_EQ(std::adjacent_find(walked.begin(), walked.end()), walked.end());
  EXPECT_LE(walked.size(), 256u + ncpus);
  close(fd);
}

const Variant kLruVariants[] = {
    {"lru_hash", BPF_MAP_TYPE_LRU_HASH, 0},
    {"lru_hash_percpu_lru", BPF_MAP_TYPE_LRU_HASH, BPF_F_NO_COMMON_LRU},
    {"lru_percpu_hash", BPF_MAP_TYPE_LRU_PERCPU_HASH, 0},
};

INSTANTIATE_TEST_SUITE_P(Variants, StressLru, ::testing::ValuesIn(kLruVariants),
                         [](const auto &info) { return std::string(info.param.name); });

} // namespace
