// The numbers of the messages xvirtd sends but is never called with (events, keepalive) and of the
// features clients probe: libvirt 9.0.0's remote_protocol.x and virkeepaliveprotocol.x numbers, named
// as libvirt names them. The calls xvirtd serves are numbered in driver/RemoteProcedures.h.
#pragma once

#include <cstdint>

namespace xvirt::rpc::proc {

// REMOTE_PROGRAM messages from the server: domain events. The legacy ones (no callback id) go to
// registrations made with CONNECT_DOMAIN_EVENT_REGISTER(_ANY).
inline constexpr int32_t REMOTE_PROC_DOMAIN_EVENT_LIFECYCLE = 107;
inline constexpr int32_t REMOTE_PROC_DOMAIN_EVENT_BALLOON_CHANGE = 276;
inline constexpr int32_t REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE = 318;
inline constexpr int32_t REMOTE_PROC_DOMAIN_EVENT_CALLBACK_BALLOON_CHANGE = 331;
inline constexpr int32_t REMOTE_PROC_DOMAIN_EVENT_CALLBACK_DEVICE_REMOVED = 333;
inline constexpr int32_t REMOTE_PROC_DOMAIN_EVENT_CALLBACK_DEVICE_ADDED = 354;
inline constexpr int32_t REMOTE_PROC_DOMAIN_EVENT_CALLBACK_METADATA_CHANGE = 379;

// KEEPALIVE_PROGRAM
inline constexpr int32_t KEEPALIVE_PROC_PING = 1;
inline constexpr int32_t KEEPALIVE_PROC_PONG = 2;

}  // namespace xvirt::rpc::proc

namespace xvirt::rpc::feature {
// virDrvFeature numbers clients probe with CONNECT_SUPPORTS_FEATURE.
inline constexpr int32_t kTypedParamString = 9;
inline constexpr int32_t kProgramKeepalive = 10;
inline constexpr int32_t kRemoteEventCallback = 14;
inline constexpr int32_t kRemoteCloseCallback = 15;
}  // namespace xvirt::rpc::feature
