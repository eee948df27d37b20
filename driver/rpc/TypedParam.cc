// Typed parameters: field name, type discriminant, then the value in the type's own encoding.
#include "driver/rpc/TypedParam.h"

#include <algorithm>

#include "driver/LibvirtConstants.h"

namespace xvirt::rpc {

void encodeTypedParams(XdrWriter& w, const std::vector<TypedParam>& params) {
  w.u32(static_cast<uint32_t>(params.size()));
  for (const auto& p : params) {
    w.str(p.field);
    w.i32(static_cast<int32_t>(p.type));
    switch (p.type) {
      case TypedParamType::Int: w.i32(std::get<int32_t>(p.value)); break;
      case TypedParamType::UInt: w.u32(std::get<uint32_t>(p.value)); break;
      case TypedParamType::LLong: w.i64(std::get<int64_t>(p.value)); break;
      case TypedParamType::ULLong: w.u64(std::get<uint64_t>(p.value)); break;
      case TypedParamType::Double: w.dbl(std::get<double>(p.value)); break;
      case TypedParamType::Boolean: w.boolean(std::get<bool>(p.value)); break;
      case TypedParamType::String: w.str(std::get<std::string>(p.value)); break;
    }
  }
}

std::vector<TypedParam> decodeTypedParams(XdrReader& r, uint32_t max) {
  std::vector<TypedParam> out;
  uint32_t n = r.count(max, "typed parameter list");
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    TypedParam p;
    p.field = r.str(kTypedParamFieldMax - 1, "typed parameter name");
    int32_t type = r.i32();
    if (!r.ok()) break;
    switch (type) {
      case 1: p.value = r.i32(); break;
      case 2: p.value = r.u32(); break;
      case 3: p.value = r.i64(); break;
      case 4: p.value = r.u64(); break;
      case 5: p.value = r.dbl(); break;
      case 6: p.value = r.boolean(); break;
      case 7: p.value = r.str(kXdrStringMax, "typed parameter value"); break;
      default:
        r.fail("The typed parameter '" + p.field + "' has the unknown type " + std::to_string(type) + ".");
        return {};
    }
    p.type = static_cast<TypedParamType>(type);
    out.push_back(std::move(p));
  }
  return r.ok() ? out : std::vector<TypedParam>{};
}

std::vector<TypedParam> filterTypedParams(std::vector<TypedParam> params, uint32_t callFlags) {
  if (callFlags & driver::flags::kTypedParamStringOkay) return params;
  std::erase_if(params, [](const TypedParam& p) { return p.type == TypedParamType::String; });
  return params;
}

}  // namespace xvirt::rpc
