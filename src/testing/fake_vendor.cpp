// Stands for a vendor runtime (HailoRT) in the plugin tests: a shared library that the
// "needs_vendor" fake plugin links and that the loader cannot find unless a test adds its folder
// to LD_LIBRARY_PATH.
extern "C" __attribute__((visibility("default"))) const char* hdeploy_fake_vendor_version() {
  return "9.9.9";
}
