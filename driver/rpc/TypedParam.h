// remote_typed_param: a named, typed value (libvirt's virTypedParameter) as stats and tuning calls
// carry them. Strings are only sent when the caller's flags allow them (VIR_TYPED_PARAM_STRING_OKAY).
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "driver/rpc/Xdr.h"

namespace xvirt::rpc {

inline constexpr uint32_t kTypedParamFieldMax = 80;   // VIR_TYPED_PARAM_FIELD_LENGTH incl. NUL

enum class TypedParamType : int32_t { Int = 1, UInt = 2, LLong = 3, ULLong = 4, Double = 5, Boolean = 6, String = 7 };

struct TypedParam {
  std::string field;
  TypedParamType type = TypedParamType::Int;
  std::variant<int32_t, uint32_t, int64_t, uint64_t, double, bool, std::string> value;

  static TypedParam makeInt(std::string f, int32_t v) { return {std::move(f), TypedParamType::Int, v}; }
  static TypedParam makeUInt(std::string f, uint32_t v) { return {std::move(f), TypedParamType::UInt, v}; }
  static TypedParam makeLLong(std::string f, int64_t v) { return {std::move(f), TypedParamType::LLong, v}; }
  static TypedParam makeULLong(std::string f, uint64_t v) { return {std::move(f), TypedParamType::ULLong, v}; }
  static TypedParam makeDouble(std::string f, double v) { return {std::move(f), TypedParamType::Double, v}; }
  static TypedParam makeBool(std::string f, bool v) { return {std::move(f), TypedParamType::Boolean, v}; }
  static TypedParam makeString(std::string f, std::string v) { return {std::move(f), TypedParamType::String, std::move(v)}; }

  bool operator==(const TypedParam&) const = default;
};

// typed_param<max>: a count, then each parameter.
void encodeTypedParams(XdrWriter& w, const std::vector<TypedParam>& params);
std::vector<TypedParam> decodeTypedParams(XdrReader& r, uint32_t max);

// Drops string parameters when the client did not say it can take them (flags lack STRING_OKAY).
std::vector<TypedParam> filterTypedParams(std::vector<TypedParam> params, uint32_t callFlags);

}  // namespace xvirt::rpc
