// Queues and stacks under concurrent use: producer threads push, consumer
// threads pop, through userbpf_bpf() (the same ops programs reach through
// bpf_map_push_elem / pop_elem). Meant to run under ThreadSanitizer too.
//
// Every value is (producer << 32 | sequence number), pushed without
// BPF_EXIST, so nothing is ever dropped: at the end, what the consumers
// popped plus what is left must be every value pushed successfully, each
// exactly once. A queue must also hand each producer's values out in the
// order they went in (one consumer's pops are in global FIFO order, so they
// see any one producer's values in increasing sequence).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <thread>
#include <vector>

#include "bpf_test_util.h"
#include "private_root_env.h"

namespace {

constexpr uint32_t kProducers = 3, kConsumers = 2, kMaxEntries = 64;
constexpr auto kRunFor = std::chrono::milliseconds(1500);

void run(uint32_t type) {
  const long fd = ubt::map_create(ubt::userbpf_call, type, 0, sizeof(uint64_t), kMaxEntries);
  ASSERT_GE(fd, 0) << strerror(static_cast<int>(-fd));
  const int map = static_cast<int>(fd);
  std::atomic<bool> stop{false};
  std::vector<std::vector<uint64_t>> pushed(kProducers), popped(kConsumers);
  std::atomic<int> unexpected{0};
  std::vector<std::thread> threads;
  for (uint32_t p = 0; p < kProducers; p++)
    threads.emplace_back([&, p] {
      for (uint64_t seq = 0; !stop.load(std::memory_order_relaxed); seq++) {
        const uint64_t v = uint64_t{p} << 32 | seq;
        const long r = ubt::map_update(ubt::userbpf_call, map, nullptr, &v, BPF_ANY);
        if (r == 0) pushed[p].push_back(v);
        else if (r != -E2BIG) unexpected++;
      }
    });
  for (uint32_t c = 0; c < kConsumers; c++)
    threads.emplace_back([&, c] {
      while (!stop.load(std::memory_order_relaxed)) {
        uint64_t v = 0;
        const long r = ubt::map_lookup_and_delete(ubt::userbpf_call, map, nullptr, &v);
        if (r == 0) popped[c].push_back(v);
        else if (r != -ENOENT) unexpected++;
      }
    });
  std::this_thread::sleep_for(kRunFor);
  stop = true;
  for (std::thread &t : threads) t.join();
  EXPECT_EQ(unexpected.load(), 0) << "errors other than E2BIG (full) and ENOENT (empty)";

  std::vector<uint64_t> left;
  for (uint64_t v; ubt::map_lookup_and_delete(ubt::userbpf_call, map, nullptr, &v) == 0;) left.push_back(v);
  std::map<uint64_t, int> seen;
  size_t total_popped = 0;
  for (const auto &list : popped) {
    total_popped += list.size();
    for (uint64_t v : list) seen[v]++;
  }
  for (uint64_t v : left) seen[v]++;
  size_t total_pushed = 0;
  for (const auto &list : pushed) {
    total_pushed += list.size();
    for (uint64_t v : list) {
      auto it = seen.find(v);
      ASSERT_TRUE(it != seen.end()) << "value " << std::hex << v << " pushed, never seen again";
      ASSERT_EQ(it->second, 1) << "value " << std::hex << v << " seen " << it->second << " times";
      seen.erase(it);
    }
  }
  EXPECT_TRUE(seen.empty()) << seen.size() << " values came out that were never pushed";
  EXPECT_GT(total_popped, 1000u) << "the consumers hardly ran";
  EXPECT_LE(left.size(), kMaxEntries);
  if (type == BPF_MAP_TYPE_QUEUE) {
    for (const auto &list : popped) {
      std::vector<int64_t> last(kProducers, -1);
      for (uint64_t v : list) {
        const uint32_t p = static_cast<uint32_t>(v >> 32);
        const int64_t seq = static_cast<int64_t>(v & 0xffffffff);
        ASSERT_LT(p, kProducers);
        EXPECT_GT(seq, last[p]) << "producer " << p << "'s values out of order";
        last[p] = seq;
      }
    }
  }
  printf("%s: %zu pushed, %zu popped, %zu left\n", type == BPF_MAP_TYPE_QUEUE ? "queue" : "stack", total_pushed,
         total_popped, left.size());
  close(map);
}

TEST(StressQueueStack, QueueProducersAndConsumers) { run(BPF_MAP_TYPE_QUEUE); }
TEST(StressQueueStack, StackProducersAndConsumers) { run(BPF_MAP_TYPE_STACK); }

} // namespace
