# Installing hdeploy and packaging it as .debs with CPack (scripts/package; docs/packaging.md).
# Components, one .deb each:
#   hdeploy        the binary, model specs and exporter (cli/CMakeLists.txt), docs, copyright and
#                  bash completion; Depends from dpkg-shlibdeps
#   hdeploy-dev    headers, the static libraries and the CMake package (find_package(hdeploy),
#                  hdeploy::<module> targets); Depends on the -dev packages they link
#   hdeploy-hailo  the hailo backend plugin (src/runtime/CMakeLists.txt), when built; Depends on
#                  the HailoRT release it was built against
include(CMakePackageConfigHelpers)

# --- The CMake package (hdeploy-dev) ---------------------------------------------------------
# Every library module, static (with CMAKE_POSITION_INDEPENDENT_CODE=ON, as scripts/package
# builds them, they also link into shared libraries), exported as hdeploy::<module>.
set(hdeploy_exported_modules core onnx hef preprocess runtime bench report compile pipeline doctor)
set(hdeploy_exported_targets "")
foreach(module IN LISTS hdeploy_exported_modules)
  set_target_properties(hdeploy_${module} PROPERTIES EXPORT_NAME ${module})
  list(APPEND hdeploy_exported_targets hdeploy_${module})
endforeach()
install(TARGETS ${hdeploy_exported_targets} EXPORT hdeployTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# Each exported module's public headers and the generated hdeploy/version.hpp. The protobuf
# headers hdeploy_hef generates stay private (no public header includes them).
foreach(module IN LISTS hdeploy_exported_modules)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/hdeploy/${module}
    DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/hdeploy COMPONENT dev)
endforeach()
install(FILES ${PROJECT_BINARY_DIR}/generated/hdeploy/version.hpp
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/hdeploy COMPONENT dev)

set(hdeploy_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/hdeploy)
install(EXPORT hdeployTargets NAMESPACE hdeploy:: DESTINATION ${hdeploy_cmake_dir}
  COMPONENT dev)
set(HDEPLOY_INSTALL_DATA_DIR ${CMAKE_INSTALL_DATADIR}/hdeploy)
configure_package_config_file(cmake/hdeployConfig.cmake.in
  ${PROJECT_BINARY_DIR}/packaging/hdeployConfig.cmake
  INSTALL_DESTINATION ${hdeploy_cmake_dir}
  PATH_VARS HDEPLOY_INSTALL_DATA_DIR)
# 0.x: a minor release may change the API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/packaging/hdeployConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/packaging/hdeployConfig.cmake
              ${PROJECT_BINARY_DIR}/packaging/hdeployConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/cmake/FindOpenCVModules.cmake
  DESTINATION ${hdeploy_cmake_dir} COMPONENT dev)

# --- What the hdeploy package adds to the binary and its data -------------------------------
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/packaging/copyright
  DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT hdeploy)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/
  DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT hdeploy FILES_MATCHING PATTERN "*.md")
install(FILES ${PROJECT_SOURCE_DIR}/packaging/bash-completion/hdeploy
  DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions COMPONENT hdeploy)
# Debian wants a copyright file in every package's doc folder.
install(FILES ${PROJECT_SOURCE_DIR}/packaging/copyright
  DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/hdeploy-dev COMPONENT dev)
if(TARGET hdeploy_hailo)
  install(FILES ${PROJECT_SOURCE_DIR}/packaging/copyright
    DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/hdeploy-hailo COMPONENT hailo)
endif()

# --- CPack: the .debs -------------------------------------------------------------------------
# The Debian architecture: dpkg's on a native build; from the target processor when
# cross-compiling (aarch64 -> arm64). Set HDEPLOY_DEB_ARCHITECTURE to override.
if(CMAKE_CROSSCOMPILING)
  if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64)$")
    set(hdeploy_deb_arch_default arm64)
  elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64)$")
    set(hdeploy_deb_arch_default amd64)
  elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^arm")
    set(hdeploy_deb_arch_default armhf)
  else()
    set(hdeploy_deb_arch_default "${CMAKE_SYSTEM_PROCESSOR}")
  endif()
