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

# PCRE2 (8-bit, UTF + Unicode properties) runs the BPE pre-tokenizer regexes.
find_path(KQ_PCRE2_INCLUDE_DIR pcre2.h)
find_library(KQ_PCRE2_LIBRARY NAMES pcre2-8)
if(KQ_PCRE2_INCLUDE_DIR AND KQ_PCRE2_LIBRARY)
  set(KQ_PCRE2_FOUND TRUE)
endif()
kq_require(KQ_PCRE2_FOUND libpcre2-dev "PCRE2")
add_library(kq::pcre2 UNKNOWN IMPORTED)
set_target_properties(kq::pcre2 PROPERTIES IMPORTED_LOCATION "${KQ_PCRE2_LIBRARY}"
                                           INTERFACE_INCLUDE_DIRECTORIES "${KQ_PCRE2_INCLUDE_DIR}")

if(KQ_BUILD_TESTS)
  find_package(Catch2 QUIET CONFIG)
  kq_require(Catch2_FOUND catch2 "Catch2")
endif()
