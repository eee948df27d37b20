// XsServerThread: an XsStore and XsServer on a thread of their own with a private GLib main
// context, for tests and benchmarks that talk to the server from the calling thread.
#pragma once

#include <glib.h>

#include <memory>
#include <string>
#include <thread>

#include "hypervisor/sim/xenstore/XsServer.h"
#include "hypervisor/sim/xenstore/XsStore.h"

namespace xvirt::sim {

class XsServerThread {
 public:
  // Listens on socketPath before returning, so clients may connect at once.
  static Result<std::unique_ptr<XsServerThread>> start(const std::string& socketPath) {
    std::unique_ptr<XsServerThread> t(new XsServerThread);
    g_main_context_push_thread_default(t->context_);
    t->store_ = std::make_unique<XsStore>();
    t->server_ = std::make_unique<XsServer>(*t->store_);
    Status listening = t->server_->listen(socketPath);
    g_main_context_pop_thread_default(t->context_);
    if (!listening.ok()) return listening.takeError();
    t->thread_ = std::thread([loop = t->loop_, ctx = t->context_] {
      g_main_context_push_thread_default(ctx);
      g_main_loop_run(loop);
      g_main_context_pop_thread_default(ctx);
    });
    return t;
  }

  ~XsServerThread() {
    if (thread_.joinable()) {
      // Through the context, not g_main_loop_quit() from here: a quit that lands before the
      // thread enters g_main_loop_run() would be forgotten and the join would never return.
      g_main_context_invoke(context_, [](gpointer loop) -> gboolean {
        g_main_loop_quit(static_cast<GMainLoop*>(loop));
        return G_SOURCE_REMOVE;
      }, loop_);
      thread_.join();
    }
    server_.reset();
    store_.reset();
    g_main_loop_unref(loop_);
    g_main_context_unref(context_);
  }

  // The store's facade may be used from any thread; the server's setters only before clients connect.
  XsStore& store() { return *store_; }
  XsServer& server() { return *server_; }

 private:
  XsServerThread() : context_(g_main_context_new()), loop_(g_main_loop_new(context_, FALSE)) {}
  GMainContext* context_;
  GMainLoop* loop_;
  std::unique_ptr<XsStore> store_;
  std::unique_ptr<XsServer> server_;
  std::thread thread_;
};

}  // namespace xvirt::sim