else()
  execute_process(COMMAND dpkg --print-architecture OUTPUT_VARIABLE hdeploy_deb_arch_default
    OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
endif()
set(HDEPLOY_DEB_ARCHITECTURE "${hdeploy_deb_arch_default}" CACHE STRING
  "Debian architecture of the .debs (default: dpkg --print-architecture, or the cross target's)")
# dpkg-shlibdeps reads the ELF files' libraries and asks dpkg's database which packages hold them.
# A cross build points HDEPLOY_DEB_SYSROOT at the target's root (made with mmdebstrap: it has
# var/lib/dpkg); or turns HDEPLOY_DEB_SHLIBDEPS off (the packages then name no libraries).
option(HDEPLOY_DEB_SHLIBDEPS "Compute the .debs' library Depends with dpkg-shlibdeps" ON)
set(hdeploy_deb_sysroot_default "")
if(CMAKE_CROSSCOMPILING AND CMAKE_SYSROOT)
  set(hdeploy_deb_sysroot_default "${CMAKE_SYSROOT}")
endif()
set(HDEPLOY_DEB_SYSROOT "${hdeploy_deb_sysroot_default}" CACHE PATH
  "Target root whose dpkg database (var/lib/dpkg) dpkg-shlibdeps reads; empty: this machine's")
set(HDEPLOY_DEB_MAINTAINER "hdeploy maintainers <maintainers@hdeploy.invalid>" CACHE STRING
  "Maintainer field of the .debs (the default is a placeholder: no mailing address exists yet)")
set(HDEPLOY_DEB_HOMEPAGE "" CACHE STRING "Homepage field of the .debs (none yet: empty leaves it out)")
# Raspberry Pi OS's package of libhailort (hailo-all depends on it, versions like 4.20.0-1).
set(HDEPLOY_DEB_HAILORT_PACKAGE "hailort" CACHE STRING
  "Debian package that provides libhailort, which hdeploy-hailo depends on")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME hdeploy)
set(CPACK_PACKAGE_VENDOR "hdeploy")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${HDEPLOY_DEB_MAINTAINER}")
# No CPACK_PACKAGE_DESCRIPTION_SUMMARY: CPack would put it before each component's description,
# whose first line is that package's own summary.
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR}/packages)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL hdeploy dev)
if(TARGET hdeploy_hailo)
  list(APPEND CPACK_COMPONENTS_ALL hailo)
endif()
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE "${HDEPLOY_DEB_ARCHITECTURE}")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${HDEPLOY_DEB_MAINTAINER}")
if(HDEPLOY_DEB_HOMEPAGE)
  set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "${HDEPLOY_DEB_HOMEPAGE}")
endif()
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ${HDEPLOY_DEB_SHLIBDEPS})
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)

set(CPACK_DEBIAN_HDEPLOY_PACKAGE_NAME hdeploy)
set(CPACK_DEBIAN_HDEPLOY_PACKAGE_SECTION science)
# export runs PyTorch and onnx in Python; report inlines Debian's Chart.js.
set(CPACK_DEBIAN_HDEPLOY_PACKAGE_RECOMMENDS
  "python3-torch, python3-torchvision, python3-onnx, libjs-chart.js")
set(CPACK_DEBIAN_HDEPLOY_PACKAGE_SUGGESTS "hdeploy-hailo")
set(CPACK_COMPONENT_HDEPLOY_DESCRIPTION
  "image classifiers from PyTorch to a Raspberry Pi 5 with a Hailo-8/8L
hdeploy exports a torchvision classifier to ONNX and checks it against PyTorch,
preprocesses images exactly as torchvision does, reads Hailo .hef files natively,
classifies on the CPU (OpenCV DNN), an emulated Hailo device or a Hailo-8/8L
(with the hdeploy-hailo plugin), drives the Hailo Dataflow Compiler, and
benchmarks and reports. Model specs and the PyTorch exporter are in
/usr/share/hdeploy.")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME hdeploy-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_COMPONENT_DEV_DEPENDS hdeploy)
# The -dev packages of what the static libraries link (hdeployConfig.cmake finds each).
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
  "libfmt-dev, nlohmann-json3-dev, libtomlplusplus-dev, libssl-dev, libpng-dev, zlib1g-dev, libxxhash-dev, libturbojpeg0-dev, libprotobuf-dev, libonnx-dev, libopencv-dnn-dev, libopencv-imgproc-dev, libopencv-imgcodecs-dev, pkg-config")
