// XsStore: the node tree, permissions, transactions and watches of the simulated xenstore.
//
// Every operation runs against a transaction view: an overlay of copied nodes over the live tree.
// A plain request uses a scratch view that is committed at once, so one code path serves both.
// A registered transaction also records the generation of every node it looked at; its commit
// fails with EAGAIN if any of them changed since, which is xenstored's conflict rule.
#include "hypervisor/sim/xenstore/XsStoreImpl.h"

#include <algorithm>
#include <cerrno>
#include <optional>

namespace xvirt::sim {

namespace {

std::string parentOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == 0 ? std::string("/") : path.substr(0, slash);
}

std::string baseOf(const std::string& path) { return path.substr(path.rfind('/') + 1); }

std::string childPath(const std::string& parent, const std::string& name) {
  return parent == "/" ? "/" + name : parent + "/" + name;
}

bool validChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '/' ||
         c == '_' || c == '@';
}

bool allowed(uint32_t domid, const std::vector<XsNodePerm>& perms, char need) {
  if (domid == 0) return true;
  char a = xsAccess(domid, perms);
  return a == 'b' || a == need;
}

Status statusFor(int err, const std::string& path) {
  switch (err) {
    case 0: return okStatus();
    case ENOENT: return makeError(ErrorCode::DeviceNotFound, "The xenstore node " + path + " does not exist.");
    case EACCES:
    case EPERM: return makeError(ErrorCode::Denied, "Access to the xenstore node " + path + " is denied.");
    case EINVAL: return makeError(ErrorCode::InvalidArgument, "The xenstore path " + path + " is not valid.");
    case E2BIG: return makeError(ErrorCode::InvalidArgument, "The value for the xenstore node " + path + " is too large.");
    default: return Error::system("The xenstore operation on " + path + " failed", err);
  }
}

}  // namespace

int xsCanonicalize(uint32_t domid, std::string_view in, bool allowSpecial, std::string& out) {
  if (in.empty()) return EINVAL;
  if (in[0] == '@') {
    if (!allowSpecial || in.size() > kXsAbsPathMax) return EINVAL;
    if (!std::all_of(in.begin(), in.end(), validChar)) return EINVAL;
    out.assign(in);
    return 0;
  }
  if (in[0] != '/') {
    if (in.size() > kXsRelPathMax) return EINVAL;
    out = "/local/domain/" + std::to_string(domid) + "/";
    out.append(in);
  } else {
    out.assign(in);
  }
  if (out.size() > kXsAbsPathMax) return EINVAL;
  if (out.size() > 1 && out.back() == '/') return EINVAL;
  if (out.find("//") != std::string::npos) return EINVAL;
  if (!std::all_of(out.begin(), out.end(), validChar)) return EINVAL;
  return 0;
}

char xsAccess(uint32_t domid, const std::vector<XsNodePerm>& perms) {
  if (domid == 0) return 'b';
  if (perms.empty()) return 'n';
  if (perms[0].domid == domid) return 'b';  // the owner may do anything
  for (size_t i = 1; i < perms.size(); ++i)
    if (perms[i].domid == domid) return perms[i].perm;
  return perms[0].perm;
}

bool xsWatchMatches(const std::string& watched, const std::string& changed, bool exact, std::string& eventPath) {
  auto isUnder = [](const std::string& child, const std::string& parent) {
    if (child == parent) return true;
    if (parent == "/") return child.size() > 1 && child[0] == '/';
    return child.size() > parent.size() && child.compare(0, parent.size(), parent) == 0 &&
           child[parent.size()] == '/';
  };
  if (watched[0] == '@' || changed[0] == '@') {
    if (watched != changed) return false;
    eventPath = changed;
    return true;
  }
  if (isUnder(changed, watched)) {
    eventPath = changed;
    return true;
  }
  // A removal also removes what was watched below it; that watch hears about its own path.
  if (!exact && isUnder(watched, changed)) {
    eventPath = watched;
    return true;
  }
  return false;
}

struct XsStore::Impl::Txn {
  bool track = false;  // a registered transaction, checked for conflicts at commit
  std::unordered_map<std::string, std::optional<Node>> overlay;
  std::unordered_map<std::string, uint64_t> readGen;  // generation seen, 0 = absent
  std::vector<std::pair<std::string, bool>> events;

