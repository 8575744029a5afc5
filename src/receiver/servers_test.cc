// The HTTP and TCP endpoints: protocol, errors for malformed requests while the server keeps
// serving, authentication, the reference client's retries.
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <optional>
#include <thread>

#include "receiver/http_client.h"
#include "receiver/http_server.h"
#include "receiver/receiver_test_util.h"
#include "receiver/socket_io.h"
#include "receiver/tcp_client.h"
#include "receiver/tcp_format.h"
#include "receiver/tcp_server.h"
#include "testing/hang_guard.h"
#include "util/coding.h"
#include "util/crc32c.h"

namespace onceflow::receiver {
namespace {

using testing::ReadAll;
using testing::TempDir;

// Sends `request` on a new connection and returns what the server sends until it closes the
// connection. The wait is bounded (20 s) only so that a failure ends: the server's read
// timeout is 30 s, so an answer that waits for a body that never comes is not in time.
std::string Exchange(int port, const std::string& request) {
  auto fd = ConnectTcp("127.0.0.1", port);
  EXPECT_TRUE(fd.has_value());
  if (!fd.has_value()) return "";
  timeval tv{20, 0};
  ::setsockopt(*fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  EXPECT_TRUE(WriteFull(*fd, request).ok());
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(*fd, buf, sizeof(buf), 0)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(*fd);
  return out;
}

class ServersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::CreateTopic(dir_.path(), "t");
    IngestOptions o;
    o.max_request_bytes = 1000;
    ingestor_ = testing::OpenIngestor(dir_.path(), o);
    HttpServerOptions h;
    h.port = 0;
    h.token = token_;
    h.threads = 8;
    auto http = HttpServer::Start(ingestor_.get(), h);
    ASSERT_TRUE(http.has_value()) << http.error().ToString();
    http_ = std::move(*http);
    TcpServerOptions t;
    t.port = 0;
    t.token = token_;
    auto tcp = TcpServer::Start(ingestor_.get(), t);
    ASSERT_TRUE(tcp.has_value()) << tcp.error().ToString();
    tcp_ = std::move(*tcp);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", http_->port());
    client_->set_bearer_token_auth(token_);
  }
  void TearDown() override {
    http_->Stop();
    tcp_->Stop();
  }

  httplib::Result Post(const std::string& body, httplib::Headers headers = {},
                       const std::string& topic = "t", const char* type = "text/plain") {
    return client_->Post(("/topics/" + topic + "/records").c_str(), headers, body, type);
  }
  void ExpectError(const httplib::Result& r, int status, const std::string& needle) {
    ASSERT_TRUE(r) << httplib::to_string(r.error());
    EXPECT_EQ(r->status, status) << r->body;
    EXPECT_NE(r->body.find(needle), std::string::npos) << r->body;
  }
  // The server still answers a good request.
  void ExpectServing() {
    auto h = client_->Get("/health");
    ASSERT_TRUE(h);
    EXPECT_EQ(h->status, 200);
  }