set(CPACK_COMPONENT_DEV_DESCRIPTION
  "hdeploy's C++ library: headers, static libraries, CMake package
find_package(hdeploy) gives the targets hdeploy::core, hdeploy::preprocess,
hdeploy::runtime, ... (see /usr/share/doc/hdeploy/packaging.md).")

if(TARGET hdeploy_hailo)
  set(CPACK_DEBIAN_HAILO_PACKAGE_NAME hdeploy-hailo)
  set(CPACK_DEBIAN_HAILO_PACKAGE_SECTION science)
  set(CPACK_COMPONENT_HAILO_DEPENDS hdeploy)
  # libhailort's soname is its full version: the plugin loads only with the release it was built
  # against, whatever Debian revision the package carries (4.20.0-1 is >= 4.20.0 and << 4.20.1).
  set(hailort_version "${HDEPLOY_HAILO_PLUGIN_HAILORT_VERSION}")
  string(REGEX MATCH "^([0-9]+)\\.([0-9]+)\\.([0-9]+)" hailort_xyz "${hailort_version}")
  math(EXPR hailort_next_patch "${CMAKE_MATCH_3} + 1")
  set(hailort_next "${CMAKE_MATCH_1}.${CMAKE_MATCH_2}.${hailort_next_patch}")
  set(CPACK_DEBIAN_HAILO_PACKAGE_DEPENDS
    "${HDEPLOY_DEB_HAILORT_PACKAGE} (>= ${hailort_xyz}), ${HDEPLOY_DEB_HAILORT_PACKAGE} (<< ${hailort_next})")
  # dpkg-shlibdeps must find libhailort to read the plugin; where no package owns it (a HailoRT
  # built from source), the HailoRT Depends above are the only ones that name it.
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS "${HDEPLOY_HAILO_PLUGIN_HAILORT_LIBDIR}")
  set(CPACK_COMPONENT_HAILO_DESCRIPTION
    "hdeploy's hailo backend for HailoRT ${hailort_version} (Hailo-8/8L)
The plugin hdeploy loads for --backend hailo, built against HailoRT
${hailort_version}: libhailort loads only with the release it was built against.")
endif()

# A cross build's dpkg-shlibdeps reads the target root: CPack finds packaging/dpkg-shlibdeps-sysroot
# (as dpkg-shlibdeps, first on PATH) through the project config file.
set(CPACK_PROJECT_CONFIG_FILE ${PROJECT_BINARY_DIR}/packaging/CPackProjectConfig.cmake)
if(HDEPLOY_DEB_SHLIBDEPS AND HDEPLOY_DEB_SYSROOT)
  set(hdeploy_shlibdeps_bin ${PROJECT_BINARY_DIR}/packaging/sysroot-bin)
  file(MAKE_DIRECTORY ${hdeploy_shlibdeps_bin})
  file(CREATE_LINK ${PROJECT_SOURCE_DIR}/packaging/dpkg-shlibdeps-sysroot
    ${hdeploy_shlibdeps_bin}/dpkg-shlibdeps SYMBOLIC)
  file(CONFIGURE OUTPUT ${CPACK_PROJECT_CONFIG_FILE} @ONLY CONTENT
"set(ENV{PATH} \"@hdeploy_shlibdeps_bin@:\$ENV{PATH}\")
set(ENV{HDEPLOY_DEB_SYSROOT} \"@HDEPLOY_DEB_SYSROOT@\")
set(ENV{HDEPLOY_DEB_ARCHITECTURE} \"@HDEPLOY_DEB_ARCHITECTURE@\")
")
else()
  file(CONFIGURE OUTPUT ${CPACK_PROJECT_CONFIG_FILE} CONTENT "# nothing: dpkg-shlibdeps reads this machine\n")
endif()

include(CPack)
