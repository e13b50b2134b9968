// JIT code under concurrent use: reader threads run whichever compiled
// program is current (inside an RCU read-side section, as Program::run
// holds one), while a writer compiles a new one, publishes it and drops the
// old. The old image is unmapped only after a grace period, so a reader still
// inside it never faults, and every result belongs to one of the programs.
// Runs about two seconds; meant to run under ThreadSanitizer too.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "alloc/rcu.h"
#include "vm/assembler.h"
#include "vm/decoder.h"
#include "vm/interpreter.h"
#include "vm/jit_x86_64.h"

namespace {

using namespace userbpf::vm;

// A loop long enough that readers are often inside the code when it goes:
// r0 = generation * 1000 + 1000.
std::unique_ptr<Program> compile(int generation) {
  std::string text = "mov %r0, " + std::to_string(generation * 1000) +
                     "\nmov %r1, 1000\nl:\nadd %r0, 1\nsub %r1, 1\njne %r1, 0, l\nexit";
  std::vector<RawInsn> raw;
  std::string error;
  EXPECT_EQ(assemble(text, &raw, &error), 0) << error;
  DecodedProgram decoded;
  EXPECT_EQ(decode(raw.data(), raw.size(), &decoded, &error), 0) << error;
  ProgramOptions options;
  options.engine = Engine::kJit;
  options.jit.blind_constants = generation % 2;
  std::unique_ptr<Program> prog;
  EXPECT_EQ(Program::create(decoded, &prog, &error, options), 0) << error;
  return prog;
}

TEST(StressJit, ProgramsReplacedWhileRunning) {
  if (!jit_supported()) GTEST_SKIP() << "no JIT for this CPU";
  std::atomic<Program *> current{compile(0).release()};
  std::atomic<int> newest{0};
  std::atomic<bool> stop{false};
  std::atomic<long> runs{0}, bad{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; t++)
    readers.emplace_back([&] {
      while (!stop.load()) {
        userbpf::RcuReadGuard guard; // the program stays while we use it
        const Program *p = current.load();
        RunResult r = p->run(0);
        // The result belongs to a published generation: (g + 1) * 1000.
        int newest_now = newest.load();
        if (r.err || r.r0 % 1000 != 0 || r.r0 == 0 || r.r0 / 1000 > static_cast<uint64_t>(newest_now) + 1) bad++;
        runs++;
      }
    });
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  int generation = 0;
  while (std::chrono::steady_clock::now() < end) {
    Program *next = compile(++generation).release();
    newest.store(generation);
    Program *old = current.exchange(next);
    // Readers may still be inside old's code: free it after a grace period.
    userbpf::rcu_defer([old] { delete old; });
  }
  stop.store(true);
  for (auto &t : readers) t.join();
  delete current.load(); // no reader left (its image still goes through a grace period)
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(runs.load(), 0);
  RecordProperty("generations", generation);
}

} // namespace