  const Node* get(const std::unordered_map<std::string, Node>& live, const std::string& path) {
    if (auto it = overlay.find(path); it != overlay.end()) return it->second ? &*it->second : nullptr;
    auto it = live.find(path);
    const Node* node = it == live.end() ? nullptr : &it->second;
    if (track) readGen.emplace(path, node ? node->gen : 0);
    return node;
  }
  // The node's private copy for modification, or nullptr when absent.
  Node* mut(const std::unordered_map<std::string, Node>& live, const std::string& path) {
    if (auto it = overlay.find(path); it != overlay.end()) return it->second ? &*it->second : nullptr;
    const Node* node = get(live, path);
    if (!node) return nullptr;
    return &*(overlay[path] = *node);
  }
};

XsStore::Impl::Impl() : context_(g_main_context_ref_thread_default()) {
  Node root;
  root.perms = {XsNodePerm{0, 'n'}};
  root.gen = nextGen_++;
  nodes_.emplace("/", std::move(root));
}

XsStore::Impl::~Impl() {
  if (idle_) {
    g_source_destroy(idle_);
    g_source_unref(idle_);
  }
  g_main_context_unref(context_);
}

XsStore::Impl::Txn* XsStore::Impl::txnFor(uint32_t tx, Txn& scratch, int& err) {
  if (tx == 0) return &scratch;
  auto it = txns_.find(tx);
  if (it == txns_.end()) {
    err = ENOENT;
    return nullptr;
  }
  return it->second.get();
}

int XsStore::Impl::finish(Txn& t, uint32_t tx, int err) {
  // Checks come before changes in every operation, so a failed one left nothing behind.
  if (tx == 0 && err == 0) return commit(t);
  return err;
}

int XsStore::Impl::commit(Txn& t) {
  if (t.track) {
    for (const auto& [path, gen] : t.readGen) {
      auto it = nodes_.find(path);
      if ((it == nodes_.end() ? 0 : it->second.gen) != gen) return EAGAIN;
    }
  }
  for (auto& [path, node] : t.overlay) {
    if (node) {
      Node& live = nodes_[path];
      live = std::move(*node);
      live.gen = nextGen_++;
    } else {
      nodes_.erase(path);
    }
  }
  for (const auto& [path, exact] : t.events) notify(path, exact);
  return 0;
}

// The macro keeps each operation to its logic: find the view or fail, run, finish.
#define XS_VIEW(tx)                   \
  Txn scratch;                        \
  int err = 0;                        \
  Txn* t = txnFor(tx, scratch, err);  \
  if (!t) return err

int XsStore::Impl::read(uint32_t tx, uint32_t domid, const std::string& path, std::string& value) {
  XS_VIEW(tx);
  const Node* node = t->get(nodes_, path);
  if (!node) return ENOENT;
  if (!allowed(domid, node->perms, 'r')) return EACCES;
  value = node->value;
  return 0;
}

int XsStore::Impl::createPath(Txn& t, uint32_t domid, const std::string& path, Node*& node) {
  std::vector<std::string> missing;
  std::string at = path;
  const Node* existing = nullptr;
  while (!(existing = t.get(nodes_, at))) {
    missing.push_back(at);
    at = parentOf(at);
  }
  if (!allowed(domid, existing->perms, 'w')) return EACCES;
  if (missing.empty()) {
    node = t.mut(nodes_, path);
    return 0;
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    Node* parent = t.mut(nodes_, parentOf(*it));
    parent->children.push_back(baseOf(*it));
    Node created;
    created.perms = parent->perms;
    // Unprivileged domains own what they create; dom0's nodes keep the inherited owner.
    if (domid != 0) created.perms[0].domid = domid;
    node = &*(t.overlay[*it] = std::move(created));
  }
  return 0;
}

int XsStore::Impl::write(uint32_t tx, uint32_t domid, const std::string& path, std::string_view value) {
  XS_VIEW(tx);
  if (value.size() > kXsPayloadMax) return E2BIG;
  Node* node = nullptr;
  if (int e = createPath(*t, domid, path, node)) return e;
  node->value.assign(value);
  t->events.emplace_back(path, true);
  return finish(*t, tx, 0);
}

