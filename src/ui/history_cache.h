// HistoryCache: the parsed batch history of each pipeline the UI serves, kept between requests,
// so that a request reads and parses only what the engine appended to the history files since
// the one before it (docs/formats/history.md), not the whole history.
#pragma once

#include <atomic>
#include <cstdint>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "onceflow/batch_history.h"
#include "onceflow/status.h"

namespace onceflow::ui {

// A pipeline's batch records, oldest first: a read-only sequence of `const BatchRecord&` whose
// records are shared with the cache (copying it copies pointers, never records).
class HistoryRecords {
 public:
  using Ptr = std::shared_ptr<const BatchRecord>;

  class const_iterator {
   public:
    using iterator_category = std::bidirectional_iterator_tag;
    using value_type = BatchRecord;
    using difference_type = std::ptrdiff_t;
    using pointer = const BatchRecord*;
    using reference = const BatchRecord&;

    const_iterator() = default;
    explicit const_iterator(std::vector<Ptr>::const_iterator it) : it_(it) {}
    reference operator*() const { return **it_; }
    pointer operator->() const { return it_->get(); }
    const_iterator& operator++() {
      ++it_;
      return *this;
    }
    const_iterator operator++(int) { return const_iterator(it_++); }
    const_iterator& operator--() {
      --it_;
      return *this;
    }
    const_iterator operator--(int) { return const_iterator(it_--); }
    bool operator==(const const_iterator& other) const = default;

   private:
    std::vector<Ptr>::const_iterator it_;
  };
  using const_reverse_iterator = std::reverse_iterator<const_iterator>;

  HistoryRecords() = default;
  // REQUIRES: no pointer of `records` is null.
  explicit HistoryRecords(std::vector<Ptr> records) : records_(std::move(records)) {}

  const_iterator begin() const { return const_iterator(records_.begin()); }
  const_iterator end() const { return const_iterator(records_.end()); }
  const_reverse_iterator rbegin() const { return const_reverse_iterator(end()); }
  const_reverse_iterator rend() const { return const_reverse_iterator(begin()); }
  size_t size() const { return records_.size(); }
  bool empty() const { return records_.empty(); }
  const BatchRecord& operator[](size_t i) const { return *records_[i]; }
  // REQUIRES: !empty().
  const BatchRecord& back() const { return *records_.back(); }

 private:
  std::vector<Ptr> records_;
};

// What ReadBatchHistory returns, with the records shared.
struct CachedHistory {
  HistoryRecords records;  // oldest first
  std::string warning;     // as HistoryReadResult::warning
};

// Per pipeline (checkpoint directory): each generation file's parsed records, the end of its
// last whole entry and that entry's bytes, and the file's size and modification time. A read
// lists the history directory, and of each file reads only the bytes past that end — starting
// one entry earlier, whose bytes must be the ones kept: a file that is shorter than what was
// parsed (truncated), another file under the same name (a reset pipeline run again, a
// generation emptied and started again), a file written to without growing, or one whose last
// parsed entry changed is parsed again from its start. A generation no longer listed (rolled
// away) is dropped; one listed but gone when opened means the writer rolled during the read,
// which then lists the directory again (5 times at most), so that an answer does not lose its
// newest records to a roll. So a read costs the listing, a stat and a small read per file, and the
// parsing of the new records only; the answer is exactly ReadBatchHistory's (same records, same
// bound, same warnings, same "superseded" marking) — except for a file that was both appended
// to and changed in place before its last entry since the previous read (or changed within the
// file system's timestamp granularity of that read): such bytes are not looked at again until
// the file rolls away. The files are append-only, so only a disk fault or a hand can do that; a
// cache that reads the file afresh (a restarted `onceflow ui`) names such damage.
// Thread-safety: Read may be called from any number of threads at once; reads of one pipeline
// take turns (one lock per pipeline), reads of different pipelines do not wait for each other.
class HistoryCache {
 public:
  HistoryCache();
  ~HistoryCache();

  // The history of the pipeline whose checkpoint directory is `checkpoint_dir`: at most its last
  // `limit` records (-1: all), as ReadBatchHistory(checkpoint_dir, limit). Errors only when the
  // history directory exists but cannot be listed.
  Result<CachedHistory> Read(const std::string& checkpoint_dir, int64_t limit = -1);

  // Bytes read from history files since the cache was made (for tests: a read after one append
  // reads about one entry, not the file).
  uint64_t bytes_read() const;

  HistoryCache(const HistoryCache&) = delete;
  HistoryCache& operator=(const HistoryCache&) = delete;

 private:
  struct PipelineHistory;

  std::mutex mu_;  // guards pipelines_ (the map only; each entry has its own lock)
  std::map<std::string, std::shared_ptr<PipelineHistory>> pipelines_;
  std::atomic<uint64_t> bytes_read_{0};
};

}  // namespace onceflow::ui
