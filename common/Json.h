// Json: a small ordered JSON value for the monitor, GuestConfig, status files and save-image headers.
// Parsing is strict RFC 8259 (common/Json.cc); this type gives C++ code a plain value to build, read and print.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/Result.h"

namespace xvirt {

class Json {
 public:
  enum class Type { Null, Bool, Int, Double, String, Array, Object };
  using Array = std::vector<Json>;
  // Members keep their insertion order so printed documents are stable (golden files).
  using Object = std::vector<std::pair<std::string, Json>>;

  Json() = default;
  Json(std::nullptr_t) {}
  Json(bool b) : v_(b) {}
  Json(int i) : v_(static_cast<int64_t>(i)) {}
  Json(unsigned i) : v_(static_cast<int64_t>(i)) {}
  Json(long i) : v_(static_cast<int64_t>(i)) {}
  Json(unsigned long i) : v_(static_cast<int64_t>(i)) {}
  Json(long long i) : v_(static_cast<int64_t>(i)) {}
  Json(unsigned long long i) : v_(static_cast<int64_t>(i)) {}
  Json(double d) : v_(d) {}
  Json(const char* s) : v_(std::string(s)) {}
  Json(std::string s) : v_(std::move(s)) {}
  Json(std::string_view s) : v_(std::string(s)) {}
  Json(Array a) : v_(std::move(a)) {}
  Json(Object o) : v_(std::move(o)) {}

  static Json object() { return Json(Object{}); }
  static Json array() { return Json(Array{}); }
  static Json object(std::initializer_list<std::pair<std::string, Json>> members) {
    return Json(Object(members.begin(), members.end()));
  }

  Type type() const { return static_cast<Type>(v_.index()); }
  bool isNull() const { return type() == Type::Null; }
  bool isBool() const { return type() == Type::Bool; }
  bool isInt() const { return type() == Type::Int; }
  bool isNumber() const { return type() == Type::Int || type() == Type::Double; }
  bool isString() const { return type() == Type::String; }
  bool isArray() const { return type() == Type::Array; }
  bool isObject() const { return type() == Type::Object; }

  bool asBool() const { return std::get<bool>(v_); }
  // A double is truncated toward zero, and saturates where int64 ends (0 for NaN): numbers such as
  // 1e300 come from untrusted JSON, and converting them unchecked is undefined behaviour.
  int64_t asInt() const;
  double asDouble() const {
    return isInt() ? static_cast<double>(std::get<int64_t>(v_)) : std::get<double>(v_);
  }
  const std::string& asString() const { return std::get<std::string>(v_); }
  const Array& asArray() const { return std::get<Array>(v_); }
  Array& asArray() { return std::get<Array>(v_); }
  const Object& asObject() const { return std::get<Object>(v_); }
  Object& asObject() { return std::get<Object>(v_); }

  // Object access. get() returns nullptr when the member is absent (or this is not an object).
  const Json* get(std::string_view key) const;
  Json& set(std::string key, Json value);  // replaces an existing member, else appends
  bool erase(std::string_view key);
  // Array append.
  Json& push(Json value);

  // Typed lookups with defaults, for reading optional members.
  std::string getString(std::string_view key, std::string fallback = {}) const;
  int64_t getInt(std::string_view key, int64_t fallback = 0) const;
  bool getBool(std::string_view key, bool fallback = false) const;

  // compact: one line (the monitor's wire form); otherwise two-space indentation.
  std::string dump(bool compact = true) const;

  static Result<Json> parse(std::string_view text);

  friend bool operator==(const Json& a, const Json& b) { return a.v_ == b.v_; }

 private:
  void dumpTo(std::string& out, bool compact, int indent) const;
  std::variant<std::nullptr_t, bool, int64_t, double, std::string, Array, Object> v_{nullptr};
};

const char* jsonTypeName(Json::Type t);

}  // namespace xvirt
