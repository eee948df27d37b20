#include "common/Json.h"

#include <glib.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace xvirt {

const char* jsonTypeName(Json::Type t) {
  switch (t) {
    case Json::Type::Null: return "null";
    case Json::Type::Bool: return "boolean";
    case Json::Type::Int: return "integer";
    case Json::Type::Double: return "number";
    case Json::Type::String: return "string";
    case Json::Type::Array: return "array";
    case Json::Type::Object: return "object";
  }
  return "unknown";
}

const Json* Json::get(std::string_view key) const {
  if (!isObject()) return nullptr;
  for (const auto& [k, v] : asObject())
    if (k == key) return &v;
  return nullptr;
}

Json& Json::set(std::string key, Json value) {
  if (!isObject()) v_ = Object{};
  auto& obj = asObject();
  for (auto& [k, v] : obj) {
    if (k == key) {
      v = std::move(value);
      return v;
    }
  }
  obj.emplace_back(std::move(key), std::move(value));
  return obj.back().second;
}

bool Json::erase(std::string_view key) {
  if (!isObject()) return false;
  auto& obj = asObject();
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (it->first == key) {
      obj.erase(it);
      return true;
    }
  }
  return false;
}

Json& Json::push(Json value) {
  if (!isArray()) v_ = Array{};
  auto& arr = asArray();
  arr.push_back(std::move(value));
  return arr.back();
}

std::string Json::getString(std::string_view key, std::string fallback) const {
  const Json* v = get(key);
  return v && v->isString() ? v->asString() : fallback;
}

int64_t Json::asInt() const {
  if (isInt()) return std::get<int64_t>(v_);
  double d = std::get<double>(v_);
  if (std::isnan(d)) return 0;
  if (d >= 0x1p63) return INT64_MAX;  // 2^63 itself is out of range already
  if (d < -0x1p63) return INT64_MIN;
  return static_cast<int64_t>(d);
}

int64_t Json::getInt(std::string_view key, int64_t fallback) const {
  const Json* v = get(key);
  return v && v->isNumber() ? v->asInt() : fallback;
}

bool Json::getBool(std::string_view key, bool fallback) const {
  const Json* v = get(key);
  return v && v->isBool() ? v->asBool() : fallback;
}

