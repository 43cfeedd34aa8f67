// placeholder
#include <gtest/gtest.h>
TEST(Placeholder_model_script_test, Builds) { SUCCEED(); }
