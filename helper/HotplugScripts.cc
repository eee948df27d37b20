#include "helper/HotplugScripts.h"

#include <glib.h>
#include <sys/wait.h>

#include <memory>
#include <vector>

#include "common/Log.h"

namespace xvirt::helper {

namespace {

constexpr const char* kXenScriptDir = "/etc/xen/scripts/";

struct Invocation {
  std::vector<std::string> argv;
  std::unique_ptr<gchar*, decltype(&g_strfreev)> envp{nullptr, &g_strfreev};
  std::string what;  // for messages: "the hotplug script S online for vifD.N"
};

Invocation invocation(const ScriptedDevice& d, const char* action) {
  Invocation inv;
  const std::string script = resolveHotplugScript(d.type, d.script);
  inv.argv = {script, action};
  const std::string name = d.type + std::to_string(d.domid) + "." + std::to_string(d.devid);
  gchar** env = g_get_environ();
  env = g_environ_setenv(env, "XENBUS_PATH", d.backendPath.c_str(), TRUE);
  env = g_environ_setenv(env, "XENBUS_TYPE", d.type.c_str(), TRUE);
  env = g_environ_setenv(env, "XENBUS_BASE_PATH", "backend", TRUE);
  if (d.type == "vif") env = g_environ_setenv(env, "vif", name.c_str(), TRUE);
  env = g_environ_setenv(env, "script", script.c_str(), TRUE);
  inv.envp.reset(env);
  inv.what = "the hotplug script " + script + " " + action + " for " + name;
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

std::string resolveHotplugScript(const std::string& type, const std::string& script) {
  // None given: vif-bridge for a vif. A relative name (libvirt's <script path='vif-bridge'/>, xl's
  // script=block-drbd) is under Xen's script directory.
  if (script.empty()) return type == "vif" ? kDefaultVifScript : std::string();
  return script[0] == '/' ? script : kXenScriptDir + script;
}

Status startHotplugScriptUp(const ScriptedDevice& d) {
  Invocation inv = invocation(d, d.type == "vif" ? "online" : "add");
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

Status runHotplugScriptDown(const ScriptedDevice& d) {
  Invocation inv = invocation(d, d.type == "vif" ? "offline" : "remove");
  logInfo("Running " + inv.what + ".");
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
