# kq_kernel_tests (KQ_KERNELS_ONLY): tests/quant on kq_quant alone, for the aarch64 cross build.
# Catch2 is header-only; its header is reached through a build-tree directory holding just a
# catch2 symlink, so the cross compiler never sees the host's /usr/include.
find_path(KQ_CATCH2_INCLUDE catch2/catch.hpp HINTS /usr/include NO_CMAKE_FIND_ROOT_PATH REQUIRED)
find_file(KQ_CATCH2_CMAKE Catch.cmake HINTS /usr/lib/cmake/Catch2 /usr/share/cmake/Catch2
          NO_CMAKE_FIND_ROOT_PATH REQUIRED)
set(KQ_CATCH2_SHIM ${CMAKE_BINARY_DIR}/catch2-include)
file(MAKE_DIRECTORY ${KQ_CATCH2_SHIM})
file(CREATE_LINK ${KQ_CATCH2_INCLUDE}/catch2 ${KQ_CATCH2_SHIM}/catch2 SYMBOLIC)

file(GLOB KQ_KERNEL_TEST_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/tests/quant/*.cpp)
# The x86 kernels' own tests call x86-only fill functions (and the runtime, for their benchmark).
list(FILTER KQ_KERNEL_TEST_SOURCES EXCLUDE REGEX "_(avx2|avx512)_test\\.cpp$")
add_executable(kq_kernel_tests ${PROJECT_SOURCE_DIR}/tests/main.cpp ${KQ_KERNEL_TEST_SOURCES})
target_link_libraries(kq_kernel_tests PRIVATE kq_quant)
target_include_directories(kq_kernel_tests SYSTEM PRIVATE ${KQ_CATCH2_SHIM})
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  # GCC 12's aarch64 vectorizer crashes (ICE in vect_transform_reduction) on a reduction in
  # iq4_nl_test.cpp; the test code gains nothing from vectorizing (kq_quant keeps its flags).
  target_compile_options(kq_kernel_tests PRIVATE -fno-tree-vectorize)
endif()

# One ctest test per Catch2 test case and qemu CPU model (through CMAKE_CROSSCOMPILING_EMULATOR):
# KQ_QEMU_CPUS lists the models, e.g. "max;cortex-a72" runs every case with and without dotprod.
set(KQ_QEMU_CPUS "" CACHE STRING "qemu-aarch64 CPU models to run kq_kernel_tests under (empty: native)")
include(${KQ_CATCH2_CMAKE})
if(KQ_QEMU_CPUS)
  foreach(cpu IN LISTS KQ_QEMU_CPUS)
    # OUTPUT_PREFIX only makes the discovery file name unique per model (no OUTPUT_DIR: unused).
    catch_discover_tests(kq_kernel_tests TEST_PREFIX "${cpu}:" OUTPUT_PREFIX "${cpu}"
                         PROPERTIES ENVIRONMENT "QEMU_CPU=${cpu}")
  endforeach()
else()
  catch_discover_tests(kq_kernel_tests)
endif()
