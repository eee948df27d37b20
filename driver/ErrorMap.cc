// ErrorCode -> virErrorNumber. Chosen to match what libvirt's libxl and QEMU drivers report for the
// same situation, because clients (virsh fallbacks, virt-manager, virt-install) branch on them.
#include "driver/ErrorMap.h"

namespace xvirt::driver {

int32_t libvirtErrorNumber(ErrorCode code) {
  switch (code) {
    case ErrorCode::Internal: return virerr::kInternalError;
    case ErrorCode::InvalidArgument: return virerr::kInvalidArg;
    case ErrorCode::XmlError: return virerr::kXmlError;
    case ErrorCode::ConfigUnsupported: return virerr::kConfigUnsupported;
    case ErrorCode::NoSupport: return virerr::kNoSupport;
    case ErrorCode::OperationFailed: return virerr::kOperationFailed;
    case ErrorCode::OperationInvalid: return virerr::kOperationInvalid;
    case ErrorCode::NoDomain: return virerr::kNoDomain;
    case ErrorCode::DomainExists: return virerr::kDomExist;
    case ErrorCode::DeviceNotFound: return virerr::kDeviceMissing;
    case ErrorCode::SystemError: return virerr::kSystemError;
    case ErrorCode::Timeout: return virerr::kOperationTimeout;
    case ErrorCode::Denied: return virerr::kOperationDenied;
    case ErrorCode::Corrupt: return virerr::kOperationFailed;
    case ErrorCode::NoMetadata: return virerr::kNoDomainMetadata;
  }
  return virerr::kInternalError;
}

rpc::RemoteError toRemoteError(const Error& error) {
  return rpc::RemoteError::make(libvirtErrorNumber(error.code), virfrom::kXen, error.message);
}

rpc::RemoteError remoteError(int32_t virErrorNumber, std::string message) {
  return rpc::RemoteError::make(virErrorNumber, virfrom::kXen, std::move(message));
}

}  // namespace xvirt::driver
