#include "helper/console/ConsoleServer.h"

#include <fcntl.h>
#include <glib-unix.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>

#include "common/Log.h"
#include "common/Strings.h"

namespace xvirt::helper {

Result<ConsoleTarget> ConsoleTarget::parse(std::string_view spec) {
  ConsoleTarget t;
  if (spec == "pty") {
    t.kind = Kind::Pty;
  } else if (spec == "stdio" || spec == "mon:stdio") {
    t.kind = Kind::Stdio;
  } else if (spec == "null" || spec == "none") {
    t.kind = Kind::Null;
  } else if (startsWith(spec, "file:") && spec.size() > 5) {
    t.kind = Kind::File;
    t.path = std::string(spec.substr(5));
  } else {
    return makeError(ErrorCode::InvalidArgument,
                     "The serial device '" + std::string(spec) + "' is not one of pty, file:PATH, stdio or null.");
  }
  return t;
}

Result<std::unique_ptr<ConsoleServer>> ConsoleServer::create(const ConsoleTarget& target, std::string label) {
  std::unique_ptr<ConsoleServer> s(new ConsoleServer(target, std::move(label)));
  XVIRT_TRY(s->openTarget());
  return s;
}

static void setNonBlocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

Status ConsoleServer::openTarget() {
  switch (target_.kind) {
    case ConsoleTarget::Kind::Pty: {
      UniqueFd master(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
      if (!master) return Error::system("Cannot open a pseudo-terminal for the console", errno);
      if (::grantpt(master.get()) < 0 || ::unlockpt(master.get()) < 0)
        return Error::system("Cannot unlock the console pseudo-terminal", errno);
      char name[128];
      if (::ptsname_r(master.get(), name, sizeof name) != 0)
        return Error::system("Cannot name the console pseudo-terminal", errno);
      ptyPath_ = name;
      UniqueFd slave(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
      if (!slave) return Error::system("Cannot open " + ptyPath_, errno);
      // Raw mode: the guest console does its own echo and line editing, as with qemu's pty chardev.
      struct termios tio;
      if (::tcgetattr(slave.get(), &tio) == 0) {
        ::cfmakeraw(&tio);
        ::tcsetattr(slave.get(), TCSANOW, &tio);
      }
      setNonBlocking(master.get());
      in_.reset(::dup(master.get()));
      out_ = std::move(master);
      ptyKeep_ = std::move(slave);
      break;
    }
    case ConsoleTarget::Kind::File: {
      out_.reset(::open(target_.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
      if (!out_) return Error::system("Cannot open the console file " + target_.path, errno);
      break;
    }
    case ConsoleTarget::Kind::Stdio:
      out_.reset(::dup(STDOUT_FILENO));
      in_.reset(::dup(STDIN_FILENO));
      setNonBlocking(out_.get());
      break;
    case ConsoleTarget::Kind::Null:
      break;
  }
  if (in_) userSource_ = g_unix_fd_add(in_.get(), G_IO_IN, &ConsoleServer::onUser, this);
  return okStatus();
}

ConsoleServer::~ConsoleServer() {
  detach();
  if (userSource_) g_source_remove(userSource_);
  if (writableSource_) g_source_remove(writableSource_);
}

std::string ConsoleServer::filename() const {
  switch (target_.kind) {
    case ConsoleTarget::Kind::Pty: return "pty:" + ptyPath_;
    case ConsoleTarget::Kind::File: return "file:" + target_.path;
    case ConsoleTarget::Kind::Stdio: return "stdio";
    case ConsoleTarget::Kind::Null: return "null";
  }
  return "null";
}

void ConsoleServer::attach(std::unique_ptr<hv::ConsoleChannel> channel) {
  detach();
  channel_ = std::move(channel);
  if (channel_) guestSource_ = g_unix_fd_add(channel_->pollFd(), G_IO_IN, &ConsoleServer::onGuest, this);
  pump();
}

void ConsoleServer::detach() {
  if (guestSource_) g_source_remove(guestSource_);
  guestSource_ = 0;
  channel_.reset();
}

void ConsoleServer::pump() {
  if (!channel_) return;
  auto data = channel_->read();
  if (!data.ok()) {
    // The channel is gone for good (the domain or the host went away): stop watching its fd, which
    // would otherwise stay readable at EOF and spin the main loop.
    logWarning("Reading the guest console failed: " + data.error().message);
    detach();
    return;
  }
  if (!data->empty()) deliver(*data);
}

gboolean ConsoleServer::onGuest(gint, GIOCondition, gpointer self) {
  static_cast<ConsoleServer*>(self)->pump();
  return G_SOURCE_CONTINUE;
}

gboolean ConsoleServer::onUser(gint fd, GIOCondition, gpointer self) {
  auto* s = static_cast<ConsoleServer*>(self);
  char buf[4096];
  ssize_t n = ::read(fd, buf, sizeof buf);
  if (n > 0) {
    s->typeIn(std::string_view(buf, static_cast<size_t>(n)));
  } else if (n == 0 && s->target_.kind == ConsoleTarget::Kind::Stdio) {
    s->userSource_ = 0;
    return G_SOURCE_REMOVE;  // stdin closed: keep printing output, stop reading
  }
  return G_SOURCE_CONTINUE;
}

void ConsoleServer::typeIn(std::string_view bytes) {
  if (!channel_) return;  // no guest attached (yet): nothing to type into
  auto written = channel_->write(bytes);
  if (!written.ok()) logWarning("Writing to the guest console failed: " + written.error().message);
}

void ConsoleServer::deliver(std::string_view bytes) {
  fromGuest_ += bytes.size();
  showLocal(bytes);
}

void ConsoleServer::showLocal(std::string_view bytes) {
  if (tap_) tap_(bytes);
  if (!out_) return;  // null console
  pending_.append(bytes);
  flushPending();
}

void ConsoleServer::flushPending() {
  while (!pending_.empty()) {
    ssize_t n = ::write(out_.get(), pending_.data(), pending_.size());
    if (n > 0) {
      pending_.erase(0, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;  // EAGAIN: nobody is reading; keep the bytes
  }
  if (pending_.size() > kBufferLimit) {
    size_t drop = pending_.size() - kBufferLimit;
    pending_.erase(0, drop);
    dropped_ += drop;
  }
  if (!pending_.empty() && !writableSource_)
    writableSource_ = g_unix_fd_add(out_.get(), G_IO_OUT, &ConsoleServer::onUserWritable, this);
}

gboolean ConsoleServer::onUserWritable(gint, GIOCondition, gpointer self) {
  auto* s = static_cast<ConsoleServer*>(self);
  s->writableSource_ = 0;
  s->flushPending();
  return G_SOURCE_REMOVE;
}

}  // namespace xvirt::helper
