# Install layout (GNUInstallDirs): library, header, pkg-config file, CMake package.
include(CMakePackageConfigHelpers)

install(TARGETS ${NN_INSTALL_TARGETS} EXPORT nnTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${CMAKE_SOURCE_DIR}/include/nn.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

install(EXPORT nnTargets NAMESPACE nn:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/nn)
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/nnConfig.cmake.in
  ${CMAKE_BINARY_DIR}/nnConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/nn)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/nnConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_BINARY_DIR}/nnConfig.cmake ${CMAKE_BINARY_DIR}/nnConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/nn)

configure_file(${CMAKE_SOURCE_DIR}/cmake/nn.pc.in ${CMAKE_BINARY_DIR}/nn.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/nn.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

if(NN_BUILD_TOOLS)
  install(FILES ${CMAKE_SOURCE_DIR}/docs/nn-tool.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
endif()
