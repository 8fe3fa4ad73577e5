# Finds kq's Debian-packaged dependencies; a missing one stops configure naming its apt package.

macro(kq_require found package_name what)
  if(NOT ${found})
    message(FATAL_ERROR "kq needs ${what}: install it with `apt-get install ${package_name}` "
                        "(or run scripts/setup)")
  endif()
endmacro()

find_package(OpenMP QUIET)
kq_require(OpenMP_CXX_FOUND "libgomp1 (comes with g++) or libomp-dev for clang" "OpenMP")

find_package(xsimd QUIET)
kq_require(xsimd_FOUND libxsimd-dev "xsimd")

find_package(dnnl QUIET CONFIG)
kq_require(dnnl_FOUND libdnnl-dev "oneDNN")

if(KQ_BUILD_TESTS)
  find_package(Catch2 QUIET CONFIG)
  kq_require(Catch2_FOUND catch2 "Catch2")
endif()
