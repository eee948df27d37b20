#include "helper/boot/ChildProcess.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace xvirt::helper {

Result<pid_t> spawnChild(const SpawnOptions& o) {
  if (o.argv.empty()) return makeError(ErrorCode::Internal, "No program was given to start.");
  // Built before fork: the child may only make async-signal-safe calls.
  std::vector<char*> argv, envp;
  for (const auto& a : o.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : o.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  int report[2];  // the child writes its exec errno here; a close-on-exec EOF means exec worked
  if (::pipe2(report, O_CLOEXEC) < 0) return Error::system("Creating a pipe to start " + o.argv[0], errno);
  pid_t pid = ::fork();
  if (pid < 0) {
    int err = errno;
    ::close(report[0]);
    ::close(report[1]);
    return Error::system("Starting " + o.argv[0], err);
  }
  if (pid == 0) {
    ::close(report[0]);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGQUIT, SIGHUP}) ::signal(sig, SIG_DFL);
    if (o.inChild) o.inChild();
    if (o.env.empty()) ::execvp(argv[0], argv.data());
    else ::execvpe(argv[0], argv.data(), envp.data());
    int err = errno;
    (void)!::write(report[1], &err, sizeof err);
    ::_exit(127);
  }
  ::close(report[1]);
  int childErr = 0;
  ssize_t n;
  do n = ::read(report[0], &childErr, sizeof childErr);
  while (n < 0 && errno == EINTR);
  ::close(report[0]);
  if (n == sizeof childErr) {
    ::waitpid(pid, nullptr, 0);
    return Error{ErrorCode::OperationFailed, "Cannot run " + o.argv[0] + ": " + std::strerror(childErr) + ".", childErr};
  }
  return pid;
}

std::string describeWaitStatus(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return "was killed by signal " + std::to_string(WTERMSIG(status)) + " (" + ::strsignal(WTERMSIG(status)) + ")";
  return "stopped with wait status " + std::to_string(status);
}

}  // namespace xvirt::helper
