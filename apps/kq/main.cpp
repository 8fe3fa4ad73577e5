// kq command-line entry point (placeholder until the apps land).
#include <cstdio>

int main() {
  std::puts("kq " KQ_VERSION);
  return 0;
}