  const std::string token_ = "s3cret-token";
  TempDir dir_;
  std::unique_ptr<Ingestor> ingestor_;
  std::unique_ptr<HttpServer> http_;
  std::unique_ptr<TcpServer> tcp_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(ServersTest, HttpPostAnswersOffsetsAndRecognisesRepeats) {
  httplib::Headers h = {{"Onceflow-Producer-Id", "p"}, {"Onceflow-Sequence", "0"}};
  auto r = Post("a\r\nb\nc\n", h);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body,
            "{\"topic\":\"t\",\"partition\":0,\"base_offset\":0,\"last_offset\":2,\"count\":3,"
            "\"duplicate\":false}\n");
  auto again = Post("a\r\nb\nc\n", h);
  ASSERT_TRUE(again);
  EXPECT_NE(again->body.find("\"base_offset\":0,\"last_offset\":2,\"count\":3,\"duplicate\":true"),
            std::string::npos)
      << again->body;
  auto json = Post(R"(["x\ny", {"id": 1, "v": [1, 2]}, 7])", {}, "t", "application/json");
  ASSERT_TRUE(json);
  EXPECT_EQ(json->status, 200) << json->body;
  EXPECT_EQ(ReadAll(dir_.path(), "t"),
            (std::vector<std::string>{"a", "b", "c", "x\ny", R"({"id":1,"v":[1,2]})", "7"}));
}

TEST_F(ServersTest, HttpMalformedRequestsGetClearErrorsAndTheServerKeepsServing) {
  ExpectError(Post("[1, 2", {}, "t", "application/json"), 400, "malformed JSON");
  ExpectError(Post("{\"a\": 1}", {}, "t", "application/json"), 400, "must be an array");
  ExpectError(Post("a\n", {}, "nope"), 404, "unknown topic 'nope'");
  ExpectError(Post(std::string(7000, 'x')), 413, "larger than the limit");
  ExpectError(Post(std::string(1500, 'x')), 413, "limit is 1000");
  ExpectError(Post("a\n", {{"Onceflow-Producer-Id", "p"}, {"Onceflow-Sequence", "x1"}}), 400,
              "Onceflow-Sequence must be a non-negative integer");
  ExpectError(Post("a\n", {{"Onceflow-Producer-Id", "p"}, {"Onceflow-Sequence", "3"}}), 409,
              "must have sequence 0");
  ExpectError(client_->Get("/nothing"), 404, "no endpoint GET /nothing");
  // Authentication: missing, then wrong; the token never appears in an answer.
  httplib::Client anonymous("127.0.0.1", http_->port());
  auto missing = anonymous.Post("/topics/t/records", "a\n", "text/plain");
  ExpectError(missing, 401, "missing 'Authorization: Bearer <token>'");
  anonymous.set_bearer_token_auth("wrong");
  auto wrong = anonymous.Post("/topics/t/records", "a\n", "text/plain");
  ExpectError(wrong, 401, "invalid bearer token");
  EXPECT_EQ(wrong->body.find(token_), std::string::npos);
  ExpectError(anonymous.Get("/metrics"), 401, "invalid bearer token");
  ExpectServing();
  auto ok = Post("fine\n");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ReadAll(dir_.path(), "t"), std::vector<std::string>{"fine"});
  auto metrics = client_->Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("onceflow_receiver_rejected_total{reason=\"unauthorized\"} 3"),
            std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find("onceflow_receiver_records_total 1"), std::string::npos);
  EXPECT_NE(metrics->body.find("onceflow_receiver_append_seconds_count 1"), std::string::npos);
}

TEST_F(ServersTest, HttpProducerSendsWithSequencesAndStopsOnA4xx) {
  HttpProducerOptions o;
  o.url = "http://127.0.0.1:" + std::to_string(http_->port());
  o.topic = "t";
  o.producer_id = "ref";
  o.token = token_;
  auto p = HttpProducer::Create(o);
  ASSERT_TRUE(p.has_value());
  std::vector<std::string_view> a = {"1", "2"}, b = {"3"};
  auto ack = (*p)->Send(a);
  ASSERT_TRUE(ack.has_value()) << ack.error().ToString();
  EXPECT_EQ((*p)->next_sequence(), 2);
  ASSERT_TRUE((*p)->Send(b).has_value());
  // A second producer object with the same id resending sequence 0 is a repeat.
  auto q = HttpProducer::Create(o);
  auto repeat = (*q)->Send(a);
  ASSERT_TRUE(repeat.has_value());
  EXPECT_TRUE(repeat->duplicate);
  EXPECT_EQ(repeat->base_offset, ack->base_offset);
  o.topic = "nope";
  auto bad = HttpProducer::Create(o);
  auto refused = (*bad)->Send(a);
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().message().find("unknown topic"), std::string::npos);
  EXPECT_EQ(ReadAll(dir_.path(), "t"), (std::vector<std::string>{"1", "2", "3"}));
}

