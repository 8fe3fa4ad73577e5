# Cross toolchain for aarch64 Linux with Debian's g++-aarch64-linux-gnu; tests run under qemu-aarch64.
# Use (what scripts/test does; packages from scripts/setup):
#   cmake -S . -B build-arm64 -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64.cmake \
#     -DKQ_KERNELS_ONLY=ON "-DKQ_QEMU_CPUS=max;cortex-a72" && cmake --build build-arm64 && ctest --test-dir build-arm64
# or by hand: QEMU_CPU=cortex-a72 qemu-aarch64 -L /usr/aarch64-linux-gnu build-arm64/bin/kq_kernel_tests
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)

# Headers, libraries and CMake packages come from the arm64 sysroot only, never from x86 /usr.
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# ctest (and Catch2 test discovery) run the test binaries through qemu user emulation; the CPU
# model comes from QEMU_CPU in the environment (qemu's default when unset).
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L /usr/aarch64-linux-gnu)
