# The direction of the libraries' dependencies (DESIGN.md, "Layout"),
# checked at configure time: a library whose link line names one of our
# libraries not listed for it here stops the configuration. Include lines
# are checked by scripts/check-layers (ctest: layers).
#
#   policy    <- executive, sim, workloads
#   common    <- everything
#   sim       knows neither the scenarios nor the executive's mechanism
#   report    knows no CLI
#   pb_cyclic (pb-cyclictest) needs only common
set(pb_layers_pb_common "")
set(pb_layers_pb_sysinfo "pb_common")
set(pb_layers_pb_policy "")
set(pb_layers_pb_executive "pb_policy;pb_common")
set(pb_layers_pb_sim "pb_policy;pb_common")
set(pb_layers_pb_workloads "pb_policy;pb_common")
set(pb_layers_pb_cells "pb_workloads;pb_executive;pb_sim;pb_policy;pb_common")
set(pb_layers_pb_scenarios "pb_sim;pb_executive;pb_workloads;pb_policy;pb_common")
set(pb_layers_pb_report "pb_workloads;pb_policy;pb_common")
set(pb_layers_pb_harness "pb_report;pb_cells;pb_workloads;pb_common")
set(pb_layers_pb_cyclic "pb_common")

function(pb_check_layers)
  foreach(target pb_common pb_sysinfo pb_policy pb_executive pb_sim pb_workloads pb_cells
                 pb_scenarios pb_report pb_harness pb_cyclic)
    get_target_property(libs ${target} LINK_LIBRARIES)
    if(NOT libs)
      set(libs "")
    endif()
    foreach(lib IN LISTS libs)
      string(REGEX REPLACE "^pb::" "pb_" lib "${lib}")
      if(NOT lib MATCHES "^pb_")
        continue()
      endif()
      if(NOT lib IN_LIST pb_layers_${target})
        message(FATAL_ERROR "layers: ${target} links ${lib}, which it may not depend on "
                            "(cmake/layers.cmake, DESIGN.md \"Layout\")")
      endif()
    endforeach()
  endforeach()
endfunction()