// A server that is gone: give_up ends the retries (a caller's bound), the request is not
// acknowledged and its sequence is not taken.
TEST_F(ServersTest, HttpProducerStopsRetryingWhenGivingUp) {
  // A bound socket that does not listen: every connection is refused.
  const int gone = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(gone, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::bind(gone, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::getsockname(gone, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  HttpProducerOptions o;
  o.url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  o.topic = "t";
  o.producer_id = "gone";
  o.max_attempts = 10;  // a backstop: without give_up the test fails, it does not hang
  int asked = 0;
  o.give_up = [&asked] { return ++asked == 3; };
  auto p = HttpProducer::Create(o);
  ASSERT_TRUE(p.has_value());
  std::vector<std::string_view> a = {"1"};
  auto ack = (*p)->Send(a);
  ::close(gone);
  ASSERT_FALSE(ack.has_value());
  EXPECT_EQ(ack.error().code(), StatusCode::kAborted) << ack.error().ToString();
  EXPECT_NE(ack.error().message().find("given up after 3 attempts; last: request failed"),
            std::string::npos)
      << ack.error().ToString();
  EXPECT_EQ(asked, 3);
  EXPECT_EQ((*p)->next_sequence(), 0);
}

TEST_F(ServersTest, TcpFramesAreAcknowledgedAndRepeatsRecognised) {
  auto c = TcpClient::Connect("127.0.0.1", tcp_->port());
  ASSERT_TRUE(c.has_value());
  TcpRequest req;
  req.topic = "t";
  req.token = token_;
  req.producer_id = "tp";
  req.sequence = 0;
  req.values = {"one", "two"};
  auto ack = (*c)->Send(req);
  ASSERT_TRUE(ack.has_value()) << ack.error().ToString();
  EXPECT_EQ(ack->status, 200) << ack->message;
  EXPECT_EQ(ack->count, 2u);
  auto again = (*c)->Send(req);
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->base_offset, ack->base_offset);
  // Refused requests keep the connection going.
  req.topic = "nope";
  auto unknown = (*c)->Send(req);
  ASSERT_TRUE(unknown.has_value());
  EXPECT_EQ(unknown->status, 404);
  req.topic = "t";
  req.token = "wrong";
  auto unauthorized = (*c)->Send(req);
  ASSERT_TRUE(unauthorized.has_value());
  EXPECT_EQ(unauthorized->status, 401);
  EXPECT_EQ(unauthorized->message, "invalid token");
  req.token = token_;
  req.sequence = 9;
  auto gap = (*c)->Send(req);
  ASSERT_TRUE(gap.has_value());
  EXPECT_EQ(gap->status, 409);
  EXPECT_NE(gap->message.find("expected sequence 2, got 9"), std::string::npos) << gap->message;
  EXPECT_EQ(ReadAll(dir_.path(), "t"), (std::vector<std::string>{"one", "two"}));
}

TEST_F(ServersTest, TcpBadFramingIsRefusedAndTheServerKeepsServing) {
  TcpRequest good;
  good.topic = "t";
  good.token = token_;
  good.values = {"v"};
  const std::string frame = EncodeRequestFrame(good).value();
  auto expect = [&](std::string bytes, int status, const std::string& needle) {
    auto c = TcpClient::Connect("127.0.0.1", tcp_->port());
    ASSERT_TRUE(c.has_value());
    auto ack = (*c)->SendRaw(bytes);
    ASSERT_TRUE(ack.has_value()) << ack.error().ToString();
    EXPECT_EQ(ack->status, status);
    EXPECT_NE(ack->message.find(needle), std::string::npos) << ack->message;
  };
  expect("GET / HTTP/1.1\r\n\r\n", 400, "magic");
  std::string flipped = frame;
  flipped.back() ^= 1;
  expect(flipped, 400, "CRC mismatch");
  std::string huge = frame;
  coding::EncodeFixed32(huge.data() + 4, 1u << 30);
  expect(huge, 413, "exceeds the limit");
  // A body whose record count lies, with a correct CRC: a decode error, not a crash.
  TcpRequest lie = good;
  std::string body = EncodeRequestFrame(lie).value().substr(kRequestPrefixSize);
  coding::EncodeFixed32(body.data() + body.size() - 5 - 4, 1000);  // record_count
  std::string lying;
  coding::PutFixed32(&lying, kRequestMagic);
  coding::PutFixed32(&lying, static_cast<uint32_t>(body.size()));
  coding::PutFixed32(&lying, crc32c::Value(body));
  expect(lying + body, 400, "record count 1000");
  expect(frame, 200, "");
  EXPECT_EQ(ReadAll(dir_.path(), "t"), std::vector<std::string>{"v"});
}

// A field longer than its u16 length can say was written with the length cut to 16 bits: the
// frame read back as other fields (a prefix of the topic, then its bytes as the token...).
// The encoder refuses it instead (found by tcp_frame_fuzz's request generator).
TEST(TcpFrameTest, AFieldLongerThanItsLengthCanSayIsRefusedByTheEncoder) {
  TcpRequest req;
  req.topic = "t";
  req.values = {"v"};
  // A topic of 65536 + 1 bytes was written with length 1: "t", then the rest as token length,
  // token, producer id...
  const std::string long_topic = "t" + std::string(65536, 'a');
  for (int field = 0; field < 3; ++field) {
    TcpRequest r = req;
    (field == 0 ? r.topic : field == 1 ? r.token : r.producer_id) = long_topic;
    auto frame = EncodeRequestFrame(r);
    ASSERT_FALSE(frame.has_value()) << "field " << field;
    EXPECT_TRUE(frame.error().IsInvalidArgument());
    EXPECT_NE(frame.error().message().find("at most 65535"), std::string::npos)
        << frame.error().message();
  }
  // The longest field that fits round-trips.
  TcpRequest longest = req;
  const std::string fits(65535, 'p');
  longest.producer_id = fits;
  auto frame = EncodeRequestFrame(longest);
  ASSERT_TRUE(frame.has_value()) << frame.error().ToString();
  auto back = DecodeRequestBody(std::string_view(*frame).substr(kRequestPrefixSize));
  ASSERT_TRUE(back.has_value()) << back.error().ToString();
  EXPECT_EQ(back->topic, "t");
  EXPECT_EQ(back->producer_id, fits);
  EXPECT_EQ(back->values, std::vector<std::string_view>{"v"});
}

// A flag bit the server does not know is refused rather than ignored: it would be a newer
// client's feature, silently not applied (found by tcp_frame_fuzz: flags 0x2d decoded as 0x01).
TEST(TcpFrameTest, UnknownFlagsAreRefused) {
  TcpRequest req;
  req.topic = "t";
  req.sequence = 5;
  req.values = {"v"};
  const std::string frame = EncodeRequestFrame(req).value();
  std::string body = frame.substr(kRequestPrefixSize);
  ASSERT_TRUE(DecodeRequestBody(body).has_value());
  for (uint8_t extra : {uint8_t{4}, uint8_t{0x2c}, uint8_t{0x80}}) {
    body[1] = static_cast<char>(kFlagHasSequence | extra);
    auto decoded = DecodeRequestBody(body);
    ASSERT_FALSE(decoded.has_value()) << int{extra};
    EXPECT_TRUE(decoded.error().IsInvalidArgument());
    EXPECT_NE(decoded.error().message().find("unknown flags"), std::string::npos)
        << decoded.error().message();
  }
}

// An oversized, negative or malformed Content-Length, or a missing token, is answered from the
// head alone: the client never sends a body here, so an answer that waited for it (or read it
// to discard it) would only come after the read timeout.
TEST_F(ServersTest, HttpHeadLimitsAndTokenAreCheckedBeforeTheBodyIsRead) {
  const std::string head = "POST /topics/t/records HTTP/1.1\r\nHost: x\r\n";
  const std::string auth = "Authorization: Bearer " + token_ + "\r\n";
  struct Case {
    std::string headers;
    std::string status_line;
    std::string needle;
  };
  const Case cases[] = {
      {"Content-Length: 100000000\r\n", "HTTP/1.1 401", "missing 'Authorization: Bearer"},
      {"Authorization: Bearer nope\r\nContent-Length: 100000000\r\n", "HTTP/1.1 401",
       "invalid bearer token"},
      {"Content-Length: 100000000\r\nExpect: 100-continue\r\n", "HTTP/1.1 401",
       "missing 'Authorization: Bearer"},
      {auth + "Content-Length: 100000000\r\n", "HTTP/1.1 413",
       "request body of 100000000 bytes is larger than the limit of 6096 bytes"},
      {auth + "Content-Length: -1\r\n", "HTTP/1.1 400",
       "Content-Length must be one non-negative integer, got '-1'"},
      {auth + "Content-Length: 12abc\r\n", "HTTP/1.1 400", "got '12abc'"},
      {auth + "Content-Length: 5\r\nContent-Length: 6\r\n", "HTTP/1.1 400", "got '6'"},
      {auth, "HTTP/1.1 411", "a POST needs a Content-Length header"},
      {auth + "Transfer-Encoding: chunked\r\n", "HTTP/1.1 411",
       "Transfer-Encoding is not accepted"},
      {"Content-Length: 100000000\r\n", "HTTP/1.1 404", "no endpoint POST /elsewhere"},
      {auth + "Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 10\r\n",
       "HTTP/1.1 415", "a multipart form is not accepted"},
  };
  for (const Case& c : cases) {
    std::string request = head + c.headers + "\r\n";
    if (c.status_line == "HTTP/1.1 404") request.replace(5, 17, "/elsewhere");
    const std::string r = Exchange(http_->port(), request);
    EXPECT_TRUE(r.starts_with(c.status_line)) << c.headers << "\n-> " << r;
    EXPECT_NE(r.find(c.needle), std::string::npos) << r;
    // The unread body must not be taken for a next request: the connection closes.
    EXPECT_NE(r.find("Connection: close"), std::string::npos) << r;
  }
  // A GET may say it has no body; one that has a body is refused from its head.
  EXPECT_TRUE(Exchange(http_->port(), "GET /health HTTP/1.1\r\nContent-Length: 0\r\n"
                                      "Connection: close\r\n\r\n")
                  .starts_with("HTTP/1.1 200"));
  EXPECT_TRUE(Exchange(http_->port(), "GET /health HTTP/1.1\r\nContent-Length: 100000\r\n\r\n")
                  .starts_with("HTTP/1.1 400"));
  // A refused body's first bytes already sent do not matter either.
  const std::string r = Exchange(http_->port(), head + "Content-Length: 100000000\r\n\r\nabc");
  EXPECT_TRUE(r.starts_with("HTTP/1.1 401")) << r;
  EXPECT_TRUE(ReadAll(dir_.path(), "t").empty());
  ExpectServing();
}

// 300 connections that never send a byte and 50 whose head trickles hold no thread: /health
// and a POST from another client are answered; so is /health while every POST thread waits
// for a slow body. (Before, 300 silent connections delayed /health by minutes with 8 threads.)
TEST_F(ServersTest, HttpSilentAndSlowConnectionsDoNotStarveHealthOrOtherClients) {
  rlimit limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
  if (limit.rlim_cur < 2048 && limit.rlim_max >= 2048) {
    limit.rlim_cur = 2048;
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &limit), 0);
  }
  std::vector<int> fds;
  auto open = [&](const std::string& send) {
    auto fd = ConnectTcp("127.0.0.1", http_->port());
    ASSERT_TRUE(fd.has_value()) << fd.error().ToString();
    if (!send.empty()) {
      ASSERT_TRUE(WriteFull(*fd, send).ok());
    }
    fds.push_back(*fd);
  };
  for (int i = 0; i < 300; ++i) open("");
  for (int i = 0; i < 50; ++i) open("POST /topics/t/records HTTP/1.1\r\nAuthoriz");
  // Generous bounds: the assertion is that they are answered at all.
  client_->set_read_timeout(60, 0);
  client_->set_connection_timeout(60, 0);
  ExpectServing();
  auto ok = Post("fine\n");
  ASSERT_TRUE(ok) << httplib::to_string(ok.error());
  EXPECT_EQ(ok->status, 200);
  // The fixture's 8 POST threads, each waiting for a body that does not come.
  for (int i = 0; i < 8; ++i) {
    open("POST /topics/t/records HTTP/1.1\r\nAuthorization: Bearer " + token_ +
         "\r\nContent-Length: 100\r\n\r\nslow");
  }
  ExpectServing();
  auto metrics = client_->Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200);
  for (int fd : fds) ::close(fd);
  EXPECT_EQ(ReadAll(dir_.path(), "t"), std::vector<std::string>{"fine"});
}

