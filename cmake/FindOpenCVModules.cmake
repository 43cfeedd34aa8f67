# Finds the OpenCV 4 modules hdeploy uses (core, imgproc, imgcodecs, dnn) from Debian's
# per-module -dev packages, which ship no CMake config of their own (libopencv-dev does, but
# pulls in VTK and MPI). Defines OpenCV::core, OpenCV::imgproc, OpenCV::imgcodecs, OpenCV::dnn.
find_path(OpenCV_INCLUDE_DIR opencv2/core.hpp PATH_SUFFIXES opencv4)
set(_ocv_ok TRUE)
foreach(_m core imgproc imgcodecs dnn)
  find_library(OpenCV_${_m}_LIBRARY opencv_${_m})
  if(NOT OpenCV_${_m}_LIBRARY)
    set(_ocv_ok FALSE)
  elseif(NOT TARGET OpenCV::${_m})
    add_library(OpenCV::${_m} UNKNOWN IMPORTED)
    set_target_properties(OpenCV::${_m} PROPERTIES
      IMPORTED_LOCATION "${OpenCV_${_m}_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${OpenCV_INCLUDE_DIR}")
  endif()
endforeach()
if(OpenCV_INCLUDE_DIR AND EXISTS "${OpenCV_INCLUDE_DIR}/opencv2/core/version.hpp")
  file(STRINGS "${OpenCV_INCLUDE_DIR}/opencv2/core/version.hpp" _v REGEX "#define CV_VERSION_(MAJOR|MINOR|REVISION) ")
  string(REGEX REPLACE ".*MAJOR +([0-9]+).*MINOR +([0-9]+).*REVISION +([0-9]+).*" "\\1.\\2.\\3" OpenCVModules_VERSION "${_v}")
endif()
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(OpenCVModules
  REQUIRED_VARS OpenCV_INCLUDE_DIR _ocv_ok
  VERSION_VAR OpenCVModules_VERSION
  REASON_FAILURE_MESSAGE "install libopencv-dnn-dev libopencv-imgproc-dev libopencv-imgcodecs-dev (scripts/setup does)")
