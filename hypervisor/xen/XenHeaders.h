// The Xen 4.17 C headers (libxenctrl, libxenguest, libxenforeignmemory, libxenevtchn) made usable from
// C++20, with one owner type per handle. Only files in hypervisor/xen/ may include this.
#pragma once

#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <utility>  // common/CHandle.h uses std::exchange without including it

// The public Xen headers refuse anonymous unions and use __align8__ = FIXME unless they see GNU C
// without __STRICT_ANSI__, which -std=c++20 defines. Hide it for these headers only.
#pragma push_macro("__STRICT_ANSI__")
#undef __STRICT_ANSI__
extern "C" {
#include <xenctrl.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xenguest.h>
#include <xen/hvm/e820.h>
#include <xen/hvm/params.h>
#include <xen/io/console.h>
}
#pragma pop_macro("__STRICT_ANSI__")

#include "common/CHandle.h"

namespace xvirt::hv::xen {

using XcInterfacePtr = std::unique_ptr<xc_interface, CDeleter<xc_interface_close>>;
using ForeignMemoryPtr = std::unique_ptr<xenforeignmemory_handle, CDeleter<xenforeignmemory_close>>;
using EvtchnPtr = std::unique_ptr<xenevtchn_handle, CDeleter<xenevtchn_close>>;
using XcDomImagePtr = std::unique_ptr<xc_dom_image, CDeleter<xc_dom_release>>;
// xc_cpumap_alloc returns calloc()ed memory.
using CpuMapBufPtr = std::unique_ptr<uint8_t, CDeleter<::free>>;

}  // namespace xvirt::hv::xen
