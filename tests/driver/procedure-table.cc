// Prints xvirtd's REMOTE_PROGRAM procedure table (driver/RemoteDispatch.cc), one row per procedure:
// number, name, and whether it mutates, so tests can cover every row instead of a sample.
#include <cstdio>

#include "driver/RemoteDispatch.h"

int main() {
  using namespace xvirt::driver;
  for (const ProcedureEntry& e : remoteProcedures())
    std::printf("%d\t%s\t%s\t%s\n", e.number, e.name, (e.flags & procflag::kMutating) ? "mutating" : "query",
                e.handler ? "implemented" : "unimplemented");
  return 0;
}
