# ignited_builtins: the builtin process functions (daemon/builtin) and the
# data sources (daemon/dataset) the daemon hosts.
find_package(ZLIB REQUIRED)
# Targets that link ignited_builtins from other directories need ZLIB::ZLIB.
set_target_properties(ZLIB::ZLIB PROPERTIES IMPORTED_GLOBAL TRUE)
set(IG_BUILTINS_DIR ${CMAKE_CURRENT_LIST_DIR})
# Every data kind's source, by its name: a new kind is its file and its
# table lines (docs/ARCHITECTURE.md), nothing here.
file(GLOB IG_DATA_SOURCES CONFIGURE_DEPENDS
     ${IG_BUILTINS_DIR}/dataset/*_source.c)
add_library(ignited_builtins STATIC
  ${IG_BUILTINS_DIR}/builtin/builtin.c
  ${IG_BUILTINS_DIR}/builtin/params.c
  ${IG_BUILTINS_DIR}/builtin/blob.c
  ${IG_BUILTINS_DIR}/builtin/noop.c
  ${IG_BUILTINS_DIR}/builtin/sleep.c
  ${IG_BUILTINS_DIR}/builtin/meanstd.c
  ${IG_BUILTINS_DIR}/builtin/softmax.c
  ${IG_BUILTINS_DIR}/dataset/dataset.c
  ${IG_BUILTINS_DIR}/dataset/readfile.c
  ${IG_BUILTINS_DIR}/dataset/table.c
  ${IG_DATA_SOURCES}
)
target_include_directories(ignited_builtins PUBLIC ${IG_BUILTINS_DIR})
# ignite_proto: the spec's data kinds, and the msgpack walker the msgpack:
# source finds its records with ("proto/scan.h", internal to ignite).
target_include_directories(ignited_builtins PRIVATE ${PROJECT_SOURCE_DIR})
target_link_libraries(ignited_builtins PUBLIC ignite ignite_proto PkgConfig::MSGPACK ZLIB::ZLIB ${MATH_LIB})
set_target_properties(ignited_builtins PROPERTIES POSITION_INDEPENDENT_CODE ON)
