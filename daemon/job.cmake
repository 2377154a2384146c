# ignited_job: a run spec wired onto an engine (see job.h): the process
# function (builtin, plugin .so, exec worker process), the data, metrics,
# declarative handlers, checkpoint state.
add_library(ignited_job STATIC
  ${CMAKE_CURRENT_LIST_DIR}/job.c
  ${CMAKE_CURRENT_LIST_DIR}/job_data.c
  ${CMAKE_CURRENT_LIST_DIR}/job_owner.c
  ${CMAKE_CURRENT_LIST_DIR}/job_plugin.c
  ${CMAKE_CURRENT_LIST_DIR}/job_exec.c
  ${CMAKE_CURRENT_LIST_DIR}/worker.c
  ${CMAKE_CURRENT_LIST_DIR}/exec_worker.c
  ${CMAKE_CURRENT_LIST_DIR}/plugin_load.c
  ${CMAKE_CURRENT_LIST_DIR}/job_metrics.c
  ${CMAKE_CURRENT_LIST_DIR}/job_actions.c
  ${CMAKE_CURRENT_LIST_DIR}/job_state.c
)
target_include_directories(ignited_job PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(ignited_job PUBLIC ignited_builtins ignite_proto ignite
                      PkgConfig::UV ${MATH_LIB} ${CMAKE_DL_LIBS})