static void escapeString(std::string& out, const std::string& s) {
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

void Json::dumpTo(std::string& out, bool compact, int indent) const {
  auto newline = [&](int level) {
    if (compact) return;
    out.push_back('\n');
    out.append(static_cast<size_t>(level) * 2, ' ');
  };
  switch (type()) {
    case Type::Null: out += "null"; break;
    case Type::Bool: out += asBool() ? "true" : "false"; break;
    case Type::Int: out += std::to_string(std::get<int64_t>(v_)); break;
    case Type::Double: {
      double d = std::get<double>(v_);
      if (!std::isfinite(d)) {
        out += "null";
      } else {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.17g", d);
        out += buf;
      }
      break;
    }
    case Type::String: escapeString(out, asString()); break;
    case Type::Array: {
      const auto& arr = asArray();
      if (arr.empty()) {
        out += "[]";
        break;
      }
      out.push_back('[');
      for (size_t i = 0; i < arr.size(); ++i) {
        if (i) out += compact ? ", " : ",";
        newline(indent + 1);
        arr[i].dumpTo(out, compact, indent + 1);
      }
      newline(indent);
      out.push_back(']');
      break;
    }
    case Type::Object: {
      const auto& obj = asObject();
      if (obj.empty()) {
        out += "{}";
        break;
      }
      out.push_back('{');
      for (size_t i = 0; i < obj.size(); ++i) {
        if (i) out += compact ? ", " : ",";
        newline(indent + 1);
        escapeString(out, obj[i].first);
        out += ": ";
        obj[i].second.dumpTo(out, compact, indent + 1);
      }
      newline(indent);
      out.push_back('}');
      break;
    }
  }
}

std::string Json::dump(bool compact) const {
  std::string out;
  dumpTo(out, compact, 0);
  return out;
}

namespace {

// A strict RFC 8259 parser (what json-glib accepted for our documents, without a GObject tree per
// call: the monitor parses one document per command, so this is on its hot path).
class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  Result<Json> document() {
    skipSpace();
    if (pos_ == s_.size()) return makeError(ErrorCode::InvalidArgument, "Invalid JSON: the document is empty.");
    Json root;
    if (!value(root, 0)) return error();
    skipSpace();
    if (pos_ != s_.size()) {
      fail("unexpected text after the document");
      return error();
    }
    return root;
  }

 private:
  // Deeper documents are refused rather than recursing until the stack runs out.
  static constexpr int kMaxDepth = 512;

  bool fail(const char* what) {
    if (!what_) {
      what_ = what;
      errPos_ = pos_;
    }
    return false;
  }

  Error error() const {
    size_t line = 1, col = 1;
    for (size_t i = 0; i < errPos_ && i < s_.size(); ++i) {
      if (s_[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    return makeError(ErrorCode::InvalidArgument, "Invalid JSON: " + std::to_string(line) + ":" + std::to_string(col) +
                                                     ": " + (what_ ? what_ : "parse failed") + ".");
  }

  void skipSpace() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }

  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return fail("unexpected character");
    pos_ += word.size();
    return true;
  }

  bool value(Json& out, int depth) {
    if (pos_ >= s_.size()) return fail("unexpected end of the document");
    switch (s_[pos_]) {
      case '{': return object(out, depth + 1);
      case '[': return array(out, depth + 1);
      case '"': {
        std::string str;
        if (!string(str)) return false;
        out = Json(std::move(str));
        return true;
      }
      case 't':
        if (!literal("true")) return false;
        out = Json(true);
        return true;
      case 'f':
        if (!literal("false")) return false;
        out = Json(false);
        return true;
      case 'n':
        if (!literal("null")) return false;
        out = Json();
        return true;
      default: return number(out);
    }
  }

  bool object(Json& out, int depth) {
    if (depth > kMaxDepth) return fail("the document nests too deeply");
    ++pos_;  // '{'
    out = Json::object();
    skipSpace();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return true;
    }
    for (;;) {
      skipSpace();
      if (pos_ >= s_.size() || s_[pos_] != '"') return fail("expected a member name");
      std::string key;
      if (!string(key)) return false;
      skipSpace();
      if (pos_ >= s_.size() || s_[pos_] != ':') return fail("expected ':' after a member name");
      ++pos_;
      skipSpace();
      Json member;
      if (!value(member, depth)) return false;
      out.set(std::move(key), std::move(member));  // a repeated name keeps the last value
      skipSpace();
      if (pos_ >= s_.size()) return fail("unexpected end of the document");
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == '}') {
        ++pos_;
        return true;
      }
      return fail("expected ',' or '}'");
    }
  }

  bool array(Json& out, int depth) {
    if (depth > kMaxDepth) return fail("the document nests too deeply");
    ++pos_;  // '['
    out = Json::array();
    skipSpace();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return true;
    }
    for (;;) {
      skipSpace();
      Json element;
      if (!value(element, depth)) return false;
      out.asArray().push_back(std::move(element));
      skipSpace();
      if (pos_ >= s_.size()) return fail("unexpected end of the document");
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] == ']') {
        ++pos_;
        return true;
      }
      return fail("expected ',' or ']'");
    }
  }

  bool hex4(uint32_t& out) {
    if (s_.size() - pos_ < 4) return fail("a \\u escape needs four hexadecimal digits");
    out = 0;
    for (int i = 0; i < 4; ++i) {
      char c = s_[pos_++];
      out <<= 4;
      if (c >= '0' && c <= '9') out |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') out |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') out |= static_cast<uint32_t>(c - 'A' + 10);
      else return fail("a \\u escape needs four hexadecimal digits");
    }
    return true;
  }

  static void appendUtf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
      out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
  }

  bool string(std::string& out) {
    ++pos_;  // '"'
    size_t start = pos_;
    for (;;) {
      // Copy runs of plain characters at once.
      size_t run = pos_;
      while (run < s_.size() && s_[run] != '"' && s_[run] != '\\' && static_cast<unsigned char>(s_[run]) >= 0x20) ++run;
      out.append(s_.data() + pos_, run - pos_);
      pos_ = run;
      if (pos_ >= s_.size()) return fail("unterminated string");
      char c = s_[pos_];
      if (c == '"') {
        ++pos_;
        break;
      }
      if (c != '\\') return fail("control character in a string");
      if (++pos_ >= s_.size()) return fail("unterminated string");
      char e = s_[pos_++];
      switch (e) {
        case '"': out.push_back('"'); break;
        case '\\': out.push_back('\\'); break;
        case '/': out.push_back('/'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'u': {
          uint32_t cp;
          if (!hex4(cp)) return false;
          if (cp >= 0xd800 && cp < 0xdc00) {
            uint32_t low;
            if (s_.substr(pos_, 2) != "\\u") return fail("unpaired UTF-16 surrogate");
            pos_ += 2;
            if (!hex4(low)) return false;
            if (low < 0xdc00 || low >= 0xe000) return fail("unpaired UTF-16 surrogate");
            cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
          } else if (cp >= 0xdc00 && cp < 0xe000) {
            return fail("unpaired UTF-16 surrogate");
          } else if (cp == 0) {
            return fail("\\u0000 in a string");  // our strings are C strings further down
          }
          appendUtf8(out, cp);
          break;
        }
        default: --pos_; return fail("invalid escape in a string");
      }
    }
    if (!g_utf8_validate(out.data(), static_cast<gssize>(out.size()), nullptr)) {
      pos_ = start;
      return fail("invalid UTF-8 in a string");
    }
    return true;
  }

  bool number(Json& out) {
    size_t start = pos_;
    auto digits = [&] {
      size_t from = pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
      return pos_ - from;
    };
    if (pos_ < s_.size() && s_[pos_] == '-') ++pos_;
    if (pos_ >= s_.size() || s_[pos_] < '0' || s_[pos_] > '9') return fail("unexpected character");
    if (s_[pos_] == '0') ++pos_;
    else digits();
    bool integral = true;
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      integral = false;
      if (digits() == 0) return fail("a number needs digits after '.'");
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      integral = false;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (digits() == 0) return fail("a number needs digits in its exponent");
    }
    std::string text(s_.substr(start, pos_ - start));
    if (integral) {
      errno = 0;
      long long v = std::strtoll(text.c_str(), nullptr, 10);
      if (errno != ERANGE) {
        out = Json(v);
        return true;
      }
    }
    out = Json(g_ascii_strtod(text.c_str(), nullptr));  // locale-independent, as json-glib
    return true;
  }

  std::string_view s_;
  size_t pos_ = 0;
  const char* what_ = nullptr;
  size_t errPos_ = 0;
};

}  // namespace

Result<Json> Json::parse(std::string_view text) { return Parser(text).document(); }

}  // namespace xvirt
