// Run a piece of a test in a fork() child: its state (the store's view, the
// RCU readers, the worker thread) is its own, and what it reports comes back
// through a pipe.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <string>

namespace ubt {

// Run body in a fork() child and return what it returned; *ok: the child
// exited 0 (it exits 2 if body returned nothing). The child ends with exit()
// if run_exit_handlers, else with _exit() (as a crash).
inline std::string in_child(const std::function<std::string()> &body, bool run_exit_handlers, bool *ok) {
  int report[2];
  *ok = false;
  if (pipe(report) != 0) return "";
  pid_t pid = fork();
  if (pid == 0) {
    close(report[0]);
    const std::string text = body();
    if (text.empty() || write(report[1], text.data(), text.size()) != static_cast<ssize_t>(text.size())) _exit(2);
    if (run_exit_handlers) exit(0);
    _exit(0);
  }
  close(report[1]);
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = read(report[0], buf, sizeof(buf))) > 0;) text.append(buf, static_cast<size_t>(n));
  close(report[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  *ok = pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  return text;
}

} // namespace ubt
