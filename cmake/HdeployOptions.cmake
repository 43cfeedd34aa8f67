# Warnings and sanitizers for every hdeploy target (applied through hdeploy_options).
add_library(hdeploy_options INTERFACE)
target_compile_options(hdeploy_options INTERFACE -Wall -Wextra -Wpedantic)
if(HDEPLOY_WERROR)
  target_compile_options(hdeploy_options INTERFACE -Werror)
endif()
if(HDEPLOY_SANITIZE)
  target_compile_options(hdeploy_options INTERFACE
    -fsanitize=${HDEPLOY_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(hdeploy_options INTERFACE -fsanitize=${HDEPLOY_SANITIZE})
endif()
