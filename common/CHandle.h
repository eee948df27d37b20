// Owners for C handles from GLib and libxml2: each is a unique_ptr with the library's free function,
// so no raw handle outlives its scope by accident.
#pragma once

#include <glib-object.h>
#include <glib.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>

#include <memory>
#include <string>
#include <utility>

namespace xvirt {

template <auto Fn>
struct CDeleter {
  template <typename T>
  void operator()(T* p) const {
    if (p) Fn(p);
  }
};

using GCharPtr = std::unique_ptr<gchar, CDeleter<g_free>>;
using GErrorPtr = std::unique_ptr<GError, CDeleter<g_error_free>>;
using XmlDocPtr = std::unique_ptr<xmlDoc, CDeleter<xmlFreeDoc>>;
using XmlXPathContextPtr = std::unique_ptr<xmlXPathContext, CDeleter<xmlXPathFreeContext>>;
using XmlXPathObjectPtr = std::unique_ptr<xmlXPathObject, CDeleter<xmlXPathFreeObject>>;
// xmlFree is a function pointer variable, not a function, so it needs its own deleter.
struct XmlFreeDeleter {
  void operator()(xmlChar* p) const {
    if (p) xmlFree(p);
  }
};
using XmlCharPtr = std::unique_ptr<xmlChar, XmlFreeDeleter>;

inline std::string takeGChar(gchar* s) {
  GCharPtr owner(s);
  return s ? std::string(s) : std::string();
}

// Holds one reference to a GObject and drops it on destruction.
template <typename T>
class GRef {
 public:
  GRef() = default;
  // Adopts a reference the caller already owns (e.g. from a *_new() function).
  static GRef adopt(T* p) {
    GRef r;
    r.p_ = p;
    return r;
  }
  GRef(const GRef& o) : p_(o.p_) {
    if (p_) g_object_ref(p_);
  }
  GRef& operator=(const GRef& o) {
    GRef tmp(o);
    std::swap(p_, tmp.p_);
    return *this;
  }
  GRef(GRef&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  GRef& operator=(GRef&& o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }
  ~GRef() {
    if (p_) g_object_unref(p_);
  }
  T* get() const { return p_; }
  explicit operator bool() const { return p_ != nullptr; }

 private:
  T* p_ = nullptr;
};

}  // namespace xvirt
