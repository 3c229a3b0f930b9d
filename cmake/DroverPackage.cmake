# Install rules (FHS paths under /usr) and the Debian package, made by CPack's DEB generator
# from this build:
#
#   cmake --build build --target deb      ->  build/drover_<version>_amd64.deb
#
# The package carries drover and drover-agent, the boot environment recipe
# (/usr/share/drover/boot-env/), the systemd unit, man pages, bash completion, the docs and
# the example declarations (/usr/share/doc/drover/examples/). Shared library dependencies
# come from dpkg-shlibdeps; the maintainer scripts (packaging/debian/) create the drover
# user and /var/lib/drover, and remove state and declaration on purge. The starter
# declaration /etc/drover/cluster.yaml is a conffile.

include(GNUInstallDirs)
set(DROVER_PKG_DIR ${PROJECT_SOURCE_DIR}/packaging)
set(DROVER_PKG_OUT ${CMAKE_BINARY_DIR}/packaging)

install(TARGETS drover drover-agent RUNTIME DESTINATION bin COMPONENT drover)
install(PROGRAMS ${PROJECT_SOURCE_DIR}/images/boot-env/build.sh
                 ${PROJECT_SOURCE_DIR}/images/boot-env/init.sh
                 ${PROJECT_SOURCE_DIR}/images/boot-env/udhcpc.script
        DESTINATION share/drover/boot-env COMPONENT drover)
install(FILES ${DROVER_PKG_DIR}/systemd/drover.service DESTINATION /lib/systemd/system
        COMPONENT drover)
install(FILES ${DROVER_PKG_DIR}/bash-completion/drover
        DESTINATION share/bash-completion/completions COMPONENT drover)
# The starter declaration is the conffile /etc/drover/cluster.yaml (packaging/debian/
# conffiles): dpkg keeps an operator's edits on upgrade. `drover init` replaces it while it
# is unedited; the pristine copy beside the boot environment recipe is for comparison.
install(FILES ${DROVER_PKG_DIR}/cluster.yaml DESTINATION /etc/drover COMPONENT drover)
install(FILES ${DROVER_PKG_DIR}/cluster.yaml DESTINATION share/drover
        RENAME cluster.yaml.starter COMPONENT drover)
install(FILES ${PROJECT_SOURCE_DIR}/configs/cluster.yaml ${PROJECT_SOURCE_DIR}/configs/minimal.yaml
              ${PROJECT_SOURCE_DIR}/configs/proxy.yaml ${PROJECT_SOURCE_DIR}/configs/relay.yaml
        DESTINATION share/doc/drover/examples COMPONENT drover)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/configs/templates
        DESTINATION share/doc/drover/examples COMPONENT drover)
install(FILES ${DROVER_PKG_DIR}/debian/copyright DESTINATION share/doc/drover COMPONENT drover)

# Man pages, the changelog and the long docs are installed gzip -9n compressed (Debian policy).
configure_file(${DROVER_PKG_DIR}/debian/changelog.in ${DROVER_PKG_OUT}/changelog @ONLY)
configure_file(${DROVER_PKG_DIR}/man/drover.1 ${DROVER_PKG_OUT}/drover.1 @ONLY)
configure_file(${DROVER_PKG_DIR}/man/drover-agent.1 ${DROVER_PKG_OUT}/drover-agent.1 @ONLY)
set(_gz)
foreach(src IN ITEMS ${DROVER_PKG_OUT}/changelog ${DROVER_PKG_OUT}/drover.1
                     ${DROVER_PKG_OUT}/drover-agent.1 ${PROJECT_SOURCE_DIR}/docs/install.md
                     ${PROJECT_SOURCE_DIR}/docs/configuration.md
                     ${PROJECT_SOURCE_DIR}/docs/operations.md)
  get_filename_component(name ${src} NAME)
  add_custom_command(OUTPUT ${DROVER_PKG_OUT}/${name}.gz
    COMMAND gzip -9n -c ${src} > ${DROVER_PKG_OUT}/${name}.gz
    DEPENDS ${src} VERBATIM)
  list(APPEND _gz ${DROVER_PKG_OUT}/${name}.gz)
endforeach()
add_custom_target(package-files ALL DEPENDS ${_gz})
install(FILES ${DROVER_PKG_OUT}/drover.1.gz ${DROVER_PKG_OUT}/drover-agent.1.gz
        DESTINATION share/man/man1 COMPONENT drover)
install(FILES ${DROVER_PKG_OUT}/changelog.gz ${DROVER_PKG_OUT}/install.md.gz
              ${DROVER_PKG_OUT}/configuration.md.gz ${DROVER_PKG_OUT}/operations.md.gz
        DESTINATION share/doc/drover COMPONENT drover)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME drover)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR})
set(CPACK_PACKAGE_CONTACT "Drover authors <drover@example.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "bare-metal cluster provisioner and PXE boot appliance")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "Drover turns a rack of blank machines into a running cluster from one YAML\n"
    "declaration: it answers their firmware over DHCP or proxyDHCP, serves iPXE over\n"
    "TFTP, per-node iPXE scripts and OS images over HTTP, and its agent installs\n"
    "each machine, writes its cloud-config and joins it to the cluster.")
string(REPLACE ";" "" CPACK_DEBIAN_PACKAGE_DESCRIPTION "${CPACK_DEBIAN_PACKAGE_DESCRIPTION}")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://drover.example.org/")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, ipxe, grub-efi-amd64-signed, procps")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "cpio, ca-certificates, shim-signed")
# drover images import-oci and build: the disk's filesystems, table and loaders.
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "e2fsprogs, fdisk, dosfstools, mtools, syslinux, syslinux-common")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${DROVER_PKG_DIR}/debian/conffiles ${DROVER_PKG_DIR}/debian/postinst
    ${DROVER_PKG_DIR}/debian/prerm ${DROVER_PKG_DIR}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_INSTALL_CMAKE_PROJECTS "${CMAKE_BINARY_DIR};${PROJECT_NAME};drover;/")
include(CPack)

# The one documented command: the binaries, the compressed docs, then cpack.
add_custom_target(deb
  COMMAND ${CMAKE_CPACK_COMMAND} --config ${CMAKE_BINARY_DIR}/CPackConfig.cmake
  WORKING_DIRECTORY ${CMAKE_BINARY_DIR}
  COMMENT "Building drover_${PROJECT_VERSION}_amd64.deb"
  VERBATIM)
add_dependencies(deb drover drover-agent package-files)
