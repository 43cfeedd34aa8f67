// placeholder
#include <gtest/gtest.h>
TEST(Placeholder_verify_test, Builds) { SUCCEED(); }
