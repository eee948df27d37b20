// XenStore: the libxenstore wrapper (one implementation for real xenstored and the sim).
#include "hypervisor/XenStore.h"
