#include "driver/domain/DomainStore.h"

#include <dirent.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/CHandle.h"
#include "common/File.h"
#include "common/Strings.h"
#include "domain-xml/DomainXml.h"

namespace xvirt::driver {

DomainPaths DomainPaths::system() {
  DomainPaths p;
  p.configDir = "/etc/xvirt/domains";
  p.autostartDir = "/etc/xvirt/domains/autostart";
  p.statusDir = "/run/xvirt/domains";
  p.runDir = "/run/xvirt/guests";
  p.saveDir = "/var/lib/xvirt/save";
  p.logDir = "/var/log/xvirt";
  p.simDir = "/run/xvirt/sim";
  p.privileged = true;
  return p;
}

DomainPaths DomainPaths::session() {
  auto env = [](const char* name, const std::string& fallback) {
    const char* v = std::getenv(name);
    return v && *v ? std::string(v) : fallback;
  };
  std::string home = env("HOME", "/tmp");
  std::string runtime = env("XDG_RUNTIME_DIR", "/tmp/xvirt-" + std::to_string(getuid()));
  std::string config = env("XDG_CONFIG_HOME", home + "/.config");
  std::string data = env("XDG_DATA_HOME", home + "/.local/share");
  std::string cache = env("XDG_CACHE_HOME", home + "/.cache");
  DomainPaths p;
  p.configDir = config + "/xvirt/domains";
  p.autostartDir = config + "/xvirt/domains/autostart";
  p.statusDir = runtime + "/xvirt/domains";
  p.runDir = runtime + "/xvirt/guests";
  p.saveDir = data + "/xvirt/save";
  p.logDir = cache + "/xvirt/log";
  p.simDir = runtime + "/xvirt/sim";
  p.privileged = false;
  return p;
}

Status DomainPaths::create() const {
  // Configs may be read by their owner only in system mode too: they can hold VNC passwords.
  for (const auto* dir : {&configDir, &autostartDir, &statusDir, &runDir, &saveDir, &logDir})
    XVIRT_TRY(makeOwnDir(*dir, 0700));
  return okStatus();
}

std::string DomainStore::configPath(const std::string& name) const { return paths_.configDir + "/" + name + ".xml"; }
std::string DomainStore::statusPath(const std::string& name) const { return paths_.statusDir + "/" + name + ".xml"; }
std::string DomainStore::managedSavePath(const std::string& name) const { return paths_.saveDir + "/" + name + ".save"; }
std::string DomainStore::logPath(const std::string& name) const { return paths_.logDir + "/" + name + ".log"; }
std::string DomainStore::monitorPath(const std::string& name) const { return paths_.runDir + "/" + name + ".monitor"; }
std::string DomainStore::guestConfigPath(const std::string& name) const { return paths_.runDir + "/" + name + ".json"; }
std::string DomainStore::pidfilePath(const std::string& name) const { return paths_.runDir + "/" + name + ".pid"; }

static std::vector<std::string> xmlFilesIn(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return names;
  while (dirent* e = ::readdir(d)) {
    std::string f = e->d_name;
    if (f.size() > 4 && endsWith(f, ".xml") && f[0] != '.') names.push_back(f.substr(0, f.size() - 4));
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<dom::DomainDef> DomainStore::loadConfigs(std::vector<std::string>* problems) const {
  std::vector<dom::DomainDef> defs;
  for (const auto& name : xmlFilesIn(paths_.configDir)) {
    auto text = readFile(configPath(name));
    if (!text.ok()) {
      if (problems) problems->push_back(text.error().message);
      continue;
    }
    auto def = dom::parseDomainXml(*text, dom::kParseInactive);
    if (!def.ok()) {
      if (problems) problems->push_back("Ignoring " + configPath(name) + ": " + def.error().message);
      continue;
    }
    if (def->name != name) {
      // A rename that a crash interrupted after the new content was written: finish the move.
      bool finished = !pathExists(configPath(def->name)) &&
                      ::rename(configPath(name).c_str(), configPath(def->name).c_str()) == 0 &&
                      syncDir(paths_.configDir).ok();
      if (!finished) {
        if (problems) problems->push_back("Ignoring " + configPath(name) + ": it defines domain '" + def->name + "'.");
        continue;
      }
      if (problems) problems->push_back("Finished renaming domain '" + name + "' to '" + def->name + "'.");
      (void)setAutostart(name, false);  // the old mark; the new one was made first
    }
    defs.push_back(std::move(def).value());
  }
  return defs;
}

Status DomainStore::saveConfig(const dom::DomainDef& def) const {
  return writeFileAtomic(configPath(def.name), dom::formatDomainXml(def, dom::kFormatSecure | dom::kFormatInactive),
                         fileMode());
}

Status DomainStore::removeConfig(const std::string& name) const {
  if (::unlink(configPath(name).c_str()) < 0 && errno != ENOENT)
    return Error::system("Cannot remove " + configPath(name), errno);
  return setAutostart(name, false);
}

Status DomainStore::renameConfig(const std::string& oldName, const dom::DomainDef& def) const {
  bool autostart = isAutostart(oldName);
  // The new mark first: it dangles (and so does not count) until the file is in its place.
  if (autostart) XVIRT_TRY(setAutostart(def.name, true));
  Status moved = writeFileAtomic(configPath(oldName),
                                 dom::formatDomainXml(def, dom::kFormatSecure | dom::kFormatInactive), fileMode());
  if (moved.ok() && ::rename(configPath(oldName).c_str(), configPath(def.name).c_str()) < 0)
    moved = Error::system("Cannot rename " + configPath(oldName) + " to " + configPath(def.name), errno);
  if (!moved.ok()) {
    // The new mark must not make a later domain of that name autostart.
    if (autostart) (void)setAutostart(def.name, false);
    return moved;
  }
  XVIRT_TRY(syncDir(paths_.configDir));
  std::string oldLink = paths_.autostartDir + "/" + oldName + ".xml";
  if (::unlink(oldLink.c_str()) < 0 && errno != ENOENT) return Error::system("Cannot remove " + oldLink, errno);
  return okStatus();
}

bool DomainStore::isAutostart(const std::string& name) const {
  return pathExists(paths_.autostartDir + "/" + name + ".xml");
}

Status DomainStore::setAutostart(const std::string& name, bool on) const {
  std::string link = paths_.autostartDir + "/" + name + ".xml";
  if (!on) {
    if (::unlink(link.c_str()) < 0 && errno != ENOENT) return Error::system("Cannot remove " + link, errno);
    return okStatus();
  }
  // A symlink to the config, as libvirt keeps autostart marks.
  ::unlink(link.c_str());
  if (::symlink(configPath(name).c_str(), link.c_str()) < 0) return Error::system("Cannot create " + link, errno);
  return syncDir(paths_.autostartDir);
}

static std::string xmlEscapeAttr(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '\'': out += "&apos;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

Status DomainStore::saveStatus(const std::string& name, const DomainStatus& st) const {
  std::string xml = "<domstatus state='" + std::to_string(static_cast<int>(st.state)) + "' reason='" +
                    std::to_string(st.reason) + "' domid='" + std::to_string(st.domid) + "' pid='" +
                    std::to_string(st.helperPid) + "' persistent='" + (st.persistent ? "yes" : "no") +
                    "' monitor='" + xmlEscapeAttr(st.monitorPath) + "'>\n" + st.liveXml + "</domstatus>\n";
  return writeFileAtomic(statusPath(name), xml, 0600);
}

static std::string prop(xmlNode* node, const char* name) {
  XmlCharPtr v(xmlGetProp(node, BAD_CAST name));
  return v ? std::string(reinterpret_cast<const char*>(v.get())) : std::string();
}

Result<DomainStatus> DomainStore::loadStatus(const std::string& name) const {
  XVIRT_ASSIGN_OR_RETURN(std::string text, readFile(statusPath(name)));
  XmlDocPtr doc(xmlReadMemory(text.data(), static_cast<int>(text.size()), "status.xml", nullptr,
                              XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
  auto corrupt = [&](const std::string& why) {
    return makeError(ErrorCode::Corrupt, "The status file " + statusPath(name) + " is damaged: " + why + ".");
  };
  if (!doc) return corrupt("it is not well-formed XML");
  xmlNode* root = xmlDocGetRootElement(doc.get());
  if (!root || xmlStrcmp(root->name, BAD_CAST "domstatus") != 0) return corrupt("the root is not <domstatus>");
  DomainStatus st;
  auto num = [&](const char* attr) -> Result<int64_t> {
    auto v = parseInt(prop(root, attr));
    if (!v) return corrupt(std::string("attribute '") + attr + "' is missing or not a number");
    return *v;
  };
  XVIRT_ASSIGN_OR_RETURN(int64_t state, num("state"));
  XVIRT_ASSIGN_OR_RETURN(int64_t reason, num("reason"));
  XVIRT_ASSIGN_OR_RETURN(int64_t domid, num("domid"));
  XVIRT_ASSIGN_OR_RETURN(int64_t pid, num("pid"));
  st.state = static_cast<DomainState>(state);
  st.reason = static_cast<int>(reason);
  st.domid = static_cast<int>(domid);
  st.helperPid = static_cast<pid_t>(pid);
  st.persistent = prop(root, "persistent") != "no";
  st.monitorPath = prop(root, "monitor");
  for (xmlNode* n = root->children; n; n = n->next) {
    if (n->type != XML_ELEMENT_NODE || xmlStrcmp(n->name, BAD_CAST "domain") != 0) continue;
    xmlBuffer* buf = xmlBufferCreate();
    xmlNodeDump(buf, doc.get(), n, 0, 0);
    st.liveXml = reinterpret_cast<const char*>(xmlBufferContent(buf));
    xmlBufferFree(buf);
  }
  if (st.liveXml.empty()) return corrupt("it holds no <domain>");
  return st;
}

std::vector<std::string> DomainStore::removeLeftovers(const std::set<std::string>& activeNames) const {
  std::vector<std::string> removed;
  auto sweep = [&](const std::string& dir, bool runtime) {
    DIR* d = ::opendir(dir.c_str());
    if (!d) return;
    std::vector<std::string> doomed;
    while (dirent* e = ::readdir(d)) {
      std::string f = e->d_name;
      // writeFileAtomic's temporaries: ".NAME.tmp-XXXXXX".
      bool temporary = f.size() > 1 && f[0] == '.' && f.find(".tmp-") != std::string::npos;
      bool stale = false;
      if (runtime && !temporary) {
        for (const char* suffix : {".json", ".pid", ".monitor"}) {
          if (endsWith(f, suffix) && !activeNames.count(f.substr(0, f.size() - std::strlen(suffix)))) stale = true;
        }
      }
      if (temporary || stale) doomed.push_back(dir + "/" + f);
    }
    ::closedir(d);
    for (const auto& path : doomed)
      if (::unlink(path.c_str()) == 0) removed.push_back(path);
  };
  sweep(paths_.configDir, false);
  sweep(paths_.autostartDir, false);
  sweep(paths_.statusDir, false);
  sweep(paths_.runDir, true);
  return removed;
}

std::vector<std::string> DomainStore::statusNames() const { return xmlFilesIn(paths_.statusDir); }

Status DomainStore::removeStatus(const std::string& name) const {
  if (::unlink(statusPath(name).c_str()) < 0 && errno != ENOENT)
    return Error::system("Cannot remove " + statusPath(name), errno);
  return okStatus();
}

}  // namespace xvirt::driver
