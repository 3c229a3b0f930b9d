// The state database's layout and how an older one is brought up to date. SQLite's
// PRAGMA user_version holds the layout's version:
//
//   version | layout
//   --------+-------------------------------------------------------------------------------
//      0    | an empty file (a new database), or a database from before versions: the meta
//           | table says schema_version 1, user_version is 0 (taken as version 1)
//      1    | nodes, timeline, tokens, meta (capture columns possibly missing)
//      2    | version 1 with every capture column, and tokens indexed by expiry
//      3    | version 2 and the handoffs table (nodes sent to the network for a reinstall)
//
// openSchema() creates a new database at kSchemaVersion. An older one is first copied
// beside itself (VACUUM INTO "<db>.v<from>.bak"), then migrated in one transaction: it is
// either at kSchemaVersion afterwards or untouched. A database from a newer Drover is
// refused with a message that says so; it is never changed.
#pragma once

#include <filesystem>
#include <string>

#include "common/result.hpp"

struct sqlite3;

namespace drover::state {

inline constexpr int kSchemaVersion = 3;

struct SchemaOutcome {
  int from = 0;                  // the version found (0: a new database)
  int to = kSchemaVersion;       // the version now
  std::filesystem::path backup;  // the copy taken before migrating, if one was
};

Result<SchemaOutcome> openSchema(sqlite3* db, const std::filesystem::path& path);

// The database's user_version, or an error.
Result<int> schemaVersion(sqlite3* db);

}  // namespace drover::state
