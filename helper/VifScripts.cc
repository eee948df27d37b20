#include "helper/VifScripts.h"

#include <glib.h>
#include <sys/wait.h>

#include <memory>
#include <vector>

#include "common/Log.h"
#include "helper/XenstoreLayout.h"

namespace xvirt::helper {

namespace {

constexpr const char* kXenScriptDir = "/etc/xen/scripts/";

struct Invocation {
  std::vector<std::string> argv;
  std::unique_ptr<gchar*, decltype(&g_strfreev)> envp{nullptr, &g_strfreev};
  std::string what;  // for messages: "the hotplug script S online for vif D.N"
};

Invocation invocation(const std::string& scriptName, const char* action, const std::string& backendPath,
                      uint32_t domid, uint32_t devid) {
  Invocation inv;
  // None given: vif-bridge. A relative name (libvirt's <script path='vif-bridge'/>) is under Xen's
  // script directory, as libxl resolves it (libxl__abs_path).
  const std::string script = scriptName.empty()      ? std::string(kDefaultVifScript)
                             : scriptName[0] != '/' ? kXenScriptDir + scriptName
                                                    : scriptName;
  inv.argv = {script, action};
  const std::string vif = "vif" + std::to_string(domid) + "." + std::to_string(devid);
  gchar** env = g_get_environ();
  env = g_environ_setenv(env, "XENBUS_PATH", backendPath.c_str(), TRUE);
  env = g_environ_setenv(env, "XENBUS_TYPE", "vif", TRUE);
  env = g_environ_setenv(env, "XENBUS_BASE_PATH", "backend", TRUE);
  env = g_environ_setenv(env, "vif", vif.c_str(), TRUE);
  env = g_environ_setenv(env, "script", script.c_str(), TRUE);
  inv.envp.reset(env);
  inv.what = "the hotplug script " + script + " " + action + " for " + vif;
  return inv;
}

std::vector<gchar*> cArgv(Invocation& inv) {
  std::vector<gchar*> a;
  for (auto& s : inv.argv) a.push_back(s.data());
  a.push_back(nullptr);
  return a;
}

Error spawnError(const std::string& what, GError* err) {
  Error e = makeError(ErrorCode::OperationFailed, "Cannot run " + what + ": " + (err ? err->message : "unknown error") + ".");
  if (err) g_error_free(err);
  return e;
}

}  // namespace

Status startVifScriptOnline(const std::string& script, const std::string& backendPath, uint32_t domid,
                            uint32_t devid) {
  Invocation inv = invocation(script, "online", backendPath, domid, devid);
  std::vector<gchar*> argv = cArgv(inv);
  GPid pid = 0;
  GError* err = nullptr;
  if (!g_spawn_async(nullptr, argv.data(), inv.envp.get(), G_SPAWN_DO_NOT_REAP_CHILD, nullptr, nullptr, &pid, &err))
    return spawnError(inv.what, err);
  logInfo("Running " + inv.what + ".");
  auto* what = new std::string(inv.what);
  g_child_watch_add_full(
      G_PRIORITY_DEFAULT, pid,
      [](GPid child, gint status, gpointer data) {
        auto* w = static_cast<std::string*>(data);
        if (!g_spawn_check_wait_status(status, nullptr))
          logError("Failed: " + *w + " (its reason, if it gave one, is in the backend's hotplug-error).");
        g_spawn_close_pid(child);
      },
      what, [](gpointer data) { delete static_cast<std::string*>(data); });
  return okStatus();
}

Status runVifScriptOffline(const std::string& script, const std::string& backendPath, uint32_t domid,
                           uint32_t devid) {
  Invocation inv = invocation(script, "offline", backendPath, domid, devid);
  // timeout(1) bounds a script stuck on its lock.
  std::vector<std::string> full = {"timeout", "30"};
  full.insert(full.end(), inv.argv.begin(), inv.argv.end());
  inv.argv = full;
  std::vector<gchar*> argv = cArgv(inv);
  gint status = 0;
  GError* err = nullptr;
  if (!g_spawn_sync(nullptr, argv.data(), inv.envp.get(), G_SPAWN_SEARCH_PATH, nullptr, nullptr, nullptr, nullptr,
                    &status, &err))
    return spawnError(inv.what, err);
  if (!g_spawn_check_wait_status(status, nullptr))
    return makeError(ErrorCode::OperationFailed, "Failed: " + inv.what + ".");
  return okStatus();
}

}  // namespace xvirt::helper
