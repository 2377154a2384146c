# ignited_store: the SQLite store and its writer thread (see store.h).
find_package(Threads REQUIRED)
add_library(ignited_store STATIC
  ${CMAKE_CURRENT_LIST_DIR}/store.c
  ${CMAKE_CURRENT_LIST_DIR}/store_writer.c
  ${CMAKE_CURRENT_LIST_DIR}/store_reader.c
  ${CMAKE_CURRENT_LIST_DIR}/store_schema.c
  ${CMAKE_CURRENT_LIST_DIR}/store_lock.c
  ${CMAKE_CURRENT_LIST_DIR}/store_util.c
)
target_include_directories(ignited_store PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(ignited_store PUBLIC PkgConfig::SQLITE PkgConfig::UV
                      Threads::Threads ${MATH_LIB})
