#include "common/Json.h"

#include <json-glib/json-glib.h>

#include <cmath>
#include <cstdio>

#include "common/CHandle.h"

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

static Json fromNode(JsonNode* node) {
  switch (json_node_get_node_type(node)) {
    case JSON_NODE_NULL: return Json();
    case JSON_NODE_VALUE: {
      GType t = json_node_get_value_type(node);
      if (t == G_TYPE_BOOLEAN) return Json(static_cast<bool>(json_node_get_boolean(node)));
      if (t == G_TYPE_INT64) return Json(static_cast<long long>(json_node_get_int(node)));
      if (t == G_TYPE_DOUBLE) return Json(json_node_get_double(node));
      if (t == G_TYPE_STRING) return Json(json_node_get_string(node));
      return Json();
    }
    case JSON_NODE_ARRAY: {
      Json out = Json::array();
      JsonArray* arr = json_node_get_array(node);
      guint n = json_array_get_length(arr);
      for (guint i = 0; i < n; ++i) out.push(fromNode(json_array_get_element(arr, i)));
      return out;
    }
    case JSON_NODE_OBJECT: {
      Json out = Json::object();
      JsonObject* obj = json_node_get_object(node);
      // json-glib keeps members in insertion order; walk them as written.
      GList* members = json_object_get_members(obj);
      for (GList* l = members; l; l = l->next) {
        const char* name = static_cast<const char*>(l->data);
        out.set(name, fromNode(json_object_get_member(obj, name)));
      }
      g_list_free(members);
      return out;
    }
  }
  return Json();
}

Result<Json> Json::parse(std::string_view text) {
  GRef<JsonParser> parser = GRef<JsonParser>::adopt(json_parser_new_immutable());
  GError* raw = nullptr;
  if (!json_parser_load_from_data(parser.get(), text.data(), static_cast<gssize>(text.size()), &raw)) {
    GErrorPtr err(raw);
    return makeError(ErrorCode::InvalidArgument,
                     std::string("Invalid JSON: ") + (err ? err->message : "parse failed") + ".");
  }
  JsonNode* root = json_parser_get_root(parser.get());
  if (!root) return makeError(ErrorCode::InvalidArgument, "Invalid JSON: the document is empty.");
  return fromNode(root);
}

}  // namespace xvirt
