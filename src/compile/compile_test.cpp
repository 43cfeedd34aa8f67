// placeholder
#include <gtest/gtest.h>
TEST(Placeholder_compile_test, Builds) { SUCCEED(); }