int XsStore::Impl::mkdir(uint32_t tx, uint32_t domid, const std::string& path) {
  XS_VIEW(tx);
  if (const Node* node = t->get(nodes_, path)) return allowed(domid, node->perms, 'w') ? 0 : EACCES;
  Node* node = nullptr;
  if (int e = createPath(*t, domid, path, node)) return e;
  t->events.emplace_back(path, true);
  return finish(*t, tx, 0);
}

void XsStore::Impl::removeSubtree(Txn& t, const std::string& path) {
  const Node* node = t.get(nodes_, path);
  if (!node) return;
  std::vector<std::string> children = node->children;
  for (const auto& name : children) removeSubtree(t, childPath(path, name));
  t.overlay[path] = std::nullopt;
}

int XsStore::Impl::rm(uint32_t tx, uint32_t domid, const std::string& path) {
  XS_VIEW(tx);
  if (path == "/") return EINVAL;
  const Node* node = t->get(nodes_, path);
  if (!node) return t->get(nodes_, parentOf(path)) ? 0 : ENOENT;  // absent is fine if its parent exists
  if (!allowed(domid, node->perms, 'w')) return EACCES;
  removeSubtree(*t, path);
  Node* parent = t->mut(nodes_, parentOf(path));
  auto& kids = parent->children;
  kids.erase(std::remove(kids.begin(), kids.end(), baseOf(path)), kids.end());
  t->events.emplace_back(path, false);
  return finish(*t, tx, 0);
}

int XsStore::Impl::directory(uint32_t tx, uint32_t domid, const std::string& path,
                             std::vector<std::string>& children, uint64_t& gen) {
  XS_VIEW(tx);
  const Node* node = t->get(nodes_, path);
  if (!node) return ENOENT;
  if (!allowed(domid, node->perms, 'r')) return EACCES;
  children = node->children;
  gen = node->gen;
  return 0;
}

int XsStore::Impl::getPerms(uint32_t tx, uint32_t domid, const std::string& path, std::vector<XsNodePerm>& perms) {
  XS_VIEW(tx);
  const Node* node = t->get(nodes_, path);
  if (!node) return ENOENT;
  if (!allowed(domid, node->perms, 'r')) return EACCES;
  perms = node->perms;
  return 0;
}

int XsStore::Impl::setPerms(uint32_t tx, uint32_t domid, const std::string& path,
                            const std::vector<XsNodePerm>& perms) {
  XS_VIEW(tx);
  if (perms.empty()) return EINVAL;
  for (const auto& p : perms)
    if (p.perm != 'n' && p.perm != 'r' && p.perm != 'w' && p.perm != 'b') return EINVAL;
  const Node* existing = t->get(nodes_, path);
  if (!existing) return ENOENT;
  // Only the owner may change permissions, and an unprivileged owner may not give the node away.
  if (domid != 0 && (existing->perms[0].domid != domid || perms[0].domid != domid)) return EPERM;
  t->mut(nodes_, path)->perms = perms;
  t->events.emplace_back(path, true);
  return finish(*t, tx, 0);
}

#undef XS_VIEW

uint32_t XsStore::Impl::transactionStart() {
  while (nextTx_ == 0 || txns_.count(nextTx_)) ++nextTx_;
  uint32_t id = nextTx_++;
  auto t = std::make_unique<Txn>();
  t->track = true;
  txns_.emplace(id, std::move(t));
  return id;
}

int XsStore::Impl::transactionEnd(uint32_t tx, bool doCommit) {
  auto it = txns_.find(tx);
  if (it == txns_.end()) return ENOENT;
  std::unique_ptr<Txn> t = std::move(it->second);
  txns_.erase(it);
  return doCommit ? commit(*t) : 0;
}

uint64_t XsStore::Impl::addListener(ChangeListener listener) {
  listeners_.emplace(nextListener_, std::move(listener));
  return nextListener_++;
}

void XsStore::Impl::removeListener(uint64_t id) { listeners_.erase(id); }

void XsStore::Impl::notify(const std::string& path, bool exact) {
  for (auto& [id, listener] : listeners_) listener(path, exact);
  std::string eventPath;
  for (const auto& [id, w] : watches_)
    if (xsWatchMatches(w.path, path, exact, eventPath)) pendingWatch_.emplace_back(id, eventPath);
  if (!pendingWatch_.empty() && !idle_) {
    idle_ = g_idle_source_new();
    g_source_set_callback(idle_, &Impl::dispatchWatches, this, nullptr);
    g_source_attach(idle_, context_);
  }
}

