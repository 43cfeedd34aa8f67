# Cross toolchain: arm64 (aarch64) Debian / Raspberry Pi OS, built on an amd64 Debian host with
# Debian's g++-aarch64-linux-gnu against an arm64 sysroot made by mmdebstrap (scripts/cross-arm64
# makes both and passes -DHDEPLOY_ARM64_SYSROOT=<folder>; $HDEPLOY_ARM64_SYSROOT works too).
# Libraries, headers and CMake/pkg-config packages come from the sysroot only; programs (protoc,
# pkg-config) from the host, so the host's protobuf-compiler must be the sysroot's libprotobuf
# version. Test programs run under qemu-user (ctest and gtest_discover_tests use the emulator).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

if(NOT HDEPLOY_ARM64_SYSROOT AND DEFINED ENV{HDEPLOY_ARM64_SYSROOT})
  set(HDEPLOY_ARM64_SYSROOT "$ENV{HDEPLOY_ARM64_SYSROOT}")
endif()
if(NOT HDEPLOY_ARM64_SYSROOT OR NOT EXISTS "${HDEPLOY_ARM64_SYSROOT}/usr/lib/aarch64-linux-gnu")
  message(FATAL_ERROR "cmake/aarch64-linux-gnu.cmake: no arm64 sysroot at "
    "'${HDEPLOY_ARM64_SYSROOT}': pass -DHDEPLOY_ARM64_SYSROOT=<folder> (scripts/cross-arm64 makes one)")
endif()
set(HDEPLOY_ARM64_SYSROOT "${HDEPLOY_ARM64_SYSROOT}" CACHE PATH "arm64 sysroot (mmdebstrap)")
# try_compile projects read this file again: hand them the sysroot.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES HDEPLOY_ARM64_SYSROOT)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_SYSROOT "${HDEPLOY_ARM64_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH "${HDEPLOY_ARM64_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config (a host program) reads only the sysroot's .pc files and prefixes their paths with it.
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${HDEPLOY_ARM64_SYSROOT}")
set(ENV{PKG_CONFIG_LIBDIR}
    "${HDEPLOY_ARM64_SYSROOT}/usr/lib/aarch64-linux-gnu/pkgconfig:${HDEPLOY_ARM64_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

find_program(HDEPLOY_QEMU_AARCH64 qemu-aarch64-static)
if(NOT HDEPLOY_QEMU_AARCH64)
  message(FATAL_ERROR "cmake/aarch64-linux-gnu.cmake: qemu-aarch64-static not found: "
    "apt-get install qemu-user-static (it runs the arm64 tests)")
endif()
# -L: the guest's dynamic loader and libraries come from the sysroot.
set(CMAKE_CROSSCOMPILING_EMULATOR "${HDEPLOY_QEMU_AARCH64};-L;${HDEPLOY_ARM64_SYSROOT}")
