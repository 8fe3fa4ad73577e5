// Sets kq's bounded OpenMP spin unless the user chose a wait policy.
#include "runtime/openmp_wait.h"

#include <cstdlib>

namespace kq {

bool set_default_openmp_wait() {
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return false;
  return setenv("GOMP_SPINCOUNT", kOpenmpSpinCount, /*overwrite=*/0) == 0;
}

}  // namespace kq
