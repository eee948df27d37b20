// DaemonConfig: xvirtd's configuration file (xvirtd.conf), with libvirtd.conf's names and defaults for
// the limits a local daemon needs: clients, calls in flight per client, workers, keepalive, socket modes.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/Result.h"

namespace xvirt::driver {

struct DaemonConfig {
  // libvirtd.conf's defaults (src/remote/libvirtd.conf.in), so a libvirt user's expectations hold.
  unsigned maxClients = 5000;        // max_clients: further clients are refused (closed at accept)
  unsigned maxClientRequests = 5;    // max_client_requests: calls in flight per client; the client's
                                     // next packet is not read until one finishes
  unsigned maxWorkers = 0;           // max_workers: threads running calls (0: the server's default)
  unsigned keepaliveInterval = 5;    // keepalive_interval: seconds of silence before a ping (0: off)
  unsigned keepaliveCount = 5;       // keepalive_count: unanswered pings before the client is dropped
  mode_t unixSockRwPerms = 0600;     // unix_sock_rw_perms (libvirtd: 0700)
  mode_t unixSockRoPerms = 0666;     // unix_sock_ro_perms (libvirtd: 0777)
  std::vector<std::string> ignored;  // libvirtd.conf settings xvirtd does not use (logged once)
};

// Parses the text of a config file: `name = value` lines, `#` comments, integers (decimal, or octal
// with a leading 0 as libvirt writes modes) and "quoted" strings. Unknown names are kept in
// `ignored`; a malformed line or an out-of-range value is one error naming the file and the line.
Result<DaemonConfig> parseDaemonConfig(const std::string& text, const std::string& fileName);

// Reads `path`; a missing file gives the defaults when `mustExist` is false (the default path).
Result<DaemonConfig> loadDaemonConfig(const std::string& path, bool mustExist);

// max_clients as far as the open-file limit allows: each client holds one descriptor, and xvirtd
// keeps `reserve` for guests, helpers and files. Raises the soft RLIMIT_NOFILE to the hard one first.
unsigned effectiveMaxClients(unsigned maxClients, unsigned reserve = 256);

}  // namespace xvirt::driver
