# CMake toolchain file: cross-compile nn for 64-bit ARM Linux with Debian's
# cross toolchain (crossbuild-essential-arm64) and :arm64 -dev packages
# (dpkg multiarch). Used by tools/cross/aarch64.sh; by hand:
#   cmake -S . -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake
# Tests run under qemu-user through CMAKE_CROSSCOMPILING_EMULATOR.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(NN_CROSS_TRIPLE aarch64-linux-gnu)

set(CMAKE_C_COMPILER ${NN_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${NN_CROSS_TRIPLE}-g++)

# Target libraries and headers from the multiarch folders; programs (protoc-c)
# from the build machine.
set(CMAKE_LIBRARY_ARCHITECTURE ${NN_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH /usr/${NN_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

# pkg-config: only the target's .pc files
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/${NN_CROSS_TRIPLE}/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

# Run target programs (tests) under qemu-user. With multiarch libc6:arm64
# installed (the :arm64 -dev packages pull it in), qemu finds the target's
# loader at /lib/ld-linux-aarch64.so.1 by itself; only without it use the
# cross toolchain's copy (-L). (The cross copy, libc6-arm64-cross 2.36-8cross1,
# hangs in pthread_create under Debian 12's qemu 7.2 on some hosts.)
find_program(NN_QEMU NAMES qemu-aarch64-static qemu-aarch64)
if(NN_QEMU AND EXISTS /lib/ld-linux-aarch64.so.1)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${NN_QEMU})
elseif(NN_QEMU)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${NN_QEMU} -L /usr/${NN_CROSS_TRIPLE})
endif()
