# SPDX-License-Identifier: GPL-2.0-or-later
#
# Locates the installed Slurm (headers, libslurmfull, PluginDir) and the
# configured Slurm source tree whose internal headers the sched and select
# plugins need. The tree must be the same release as the running Slurm:
# plugin_version is checked for equality when slurmctld loads a plugin.

set(SLURM_SRC "" CACHE PATH "Configured Slurm source tree (make deps prepares one)")

find_path(SLURM_INCLUDE_DIR slurm/slurm_version.h REQUIRED)
find_library(SLURM_FULL_LIBRARY slurmfull
  PATHS /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/slurm-wlm /usr/lib64/slurm /usr/lib/slurm
  REQUIRED NO_DEFAULT_PATH)
get_filename_component(SLURM_LIB_PLUGINDIR ${SLURM_FULL_LIBRARY} DIRECTORY)
# Where `make install` puts the plugins: Slurm's PluginDir unless given.
if(NOT CONVERGE_PLUGINDIR)
  set(CONVERGE_PLUGINDIR ${SLURM_LIB_PLUGINDIR})
endif()

# SLURM_VERSION_NUMBER (0xMMmmuu) as "MM.mm.uu": what plugin loading compares.
function(converge_slurm_version header out)
  file(STRINGS ${header} line REGEX "^#define SLURM_VERSION_NUMBER")
  string(REGEX REPLACE ".*0x([0-9a-fA-F]+).*" "\\1" hex "${line}")
  math(EXPR number "0x${hex}")
  math(EXPR major "${number} >> 16")
  math(EXPR minor "(${number} >> 8) & 255")
  math(EXPR micro "${number} & 255")
  set(${out} "${major}.${minor}.${micro}" PARENT_SCOPE)
endfunction()

if(NOT EXISTS ${SLURM_SRC}/config.h OR NOT EXISTS ${SLURM_SRC}/src/slurmctld/slurmctld.h)
  message(FATAL_ERROR "No configured Slurm source tree at '${SLURM_SRC}': run 'make deps' or pass SLURM_SRC=/path/to/configured/tree")
endif()

converge_slurm_version(${SLURM_SRC}/config.h SLURM_TREE_VERSION)
converge_slurm_version(${SLURM_INCLUDE_DIR}/slurm/slurm_version.h SLURM_INSTALLED_VERSION)
if(NOT SLURM_TREE_VERSION STREQUAL SLURM_INSTALLED_VERSION)
  message(FATAL_ERROR "Slurm source tree ${SLURM_SRC} is ${SLURM_TREE_VERSION} but the installed Slurm is ${SLURM_INSTALLED_VERSION}: plugins would not load; point SLURM_SRC at a ${SLURM_INSTALLED_VERSION} tree")
endif()
message(STATUS "Slurm ${SLURM_INSTALLED_VERSION}: tree ${SLURM_SRC}, PluginDir ${SLURM_LIB_PLUGINDIR}")

# Plugins see Slurm's headers as system headers: their warnings are not ours.
add_library(slurm_internal INTERFACE)
target_include_directories(slurm_internal SYSTEM INTERFACE ${SLURM_SRC} ${SLURM_INCLUDE_DIR})
target_compile_definitions(slurm_internal INTERFACE HAVE_CONFIG_H)

add_library(slurm_public INTERFACE)
target_include_directories(slurm_public SYSTEM INTERFACE ${SLURM_INCLUDE_DIR})
