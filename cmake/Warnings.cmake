# Compiler warnings and the floating-point rule shared by every kq target.

add_library(kq_options INTERFACE)
target_compile_features(kq_options INTERFACE cxx_std_20)
target_compile_options(kq_options INTERFACE
  -Wall -Wextra -Wshadow -Wnon-virtual-dtor -Wcast-align -Wno-unknown-pragmas
  # The scalar references must match ggml bit for bit: no silent a*b+c -> fma contraction.
  -ffp-contract=off)
target_include_directories(kq_options INTERFACE ${PROJECT_SOURCE_DIR})

if(KQ_SANITIZE)
  target_compile_options(kq_options INTERFACE -fsanitize=${KQ_SANITIZE} -fno-omit-frame-pointer
                                              -fno-sanitize-recover=all)
  target_link_options(kq_options INTERFACE -fsanitize=${KQ_SANITIZE})
endif()
