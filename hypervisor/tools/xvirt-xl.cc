// xvirt-xl: a small `xl`-like view of the hypervisor through xvirt's Hypervisor layer, on real Xen or
// the simulated host: list domains, show vCPUs, destroy one. For people and for tests.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/Strings.h"
#include "hypervisor/Hypervisor.h"

using namespace xvirt;

static int usage() {
  std::fprintf(stderr,
               "usage: xvirt-xl [--hypervisor auto|xen|sim] [--sim-dir DIR] COMMAND\n"
               "  list               domains: id, memory, vCPUs, state, CPU time\n"
               "  vcpu-list DOMID    vCPUs: state, host CPU, CPU time, affinity\n"
               "  destroy DOMID      destroy a domain\n"
               "  info               host: CPUs, memory, Xen version\n");
  return 2;
}

static std::string stateFlags(const hv::DomainInfo& d) {
  std::string s;
  s += d.running ? 'r' : '-';
  s += d.blocked ? 'b' : '-';
  s += d.paused ? 'p' : '-';
  s += d.shutdown ? 's' : '-';
  s += d.shutdown && d.shutdownReason == hv::ShutdownReason::Crash ? 'c' : '-';
  s += d.dying ? 'd' : '-';
  return s;
}

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string backendName = "auto";
  std::string simDir;
  if (const char* env = std::getenv("XVIRT_SIM_DIR")) simDir = env;
  size_t i = 0;
  for (; i < args.size() && startsWith(args[i], "--"); i += 2) {
    if (i + 1 >= args.size()) return usage();
    if (args[i] == "--hypervisor") backendName = args[i + 1];
    else if (args[i] == "--sim-dir") simDir = args[i + 1];
    else return usage();
  }
  if (i >= args.size()) return usage();
  auto choice = hv::parseBackendChoice(backendName);
  if (!choice.ok()) return usage();
  auto hyp = hv::openHypervisor(hv::resolveBackend(*choice), simDir);
  if (!hyp.ok()) {
    std::fprintf(stderr, "xvirt-xl: %s\n", hyp.error().message.c_str());
    return 1;
  }
  hv::Hypervisor& h = **hyp;
  const std::string& cmd = args[i];
  auto domidArg = [&]() -> std::optional<hv::DomId> {
    if (i + 1 >= args.size()) return std::nullopt;
    auto v = parseUint(args[i + 1]);
    if (!v) return std::nullopt;
    return static_cast<hv::DomId>(*v);
  };
  if (cmd == "list") {
    auto list = h.listDomains();
    if (!list.ok()) {
      std::fprintf(stderr, "xvirt-xl: %s\n", list.error().message.c_str());
      return 1;
    }
    std::printf("%-36s %5s %8s %5s %6s %9s\n", "UUID", "ID", "Mem", "VCPUs", "State", "Time(s)");
    for (const auto& d : *list)
      std::printf("%-36s %5u %8llu %5u %6s %9.1f\n", d.uuid.str().c_str(), d.domid,
                  static_cast<unsigned long long>(d.memKib / 1024), d.nrOnlineVcpus, stateFlags(d).c_str(),
                  static_cast<double>(d.cpuTimeNs) / 1e9);
    return 0;
  }
  if (cmd == "vcpu-list") {
    auto domid = domidArg();
    if (!domid) return usage();
    auto info = h.domainInfo(*domid);
    if (!info.ok()) {
      std::fprintf(stderr, "xvirt-xl: %s\n", info.error().message.c_str());
      return 1;
    }
    std::printf("%5s %5s %4s %5s %9s  %s\n", "ID", "VCPU", "CPU", "State", "Time(s)", "Affinity");
    for (unsigned v = 0; v <= info->maxVcpuId; ++v) {
      auto vi = h.vcpuInfo(*domid, v);
      auto aff = h.vcpuAffinity(*domid, v);
      if (!vi.ok() || !aff.ok()) continue;
      std::printf("%5u %5u %4d %5s %9.1f  %s\n", *domid, v, vi->cpu,
                  !vi->online ? "-" : vi->running ? "r" : "b", static_cast<double>(vi->cpuTimeNs) / 1e9,
                  hv::formatCpuMap(*aff).c_str());
    }
    return 0;
  }
  if (cmd == "destroy") {
    auto domid = domidArg();
    if (!domid) return usage();
    Status s = h.destroy(*domid);
    if (!s.ok()) {
      std::fprintf(stderr, "xvirt-xl: %s\n", s.error().message.c_str());
      return 1;
    }
    return 0;
  }
  if (cmd == "info") {
    auto p = h.physInfo();
    if (!p.ok()) {
      std::fprintf(stderr, "xvirt-xl: %s\n", p.error().message.c_str());
      return 1;
    }
    std::printf("backend                : %s\nnr_cpus                : %u\ntotal_memory           : %llu\n"
                "free_memory            : %llu\nxen_version            : %u.%u%s\nxen_caps               : %s\n",
                h.backendName().c_str(), p->nrCpus, static_cast<unsigned long long>(p->totalKib / 1024),
                static_cast<unsigned long long>(p->freeKib / 1024), p->versionMajor, p->versionMinor,
                p->extraVersion.c_str(), p->xenCaps.c_str());
    return 0;
  }
  return usage();
}
