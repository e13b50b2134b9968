// Grace periods (src/alloc/rcu.cpp): when rcu_defer() may run a callback at
// once, and when it must wait for liburcu. Each test runs in a fork() child,
// whose state of readers is its own: a test that starts a second reader
// thread must not change what the next one sees.
#include <unistd.h>

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "alloc/rcu.h"
#include "child_process.h"

using userbpf::rcu_barrier;
using userbpf::rcu_defer;
using userbpf::RcuReadGuard;

namespace {

// Run body in a fork() child: "ok" if it returned nothing, else what it
// returned (what went wrong).
std::string in_child(const std::function<std::string()> &body) {
  bool ok = false;
  const std::string text = ubt::in_child(
      [&] {
        const std::string out = body();
        return out.empty() ? std::string("ok") : out;
      },
      false, &ok);
  return ok ? text : "the child failed: " + text;
}

// Defer a callback and tell where it ran: "now" (inside rcu_defer, on this
// thread), "later" (after a grace period, on liburcu's thread) or "lost".
std::string where_it_runs() {
  const std::thread::id self = std::this_thread::get_id();
  std::atomic<int> ran{0}; // 1: here, during rcu_defer; 2: on another thread
  std::atomic<bool> inside{true};
  rcu_defer([&] { ran.store(std::this_thread::get_id() == self && inside.load() ? 1 : 2); });
  inside.store(false);
  if (ran.load() == 0) rcu_barrier();
  return ran.load() == 1 ? "now" : ran.load() == 2 ? "later" : "lost";
}

} // namespace

// While one thread alone has read, its frees outside a read-side section
// need no grace period: nobody else can hold what it frees.
TEST(Rcu, RunsCallbacksAtOnceWhileOneThreadReads) {
  EXPECT_EQ(in_child([] {
              std::string out;
              out += where_it_runs() + " "; // nobody has read yet
              { RcuReadGuard g; }
              out += where_it_runs();
              return out == "now now" ? "" : out;
            }),
            "ok");
}

// Inside its own read-side section, the reader may still hold what it frees.
TEST(Rcu, WaitsInsideAReadSideSection) {
  EXPECT_EQ(in_child([] {
              RcuReadGuard g;
              std::string out;
              std::atomic<bool> ran{false};
              rcu_defer([&] { ran.store(true); });
              if (ran.load()) out = "ran inside the section";
              return out;
            }),
            "ok");
}

// A thread that never read frees what the reader may hold right now; and
// once a second thread has read, every callback waits for a grace period.
TEST(Rcu, WaitsOnceAnotherThreadMayRead) {
  EXPECT_EQ(in_child([] {
              { RcuReadGuard g; }
              std::string out;
              std::thread([&] { out += where_it_runs() + " "; }).join();
              std::thread([] { RcuReadGuard g; }).join();
              out += where_it_runs();
              return out == "later later" ? "" : out;
            }),
            "ok");
}

// A callback that could run at once waits in line behind one queued before
// it: a map's region is unmapped after its freed elements are given back.
TEST(Rcu, KeepsCallbacksInOrder) {
  EXPECT_EQ(in_child([] {
              std::atomic<bool> release{false};
              std::string order;
              {
                RcuReadGuard g; // queued: the reader is in a section
                rcu_defer([&] {
                  while (!release.load()) usleep(100);
                  order += "A";
                });
              }
              rcu_defer([&] { order += "B"; }); // A has not run: B must wait
              const std::string before = order;
              release.store(true);
              rcu_barrier();
              if (!before.empty()) return "ran before the release: " + before;
              return order == "AB" ? std::string() : "order " + order;
            }),
            "ok");
}
