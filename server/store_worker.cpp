#include "server/store_worker.h"

#include <chrono>
#include <cstdio>

namespace nostr::server {

StoreWorker::StoreWorker(std::unique_ptr<sqlite::SqliteDb> db, const std::string& path,
                         std::function<void(Done)> on_done)
    : db_(std::move(db)), on_done_(std::move(on_done)) {
  sqlite3_wal_autocheckpoint(db_->handle(), 0);
  sqlite3_wal_hook(
      db_->handle(),
      [](void* self, sqlite3*, const char*, int pages) {
        auto* w = static_cast<StoreWorker*>(self);
        std::lock_guard lock(w->mu_);
        w->wal_pages_ = pages;
        if (pages >= kCheckpointPages && !w->checkpoint_) {
          w->checkpoint_ = true;
          w->ckpt_cv_.notify_one();
        }
        return SQLITE_OK;
      },
      this);
  thread_ = std::thread([this] { loop(); });
  ckpt_thread_ = std::thread([this, path] { checkpoints(path); });
}

StoreWorker::~StoreWorker() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  ckpt_cv_.notify_one();
  thread_.join();
  ckpt_thread_.join();
  // What is left in the WAL is checkpointed when the last connection closes.
}

void StoreWorker::submit(uint32_t token, std::vector<SqlStatement> stmts) {
  {
    std::lock_guard lock(mu_);
    queue_.emplace_back(token, std::move(stmts));
  }
  cv_.notify_one();
}

void StoreWorker::loop() {
  for (;;) {
    std::pair<uint32_t, std::vector<SqlStatement>> job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    Done d{job.first, false, {}, 0};
    std::string error;
    const auto t0 = std::chrono::steady_clock::now();
    d.ok = db_->run_batch(job.second, d.results, error);
    d.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!d.ok) d.results = std::move(error);
    on_done_(std::move(d));
    bool behind;
    {
      std::lock_guard lock(mu_);
      behind = wal_pages_ >= kMaxWalPages;
    }
    if (behind)
      sqlite3_wal_checkpoint_v2(db_->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr,
                                nullptr);
  }
}

}  // namespace nostr::server

namespace nostr::server {

void StoreWorker::checkpoints(std::string path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    std::fprintf(stderr, "checkpointer: cannot open %s; the writer checkpoints at %d pages\n",
                 path.c_str(), kMaxWalPages);
    sqlite3_close(db);
    return;
  }
  sqlite3_busy_timeout(db, 5000);
  // A connection learns that the database is in WAL mode by reading it; until
  // then a checkpoint call does nothing.
  sqlite3_exec(db, "SELECT count(*) FROM sqlite_schema", nullptr, nullptr, nullptr);
  for (;;) {
    {
      std::unique_lock lock(mu_);
      ckpt_cv_.wait(lock, [this] { return stop_ || checkpoint_; });
      if (stop_) break;
      checkpoint_ = false;
    }
    sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  }
  sqlite3_close(db);
}

}  // namespace nostr::server
