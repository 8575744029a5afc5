# `cmake --install BUILD --prefix DIR`: the public library onceflow::onceflow with its headers
# (include/onceflow/) and a CMake package, so that another project says
#
#   find_package(onceflow REQUIRED)
#   target_link_libraries(app PRIVATE onceflow::onceflow)
#
# The internal libraries the public one is made of are installed alongside it (static
# archives, exported only as its link dependencies; their headers are not installed). The
# `onceflow` command goes to bin/. tests/install/ proves the package works (ctest -R install).
include(CMakePackageConfigHelpers)

set(ONCEFLOW_INTERNAL_LIBRARIES
  onceflow_util onceflow_log onceflow_checkpoint onceflow_history onceflow_kafka onceflow_state
  onceflow_source onceflow_dataplane onceflow_sink onceflow_expr onceflow_config onceflow_operators
  onceflow_engine
  onceflow_audit)
install(TARGETS onceflow_lib ${ONCEFLOW_INTERNAL_LIBRARIES}
  EXPORT onceflowTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/onceflow
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")
install(TARGETS onceflow RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

set(ONCEFLOW_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/onceflow)
install(EXPORT onceflowTargets NAMESPACE onceflow:: DESTINATION ${ONCEFLOW_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/onceflowConfig.cmake.in
  ${PROJECT_BINARY_DIR}/onceflowConfig.cmake INSTALL_DESTINATION ${ONCEFLOW_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/onceflowConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/onceflowConfig.cmake
  ${PROJECT_BINARY_DIR}/onceflowConfigVersion.cmake DESTINATION ${ONCEFLOW_CMAKE_DIR})
