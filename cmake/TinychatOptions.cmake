# Project-wide build settings: language level, warnings, sanitizers, compiler cache.
if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE RelWithDebInfo CACHE STRING "Build type" FORCE)
endif()

set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)

find_program(TINYCHAT_CCACHE ccache)
if(TINYCHAT_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER "${TINYCHAT_CCACHE}")
endif()

# Applied to tinychat's own targets only, never to consumers: libraries use the flags
# directly (an exported target cannot link a private helper target), executables link
# tinychat_warnings.
# GCC 12 at -O3 flags `"literal" + std::string` with a false -Wrestrict (GCC bug 105651).
set(TINYCHAT_WARNING_FLAGS -Wall -Wextra -Wpedantic $<$<BOOL:${TINYCHAT_WERROR}>:-Werror>
    $<$<AND:$<CXX_COMPILER_ID:GNU>,$<VERSION_LESS:$<CXX_COMPILER_VERSION>,13>>:-Wno-restrict>)
add_library(tinychat_warnings INTERFACE)
target_compile_options(tinychat_warnings INTERFACE ${TINYCHAT_WARNING_FLAGS})

if(TINYCHAT_SANITIZE)
  # GCC reports maybe-uninitialized false positives in std::variant under ASan.
  # vptr is left out: Boost.System 1.81's constexpr error categories trip it on any system
  # error (e.g. EMFILE from accept), a report about Boost's objects, not ours.
  add_compile_options(-fsanitize=address,undefined -fno-sanitize=vptr -fno-omit-frame-pointer
    -fno-sanitize-recover=all
    $<$<CXX_COMPILER_ID:GNU>:-Wno-maybe-uninitialized>)
  add_link_options(-fsanitize=address,undefined)
endif()

if(TINYCHAT_TSAN)
  if(TINYCHAT_SANITIZE)
    message(FATAL_ERROR "TINYCHAT_TSAN and TINYCHAT_SANITIZE cannot be combined: use two trees")
  endif()
  # GCC 12 warns at every std::atomic_thread_fence it inlines, which TSan does not model;
  # Boost.Asio's handler recycling has them in every handler. tinychat itself uses none.
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer
    $<$<CXX_COMPILER_ID:GNU>:-Wno-tsan>)
  add_link_options(-fsanitize=thread)
endif()

if(TINYCHAT_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "TINYCHAT_FUZZ needs clang for libFuzzer, but the C++ compiler is "
      "${CMAKE_CXX_COMPILER_ID}: configure with -DCMAKE_CXX_COMPILER=clang++")
  endif()
  # Everything, the library included, gets coverage instrumentation; only the fuzz targets
  # link libFuzzer itself (-fsanitize=fuzzer, in tests/fuzz). vptr is left out as above.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize=vptr
    -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()
