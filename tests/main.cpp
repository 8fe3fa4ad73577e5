// Catch2 entry point for kq_tests.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