gboolean XsStore::Impl::dispatchWatches(gpointer self) {
  auto* impl = static_cast<Impl*>(self);
  std::unique_lock lock(impl->mutex_);
  GSource* source = std::exchange(impl->idle_, nullptr);
  auto pending = std::move(impl->pendingWatch_);
  impl->pendingWatch_.clear();
  for (const auto& [id, path] : pending) {
    auto it = impl->watches_.find(id);
    if (it == impl->watches_.end()) continue;  // removed by an earlier callback
    WatchCallback callback = it->second.callback;  // the callback may remove its own watch
    // Unlocked: the callback uses the facade, and connection threads may go on meanwhile.
    lock.unlock();
    callback(path);
    lock.lock();
  }
  lock.unlock();
  g_source_unref(source);
  return G_SOURCE_REMOVE;
}

uint64_t XsStore::Impl::addWatch(const std::string& path, WatchCallback callback) {
  uint64_t id = nextListener_++;
  watches_.emplace(id, InternalWatch{path, std::move(callback)});
  return id;
}

void XsStore::Impl::removeWatch(uint64_t id) { watches_.erase(id); }

// --- The facade: each call takes the engine's lock (connection threads use it too). ---

XsStore::XsStore() : impl_(new Impl) {}
XsStore::~XsStore() { delete impl_; }

std::optional<std::string> XsStore::read(const std::string& path) const {
  std::lock_guard lock(impl_->mutex());
  std::string abs, value;
  if (xsCanonicalize(0, path, false, abs) || impl_->read(0, 0, abs, value)) return std::nullopt;
  return value;
}

Status XsStore::write(const std::string& path, std::string_view value, uint32_t asDomid) {
  std::lock_guard lock(impl_->mutex());
  std::string abs;
  int err = xsCanonicalize(asDomid, path, false, abs);
  return statusFor(err ? err : impl_->write(0, asDomid, abs, value), path);
}

Status XsStore::mkdir(const std::string& path, uint32_t asDomid) {
  std::lock_guard lock(impl_->mutex());
  std::string abs;
  int err = xsCanonicalize(asDomid, path, false, abs);
  return statusFor(err ? err : impl_->mkdir(0, asDomid, abs), path);
}

Status XsStore::rm(const std::string& path, uint32_t asDomid) {
  std::lock_guard lock(impl_->mutex());
  std::string abs;
  int err = xsCanonicalize(asDomid, path, false, abs);
  if (!err) err = impl_->rm(0, asDomid, abs);
  return statusFor(err == ENOENT ? 0 : err, path);
}

std::vector<std::string> XsStore::directory(const std::string& path) const {
  std::lock_guard lock(impl_->mutex());
  std::string abs;
  std::vector<std::string> children;
  uint64_t gen = 0;
  if (xsCanonicalize(0, path, false, abs) || impl_->directory(0, 0, abs, children, gen)) return {};
  return children;
}

Status XsStore::setPerms(const std::string& path, const std::vector<XsNodePerm>& perms) {
  std::lock_guard lock(impl_->mutex());
  std::string abs;
  int err = xsCanonicalize(0, path, false, abs);
  return statusFor(err ? err : impl_->setPerms(0, 0, abs, perms), path);
}

std::vector<XsNodePerm> XsStore::perms(const std::string& path) const {
  std::lock_guard lock(impl_->mutex());
  std::string abs;
  std::vector<XsNodePerm> perms;
  if (xsCanonicalize(0, path, false, abs) || impl_->getPerms(0, 0, abs, perms)) return {};
  return perms;
}

uint64_t XsStore::addWatch(const std::string& path, WatchCallback callback) {
  std::lock_guard lock(impl_->mutex());
  return impl_->addWatch(path, std::move(callback));
}

void XsStore::removeWatch(uint64_t id) {
  std::lock_guard lock(impl_->mutex());
  impl_->removeWatch(id);
}

void XsStore::fireSpecial(const std::string& special) {
  std::lock_guard lock(impl_->mutex());
  impl_->notify(special, true);
}

size_t XsStore::nodeCount() const {
  std::lock_guard lock(impl_->mutex());
  return impl_->nodeCount();
}

size_t XsStore::transactionCount() const {
  std::lock_guard lock(impl_->mutex());
  return impl_->transactionCount();
}

}  // namespace xvirt::sim
