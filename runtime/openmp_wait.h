// kq's default OpenMP wait policy: a bounded spin, so that threads waiting at a barrier give their core back.
#pragma once

namespace kq {

// GOMP_SPINCOUNT kq sets when the user chose no wait policy: how many times a libgomp thread
// polls at a barrier or between parallel regions before it sleeps in the kernel (futex).
// libgomp's own default, 300000 polls (milliseconds), keeps a waiting thread on its core; when
// another process shares the cores, the thread it waits for is descheduled while it spins, and
// 2-thread decode fell below a few tokens per second.
inline constexpr const char* kOpenmpSpinCount = "1000";

// Sets GOMP_SPINCOUNT to kOpenmpSpinCount unless OMP_WAIT_POLICY or GOMP_SPINCOUNT is already in
// the environment (the user's choice wins); returns whether it set it. libgomp reads both once,
// in its own constructor before main(), so the running process keeps libgomp's default: kq's
// main() execs itself again when this returns true (see apps/kq/main.cpp).
bool set_default_openmp_wait();

}  // namespace kq
