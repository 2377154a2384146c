# ignited: the daemon.  Its server, paths and log are its own; the engine
# (ignite), the wire protocol (ignite_proto) and the store (ignited_store)
# are libraries.
add_executable(ignited
  main.c
  log.c
  paths.c
  server.c
  conn.c
  methods.c
  runs.c
  run_methods.c
  history.c
  sdnotify.c
)
target_compile_definitions(ignited PRIVATE IGNITE_VERSION="${PROJECT_VERSION}")
target_link_libraries(ignited PRIVATE ignited_job ignite_proto ignited_store ignite
                      PkgConfig::UV)
# systemd's readiness, watchdog and socket activation (sdnotify.c), when
# libsystemd was found; without it ignited runs all the same.
if(SYSTEMD_FOUND)
  target_compile_definitions(ignited PRIVATE IGNITE_HAVE_SYSTEMD)
  target_link_libraries(ignited PRIVATE PkgConfig::SYSTEMD)
endif()
