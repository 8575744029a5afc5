# ctest's install test: installs the build tree BUILD into a fresh prefix, configures and builds
# the outside project tests/install against it with find_package(onceflow), and runs it.
#   cmake -DBUILD=... -DSOURCE=... -DWORK=... [-DLAUNCHER=ccache] -P run.cmake
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  message("${out}")
endfunction()

run(${CMAKE_COMMAND} --install ${BUILD} --prefix ${WORK}/prefix)
if(EXISTS ${WORK}/prefix/include/log OR EXISTS ${WORK}/prefix/include/engine)
  message(FATAL_ERROR "internal headers were installed")
endif()
set(launcher "")
if(LAUNCHER)
  set(launcher -DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER})
endif()
run(${CMAKE_COMMAND} -S ${SOURCE} -B ${WORK}/build -DCMAKE_PREFIX_PATH=${WORK}/prefix
    -DCMAKE_BUILD_TYPE=Release ${launcher})
run(${CMAKE_COMMAND} --build ${WORK}/build)
run(${WORK}/build/install_check ${WORK}/data)
file(REMOVE_RECURSE ${WORK})
