#include "server/database.h"

#include <filesystem>

#include "server/schema.h"  // generated: schema.sql as kSchemaSql

namespace nostr::server {

bool open_database(sqlite::SqliteDb& db, const std::string& path, std::string& error) {
  const std::filesystem::path p(path);
  std::error_code ec;
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
  if (!db.open_file(path, error)) return false;
  if (!db.exec_script(
          "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;"
          " PRAGMA cache_size = -32768; PRAGMA mmap_size = 268435456; PRAGMA temp_store = MEMORY;") ||
      !db.exec_script(kSchemaSql)) {
    error = "cannot apply the schema to " + path + ": " + db.last_error();
    return false;
  }
  return true;
}

}  // namespace nostr::server
