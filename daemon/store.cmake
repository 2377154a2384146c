# ignited_store: the SQLite store and its writer thread (see store.h).
find_package(Threads REQUIRED)
add_library(ignited_store STATIC
  ${CMAKE_CURRENT_LIST_DIR}/store.c
  ${CMAKE_CURRENT_LIST_DIR}/store_writer.c
  ${CMAKE_CURRENT_LIST_DIR}/store_reader.c
  ${CMAKE_CURRENT_LIST_DIR}/store_schema.c
  ${CMAKE_CURRENT_LIST_DIR}/store_lock.c
  ${CMAKE_CURRENT_LIST_DIR}/store_files.c
  ${CMAKE_CURRENT_LIST_DIR}/store_util.c
)
target_include_directories(ignited_store PUBLIC ${CMAKE_CURRENT_LIST_DIR})
# ignite_proto for ig_point, the layout history is read into
target_link_libraries(ignited_store PUBLIC ignite_proto PkgConfig::SQLITE PkgConfig::UV
                      PkgConfig::SODIUM
                      Threads::Threads ${MATH_LIB})
