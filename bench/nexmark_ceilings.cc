// Nexmark sink ceilings: the queries' rows from the model, written by plain libpq and librdkafka.
#include "nexmark_ceilings.h"

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <time.h>

#include <charconv>
#include <chrono>
#include <functional>

#include "bench_stats.h"
#include "fatal.h"
#include "kafka_events.h"
#include "pg_bench_client.h"
#include "source/nexmark_model.h"

namespace onceflow::bench {
namespace {

namespace nx = source::nexmark;
using Clock = std::chrono::steady_clock;

double CpuClock(clockid_t clock) {
  timespec t{};
  clock_gettime(clock, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}
double ThreadCpu() { return CpuClock(CLOCK_THREAD_CPUTIME_ID); }
double ProcessCpu() { return CpuClock(CLOCK_PROCESS_CPUTIME_ID); }

void PutInt(std::string* out, int64_t v) {
  char buf[24];
  out->append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

void PutDouble(std::string* out, double v) {
  char buf[32];
  out->append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

// Calls emit(values) for each output row of `query`: `sep` between values, strings as they
// are (the model's strings need no escaping in COPY text, JSON or SQL quotes), `quote` around
// strings, `names` (JSON) before each value.
struct Format {
  const char* open;
  const char* sep;
  const char* close;
  const char* quote;
  bool names;
};

void ForEachRow(const std::string& query, int64_t events, const Format& f,
                const std::function<void(const std::string&)>& emit) {
  NexmarkSourceOptions o;
  o.events = events;
  const int64_t bids = nx::CountOf(NexmarkKind::kBid, events);
  nx::Event e;
  std::string row;
  const bool q2 = query == "q2";
  for (int64_t j = 0; j < bids; ++j) {
    nx::Generate(o, nx::EventNumberOf(NexmarkKind::kBid, j), &e);
    if (q2 && e.auction % 123 != 0) continue;
    row.assign(f.open);
    auto name = [&](const char* n, bool first) {
      if (!first) row += f.sep;
      if (f.names) {
        row += '"';
        row += n;
        row += "\":";
      }
    };
    name("auction", true);
    PutInt(&row, e.auction);
    if (!q2) {
      name("bidder", false);
      PutInt(&row, e.bidder);
    }
    name("price", false);
    if (query == "q1") {
      PutDouble(&row, 0.908 * static_cast<double>(e.price));
    } else {
      PutInt(&row, e.price);
    }
    if (!q2) {
      name("date_time", false);
      PutInt(&row, e.date_time);
      name("extra", false);
      row += f.quote;
      row.append(e.extra);
      row += f.quote;
    }
    row += f.close;
    emit(row);
  }
}

CeilingFigures Figures(int64_t events, Clock::time_point start, double cpu_start) {
  const double wall = Seconds(Clock::now() - start);
  const double cpu = ThreadCpu() - cpu_start;
  return {static_cast<double>(events) / wall, static_cast<double>(events) / cpu};
}

}  // namespace

std::string PgColumns(const std::string& query) {
  if (query == "q2") return "auction BIGINT, price BIGINT";
  return std::string("auction BIGINT, bidder BIGINT, price ") +
         (query == "q1" ? "DOUBLE PRECISION" : "BIGINT") + ", date_time BIGINT, extra TEXT";
}

CeilingFigures PgCopyCeiling(const std::string& conninfo, const std::string& query,
                             const std::string& table, int64_t events,
                             int64_t rows_per_transaction) {
  PGconn* c = Connect(conninfo);
  Sql(c, "DROP TABLE IF EXISTS " + table);
  Sql(c, "CREATE TABLE " + table + " (" + PgColumns(query) + ")");
  const std::string columns =
      query == "q2" ? "(auction, price)" : "(auction, bidder, price, date_time, extra)";
  const auto start = Clock::now();
  const double cpu_start = ThreadCpu();
  std::string copy;
  int64_t in_copy = 0;
  auto flush = [&] {
    Sql(c, "BEGIN");
    PGresult* r = PQexec(c, ("COPY " + table + " " + columns + " FROM STDIN").c_str());
    if (PQresultStatus(r) != PGRES_COPY_IN) Die(std::string("COPY: ") + PQerrorMessage(c));
    PQclear(r);
    if (PQputCopyData(c, copy.data(), static_cast<int>(copy.size())) != 1 ||
        PQputCopyEnd(c, nullptr) != 1) {
      Die(std::string("COPY data: ") + PQerrorMessage(c));
    }
    while ((r = PQgetResult(c)) != nullptr) {
      if (PQresultStatus(r) != PGRES_COMMAND_OK) Die(std::string("COPY: ") + PQerrorMessage(c));
      PQclear(r);
    }
    Sql(c, "COMMIT");
    copy.clear();
    in_copy = 0;
  };
  ForEachRow(query, events, {"", "\t", "\n", "", false}, [&](const std::string& row) {
    copy += row;
    if (++in_copy == rows_per_transaction) flush();
  });
  if (in_copy > 0) flush();
  const CeilingFigures f = Figures(events, start, cpu_start);
  Sql(c, "DROP TABLE " + table);
  PQfinish(c);
  return f;
}

CeilingFigures PgInsertCeiling(const std::string& conninfo, const std::string& query,
                               const std::string& table, int64_t events,
                               int64_t rows_per_transaction) {
  PGconn* c = Connect(conninfo);
  Sql(c, "DROP TABLE IF EXISTS " + table);
  Sql(c, "CREATE TABLE " + table + " (" + PgColumns(query) + ")");
  const auto start = Clock::now();
  const double cpu_start = ThreadCpu();
  const std::string head = "INSERT INTO " + table + " VALUES ";
  std::string sql = head;
  int64_t in_statement = 0, in_transaction = 0;
  bool open = false;
  auto send = [&] {
    if (in_statement == 0) return;
    Sql(c, sql);
    sql = head;
    in_statement = 0;
  };
  ForEachRow(query, events, {"(", ",", ")", "'", false}, [&](const std::string& row) {
    if (!open) {
      Sql(c, "BEGIN");
      open = true;
    }
    if (in_statement > 0) sql += ',';
    sql += row;
    if (++in_statement == 1000) send();
    if (++in_transaction == rows_per_transaction) {
      send();
      Sql(c, "COMMIT");
      open = false;
      in_transaction = 0;
    }
  });
  send();
  if (open) Sql(c, "COMMIT");
  const CeilingFigures f = Figures(events, start, cpu_start);
  Sql(c, "DROP TABLE " + table);
  PQfinish(c);
  return f;
}

CeilingFigures KafkaCeiling(const std::string& bootstrap, const std::string& query,
                            const std::string& topic, int64_t events) {
  const double process_start = ProcessCpu();  // the producer's start-up too, as a pipeline's
  kafka::Handle p = Producer(bootstrap);
  const auto start = Clock::now();
  const double cpu_start = ThreadCpu();
  ForEachRow(query, events, {"{", ",", "}", "\"", true}, [&](const std::string& value) {
    while (true) {
      const rd_kafka_resp_err_t err = rd_kafka_producev(
          p.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        Die(std::string("produce: ") + rd_kafka_err2str(err));
      }
      rd_kafka_poll(p.get(), 10);
    }
    rd_kafka_poll(p.get(), 0);
  });
  if (rd_kafka_flush(p.get(), 120000) != RD_KAFKA_RESP_ERR_NO_ERROR) Die("flush timed out");
  CeilingFigures f = Figures(events, start, cpu_start);
  p.reset();  // its threads' last work (and their exit) counted, as in a pipeline's process
  f.process_per_core = static_cast<double>(events) / (ProcessCpu() - process_start);
  return f;
}

}  // namespace onceflow::bench
