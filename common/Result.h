// Result<T>: the value of an operation that can fail, or the Error that says why.
// Used everywhere instead of exceptions, so failures cross C callbacks and threads as plain values.
#pragma once

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace xvirt {

// The kinds of failure that callers branch on. Each maps to one libvirt error number
// (driver/ErrorMap) and one QMP error class (helper/monitor); the message is for people.
enum class ErrorCode {
  Internal,          // a bug or an impossible state
  InvalidArgument,   // the caller passed something malformed
  XmlError,          // domain XML did not parse or validate
  ConfigUnsupported, // well-formed, but xvirt cannot honour it
  NoSupport,         // the operation is not implemented
  OperationFailed,   // a valid request that failed at run time
  OperationInvalid,  // not allowed in the current state
  NoDomain,          // no such domain
  DomainExists,      // a domain with that name or UUID already exists
  DeviceNotFound,    // no such device
  SystemError,       // a system call failed; errno is set
  Timeout,           // gave up waiting
  Denied,            // not allowed for this client
  Corrupt,           // a file or message failed its integrity checks
  NoMetadata,        // the domain has no such title, description or metadata element
};

const char* errorCodeName(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::Internal;
  std::string message;  // one whole sentence, naming what was wrong
  int sysErrno = 0;     // set for SystemError

  static Error system(std::string what, int err) {
    return Error{ErrorCode::SystemError, std::move(what) + ": " + std::strerror(err), err};
  }
};

inline Error makeError(ErrorCode code, std::string message) {
  return Error{code, std::move(message), 0};
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { return std::get<1>(v_); }
  Error&& takeError() { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return *error_; }
  Error&& takeError() { return std::move(*error_); }

 private:
  std::optional<Error> error_;
};

using Status = Result<void>;

inline Status okStatus() { return {}; }

}  // namespace xvirt

// Early return on failure: TRY(expr) evaluates a Result and returns its error from the caller.
#define XVIRT_TRY(expr)                                \
  do {                                                 \
    auto xvirt_try_result_ = (expr);                   \
    if (!xvirt_try_result_.ok())                       \
      return xvirt_try_result_.takeError();            \
  } while (0)

// ASSIGN_OR_RETURN(decl, expr): declares `decl` from the value of a Result, or returns its error.
#define XVIRT_CONCAT_INNER_(a, b) a##b
#define XVIRT_CONCAT_(a, b) XVIRT_CONCAT_INNER_(a, b)
#define XVIRT_ASSIGN_OR_RETURN(decl, expr) \
  XVIRT_ASSIGN_OR_RETURN_IMPL_(XVIRT_CONCAT_(xvirt_res_, __LINE__), decl, expr)
#define XVIRT_ASSIGN_OR_RETURN_IMPL_(tmp, decl, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok())                                      \
    return tmp.takeError();                           \
  decl = std::move(tmp).value()