// curl --data-binary sends Content-Type application/x-www-form-urlencoded; httplib refused such
// a body over 8 KiB as "too large" (413) however high the limits.
TEST(HttpServerTest, LargeBodyWithCurlsDefaultContentTypeIsStored) {
  TempDir dir;
  testing::CreateTopic(dir.path(), "t");
  auto ingestor = testing::OpenIngestor(dir.path());
  HttpServerOptions h;
  h.port = 0;
  auto http = HttpServer::Start(ingestor.get(), h);
  ASSERT_TRUE(http.has_value());
  std::string body;
  for (int i = 0; i < 20000; ++i) body += std::to_string(i) + "\n";
  httplib::Client client("127.0.0.1", (*http)->port());
  auto r = client.Post("/topics/t/records", body, "application/x-www-form-urlencoded");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_NE(r->body.find("\"count\":20000"), std::string::npos) << r->body;
  (*http)->Stop();
  EXPECT_EQ(ReadAll(dir.path(), "t").size(), 20000u);
}

// Keep-alive and pipelining: requests sent back to back on one connection are each answered,
// in order, by the connection model that hands the connection back between requests.
TEST_F(ServersTest, HttpPipelinedRequestsOnOneConnectionAreAnsweredInOrder) {
  const std::string post = "POST /topics/t/records HTTP/1.1\r\nAuthorization: Bearer " + token_ +
                           "\r\nContent-Length: 2\r\n\r\n";
  const std::string r =
      Exchange(http_->port(), post + "a\n" + "GET /health HTTP/1.1\r\n\r\n" + post + "b\n" +
                                  "GET /health HTTP/1.1\r\nConnection: close\r\n\r\n");
  size_t count = 0;
  for (size_t at = r.find("HTTP/1.1 200"); at != std::string::npos;
       at = r.find("HTTP/1.1 200", at + 1)) {
    ++count;
  }
  EXPECT_EQ(count, 4u) << r;
  EXPECT_LT(r.find("\"base_offset\":0"), r.find("\"base_offset\":1")) << r;
  EXPECT_EQ(ReadAll(dir_.path(), "t"), (std::vector<std::string>{"a", "b"}));
}

