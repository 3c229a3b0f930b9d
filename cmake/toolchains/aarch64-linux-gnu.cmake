# Cross-compiling for 64-bit Arm Linux with Debian's cross toolchain and multiarch
# libraries: g++-aarch64-linux-gnu and the :arm64 -dev packages (scripts/packages/arm64.txt),
# after `dpkg --add-architecture arm64`. Used by scripts/build-agent.sh --arch arm64.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
# Multiarch: libraries and their CMake packages under /usr/lib/aarch64-linux-gnu, headers in
# /usr/include (arch-specific ones in /usr/include/aarch64-linux-gnu, which the compiler
# searches itself). The architecture-independent CMake packages (nlohmann_json, CLI11) live
# in /usr/share/cmake, so the host prefix stays searched; CMAKE_LIBRARY_ARCHITECTURE keeps
# the searches in the arm64 library directory, never the host's x86_64 one.
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH /usr/lib/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
# pkg-config answers with the arm64 .pc files (and the architecture-independent ones).
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")
