// placeholder
#include <gtest/gtest.h>
TEST(Placeholder_dfc_test, Builds) { SUCCEED(); }
