#include "common/Result.h"

namespace xvirt {

const char* errorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::Internal: return "internal";
    case ErrorCode::InvalidArgument: return "invalid-argument";
    case ErrorCode::XmlError: return "xml-error";
    case ErrorCode::ConfigUnsupported: return "config-unsupported";
    case ErrorCode::NoSupport: return "no-support";
    case ErrorCode::OperationFailed: return "operation-failed";
    case ErrorCode::OperationInvalid: return "operation-invalid";
    case ErrorCode::NoDomain: return "no-domain";
    case ErrorCode::DomainExists: return "domain-exists";
    case ErrorCode::DeviceNotFound: return "device-not-found";
    case ErrorCode::SystemError: return "system-error";
    case ErrorCode::Timeout: return "timeout";
    case ErrorCode::Denied: return "denied";
    case ErrorCode::Corrupt: return "corrupt";
    case ErrorCode::NoMetadata: return "no-metadata";
  }
  return "unknown";
}

}  // namespace xvirt
