# Cross build for aarch64 (arm64) Linux on a Debian x86-64 host, tests run
# under qemu-user:
#
#   scripts/setup --cross aarch64
#   cmake -S . -B build-aarch64 -G Ninja \
#         -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake
#
# Libraries come from Debian multiarch (the :arm64 packages install into
# /usr/lib/aarch64-linux-gnu beside the native ones); the C runtime the cross
# compiler links against lives in /usr/aarch64-linux-gnu. Every lookup is
# confined to those: CMake config files, find_library and pkg-config never
# see the host's x86-64 libraries.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(PB_CROSS_TRIPLE aarch64-linux-gnu)

set(CMAKE_C_COMPILER ${PB_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${PB_CROSS_TRIPLE}-g++)
set(CMAKE_AR ${PB_CROSS_TRIPLE}-ar CACHE FILEPATH "")
set(CMAKE_RANLIB ${PB_CROSS_TRIPLE}-ranlib CACHE FILEPATH "")
set(CMAKE_STRIP ${PB_CROSS_TRIPLE}-strip CACHE FILEPATH "")

# Makes find_library/find_package search <prefix>/lib/aarch64-linux-gnu and
# <prefix>/lib/aarch64-linux-gnu/cmake, and find_path <prefix>/include/
# aarch64-linux-gnu: the multiarch directories of the :arm64 packages.
set(CMAKE_LIBRARY_ARCHITECTURE ${PB_CROSS_TRIPLE})

# Search roots: the cross runtime, and "/" so the multiarch directories under
# /usr (lib/aarch64-linux-gnu, arch-independent include/ and share/cmake/ for
# header-only packages such as nlohmann_json) are found. Host x86-64
# libraries live in /usr/lib/x86_64-linux-gnu, which CMake does not search
# once CMAKE_LIBRARY_ARCHITECTURE is aarch64-linux-gnu.
set(CMAKE_FIND_ROOT_PATH /usr/${PB_CROSS_TRIPLE} /)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)  # build tools run on the host
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config (liburing, hwloc): only the arm64 .pc files and the
# arch-independent ones. PKG_CONFIG_PATH would be searched first, so clear it.
set(ENV{PKG_CONFIG_LIBDIR}
    "/usr/lib/${PB_CROSS_TRIPLE}/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "")

# ctest runs the tests (and gtest_discover_tests lists them) through
# qemu-user. The prefix is "/" on purpose, not /usr/aarch64-linux-gnu: the
# :arm64 -dev packages pull in libc6:arm64, so the binary's interpreter
# /lib/ld-linux-aarch64.so.1 and libc.so.6 (found through the multiarch path
# /lib/aarch64-linux-gnu) come from the same glibc build. With
# "-L /usr/aarch64-linux-gnu" qemu would take ld.so from libc6-arm64-cross
# (2.36-8cross1) but libc.so.6 from libc6:arm64 (2.36-9+deb12uN): a
# mismatched pair that hangs in the first pthread_create.
find_program(PB_QEMU_AARCH64 NAMES qemu-aarch64-static qemu-aarch64)
if(PB_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${PB_QEMU_AARCH64};-L;/")
else()
  message(WARNING "qemu-aarch64-static not found: tests cannot run "
                  "(install it with scripts/setup --cross aarch64)")
endif()