TEST_F(ServersTest, HttpOversizedHeadAndTooManyConnectionsAreRefusedAtOnce) {
  const std::string huge = "GET /health HTTP/1.1\r\nX-Filler: " + std::string(70000, 'x');
  const std::string r = Exchange(http_->port(), huge);
  EXPECT_TRUE(r.starts_with("HTTP/1.1 431")) << r.substr(0, 200);
  // A server with room for 2 connections: a third is answered 503 and closed.
  HttpServerOptions h;
  h.port = 0;
  h.max_connections = 2;
  auto small = HttpServer::Start(ingestor_.get(), h);
  ASSERT_TRUE(small.has_value());
  auto a = ConnectTcp("127.0.0.1", (*small)->port());
  auto b = ConnectTcp("127.0.0.1", (*small)->port());
  ASSERT_TRUE(a.has_value() && b.has_value());
  const std::string third = Exchange((*small)->port(), "GET /health HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(third.starts_with("HTTP/1.1 503")) << third;
  EXPECT_NE(third.find("too many connections (limit 2)"), std::string::npos) << third;
  EXPECT_NE(third.find("Retry-After: 1"), std::string::npos) << third;
  ::close(*a);
  ::close(*b);
  (*small)->Stop();
}

// Silent TCP connections are closed after first_frame_timeout_ms (408 ack): they cannot keep
// the connection slots from other clients. A frame that stops arriving is cut off after the
// read timeout without an ack. (Before, both held their slot and thread for ever.)
TEST_F(ServersTest, TcpSilentAndTricklingConnectionsLoseTheirSlots) {
  TcpServerOptions t;
  t.port = 0;
  t.max_connections = 2;
  t.first_frame_timeout_ms = 200;
  t.read_timeout_ms = 200;
  auto server = TcpServer::Start(ingestor_.get(), t);
  ASSERT_TRUE(server.has_value());
  const int port = (*server)->port();
  auto silent = ConnectTcp("127.0.0.1", port);
  auto trickling = ConnectTcp("127.0.0.1", port);
  ASSERT_TRUE(silent.has_value() && trickling.has_value());
  TcpRequest req;
  req.topic = "t";
  req.token = token_;
  req.values = {"late"};
  const std::string frame = EncodeRequestFrame(req).value();
  ASSERT_TRUE(WriteFull(*trickling, frame.substr(0, frame.size() - 3)).ok());
  // Both get closed: the silent one with a 408 ack, the trickling one without an ack.
  for (int fd : {*silent, *trickling}) {
    timeval tv{20, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    std::string got;
    char buf[512];
    ssize_t n;
    while ((n = ::recv(fd, buf, sizeof(buf), 0)) > 0) got.append(buf, static_cast<size_t>(n));
    EXPECT_EQ(n, 0) << "not closed by the server";
    if (fd == *silent) {
      EXPECT_NE(got.find("no request frame within 200 ms of connecting"), std::string::npos);
    } else {
      EXPECT_TRUE(got.empty());
    }
    ::close(fd);
  }
  // A new client gets a slot (retried while the server reaps the closed connections).
  std::optional<TcpAck> ack;
  const auto give_up = std::chrono::steady_clock::now() + ::onceflow::testing::kHangGuard;
  while ((!ack || ack->status == 503) && std::chrono::steady_clock::now() < give_up) {
    if (ack) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    auto c = TcpClient::Connect("127.0.0.1", port);
    ASSERT_TRUE(c.has_value());
    req.values = {"on time"};
    auto a = (*c)->Send(req);
    ASSERT_TRUE(a.has_value()) << a.error().ToString();
    ack = *a;
  }
  EXPECT_EQ(ack->status, 200) << ack->message;
  (*server)->Stop();
  EXPECT_EQ(ReadAll(dir_.path(), "t"), std::vector<std::string>{"on time"});
}

// Stop does not wait for a client trickling its body: the read is cut off, nothing of the
// request is stored or acknowledged, and Stop returns (before: after the 30 s read timeout).
TEST_F(ServersTest, HttpStopCutsOffASlowBodyAndStoresNothingOfIt) {
  auto fd = ConnectTcp("127.0.0.1", http_->port());
  ASSERT_TRUE(fd.has_value());
  ASSERT_TRUE(WriteFull(*fd, "POST /topics/t/records HTTP/1.1\r\nAuthorization: Bearer " + token_ +
                                 "\r\nContent-Length: 500\r\n\r\npartial\n")
                  .ok());
  ExpectServing();  // the server has read the slow request's head by now, most likely
  auto stopped = std::async(std::launch::async, [&] { http_->Stop(); });
  ASSERT_EQ(stopped.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  timeval tv{20, 0};
  ::setsockopt(*fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  std::string answer;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(*fd, buf, sizeof(buf), 0)) > 0) answer.append(buf, static_cast<size_t>(n));
  ::close(*fd);
  // Cut off: a 503 (its read failed at the stop) or closed unanswered; never a 200.
  EXPECT_TRUE(answer.empty() || answer.starts_with("HTTP/1.1 503")) << answer;
  if (!answer.empty()) {
    EXPECT_NE(answer.find("the receiver is stopping"), std::string::npos) << answer;
  }
  EXPECT_TRUE(ReadAll(dir_.path(), "t").empty());
}

}  // namespace
}  // namespace onceflow::receiver
