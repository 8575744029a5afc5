# The fuzz build's flags (ONCEFLOW_FUZZ=ON, scripts/fuzz.sh), included by the top CMakeLists.txt
# before the modules: every library of this build directory is compiled with the fuzzer's
# coverage instrumentation, ASan and UBSan, so that the targets in fuzz/ link the module
# libraries (onceflow::log, onceflow::config, ...) as they are — a new source file of a module
# reaches the fuzz targets through its library, with nothing to list here.
if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "ONCEFLOW_FUZZ needs clang for libFuzzer: configure with CXX=clang++")
endif()

# fuzzer-no-link: the coverage instrumentation without libFuzzer's main(); the targets add
# -fsanitize=fuzzer when they link (fuzz/CMakeLists.txt). Programs that are not fuzz targets (the
# seed writers) link the sanitizers' runtime only, which stubs the coverage callbacks.
# -fsized-deallocation: C++14's sized operator delete, which GCC enables by default and clang
# before 19 does not (src/state/state_cache.cc frees its entries with their size).
add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
                    -fno-omit-frame-pointer -fsized-deallocation)
add_link_options(-fsanitize=address,undefined)

# libstdc++ 12's <expected> is empty for clang < 16 (it needs C++20 conditionally trivial
# special members, P0848): those compilers get the stand-in in fuzz/compat/, which defers to the
# real header when it works. On every target's include path, ahead of the rest.
if(CMAKE_CXX_COMPILER_VERSION VERSION_LESS 16)
  include_directories(BEFORE ${CMAKE_CURRENT_LIST_DIR}/compat)
endif()
