# Builds and runs the consumer project (cmake -P). When INSTALL_FROM is set, first installs
# that tinychat build tree into PREFIX and has the consumer find it there.
#
# Inputs: CONSUMER_SOURCE, CONSUMER_BINARY, GENERATOR, CXX_COMPILER, BUILD_TYPE, CTEST,
# and optionally INSTALL_FROM + PREFIX, TINYCHAT_SOURCE_DIR, LAUNCHER, LINK_FLAGS.

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result)
  if(NOT result EQUAL 0)
    string(REPLACE ";" " " command "${ARGN}")
    message(FATAL_ERROR "failed (${result}): ${command}")
  endif()
endfunction()

# Fresh every time, so a stale cache or an old install cannot hide a broken package.
file(REMOVE_RECURSE "${CONSUMER_BINARY}")
set(args -DCMAKE_BUILD_TYPE=${BUILD_TYPE} -DCMAKE_CXX_COMPILER=${CXX_COMPILER})
if(LAUNCHER)
  list(APPEND args -DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER})
endif()
if(LINK_FLAGS)
  list(APPEND args "-DCMAKE_EXE_LINKER_FLAGS=${LINK_FLAGS}")
endif()

if(INSTALL_FROM)
  file(REMOVE_RECURSE "${PREFIX}")
  run("${CMAKE_COMMAND}" --install "${INSTALL_FROM}" --prefix "${PREFIX}" --config ${BUILD_TYPE})
  # Only the prefix: never the build tree through the user package registry.
  list(APPEND args "-DCMAKE_PREFIX_PATH=${PREFIX}" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
endif()
if(TINYCHAT_SOURCE_DIR)
  list(APPEND args "-DTINYCHAT_SOURCE_DIR=${TINYCHAT_SOURCE_DIR}")
endif()

run("${CMAKE_COMMAND}" -S "${CONSUMER_SOURCE}" -B "${CONSUMER_BINARY}" -G "${GENERATOR}" ${args})
run("${CMAKE_COMMAND}" --build "${CONSUMER_BINARY}" --config ${BUILD_TYPE})
# The consumer's own test runs the program wherever its generator put it.
run("${CTEST}" --test-dir "${CONSUMER_BINARY}" -C ${BUILD_TYPE} --output-on-failure)
