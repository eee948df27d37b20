// Shared by both backends: CPU maps, shutdown reason names, backend choice.
#include "hypervisor/Hypervisor.h"
