// server/store_worker: batches run in submission order on their own thread,
// a failed batch rolls back without stopping the next, and the checkpointer
// (not the writer) copies the WAL into the database file.
#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "server/database.h"
#include "server/store_worker.h"

using nostr::server::StoreWorker;

namespace {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path =
        std::filesystem::temp_directory_path() /
        ("nr-store-" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

struct Results {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<StoreWorker::Done> done;
  void add(StoreWorker::Done d) {
    std::lock_guard lock(mu);
    done.push_back(std::move(d));
    cv.notify_all();
  }
  bool wait_for(size_t n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(20), [&] { return done.size() >= n; });
  }
};

std::unique_ptr<nostr::sqlite::SqliteDb> open(const std::string& file) {
  auto db = std::make_unique<nostr::sqlite::SqliteDb>();
  std::string error;
  REQUIRE(nostr::server::open_database(*db, file, error));
  return db;
}

std::vector<nostr::SqlStatement> insert_batch(int n, size_t bytes) {
  return {{"INSERT INTO mgmt_settings (key, value) VALUES (?1, ?2)",
           {nostr::SqlParam::of("k" + std::to_string(n)),
            nostr::SqlParam::of(std::string(bytes, 'x'))}}};
}

}  // namespace

TEST_CASE(
    "store worker: batches complete in order; a failing one rolls back and the next still runs") {
  TempDir dir;
  const std::string file = (dir.path / "relay.sqlite3").string();
  Results r;
  {
    StoreWorker w(open(file), file, [&](StoreWorker::Done d) { r.add(std::move(d)); });
    w.submit(1, insert_batch(1, 10));
    // Two statements: the first succeeds, the second fails; neither stays.
    w.submit(2, {{"INSERT INTO mgmt_settings (key, value) VALUES ('k2', 'v')", {}},
                 {"INSERT INTO no_such_table VALUES (1)", {}}});
    w.submit(3, {{"SELECT key FROM mgmt_settings WHERE key LIKE 'k%' ORDER BY key", {}}});
    REQUIRE(r.wait_for(3));
  }
  REQUIRE(r.done.size() == 3);
  CHECK(r.done[0].token == 1);
  CHECK(r.done[0].ok);
  CHECK(r.done[1].token == 2);
  CHECK_FALSE(r.done[1].ok);
  CHECK(r.done[1].results.find("no_such_table") != std::string::npos);
  CHECK(r.done[2].token == 3);
  CHECK(r.done[2].ok);
  CHECK(r.done[2].results.find("k1") != std::string::npos);
  CHECK(r.done[2].results.find("k2") == std::string::npos);  // rolled back
}

TEST_CASE(
    "store worker: the checkpointer moves the WAL into the database file while the writer writes") {
  TempDir dir;
  const std::string file = (dir.path / "relay.sqlite3").string();
  Results r;
  StoreWorker w(open(file), file, [&](StoreWorker::Done d) { r.add(std::move(d)); });
  // 80 MB in 80 transactions: past the 64 MB wake-up mark.
  for (int i = 0; i < 80; ++i) w.submit(static_cast<uint32_t>(i + 1), insert_batch(i, 1000000));
  REQUIRE(r.wait_for(80));
  for (const auto& d : r.done) CHECK(d.ok);
  // The writer never checkpoints below 256 MB of WAL: a database file that
  // grew past 40 MB was written by the checkpointer.
  uintmax_t size = 0;
  for (int i = 0; i < 400 && size < (40u << 20); ++i) {
    size = std::filesystem::file_size(file);
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  CHECK(size >= (40u << 20));
}
