// SPDX-License-Identifier: GPL-2.0-or-later
//
// tdpipe-serve and tdpipe-dispatch as processes on this host, driven over
// HTTP: bad requests get 4xx with a message, 64 concurrent clients all get
// their completions (the same tokens as one at a time), SIGTERM drains the
// requests in progress, the dispatcher spreads and relays completions.
#include "tdpipe/model/gguf.h"
#include "tdpipe/model/synthetic.h"
#include "tdpipe/serve/completion_api.h"
#include "support/abuse.h"
#include "unit/tdpipe/small_tokenizer.h"

#include "converge/net.h"
#include "converge/process.h"
#include "converge/rpc/ready_proof.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using Json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string kBin = TDPIPE_BIN_DIR;
const std::string kModel = std::string(TDPIPE_DATA_DIR) + "/stories260K.bin";

// The key every server of these tests requires: in a 0600 file, as a site
// would keep it.
const std::string& api_key_file() {
  static const std::string path = [] {
    std::string p = ::testing::TempDir() + "/tdpipe-api-key-" + std::to_string(getpid());
    std::ofstream(p) << "test-key-" << getpid() << "\n";
    fs::permissions(p, fs::perms::owner_read | fs::perms::owner_write);
    return p;
  }();
  return path;
}

const std::string& api_key() {
  static const std::string key = "test-key-" + std::to_string(getpid());
  return key;
}

// A program of ours as a child process, killed if the test leaves early.
class Child {
 public:
  explicit Child(std::vector<std::string> argv) {
    std::vector<char*> raw;  // built before fork: the child only calls exec
    for (auto& a : argv) raw.push_back(a.data());
    raw.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlives a test that crashed
      execv(raw[0], raw.data());
      _exit(127);
    }
  }
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  void signal(int sig) const { kill(pid_, sig); }
  pid_t pid() const { return pid_; }
  // The exit status, or -1 if it is still running after `limit`.
  int wait(std::chrono::seconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
};

// Reads the port a server writes once it listens (polls for the file).
int wait_for_port(const std::string& port_file) {
  for (int i = 0; i < 1000; ++i) {
    std::ifstream in(port_file);
    int port = 0;
    if (in >> port && port > 0) return port;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  throw std::runtime_error("no port in " + port_file);
}

class Server {
 public:
  explicit Server(std::vector<std::string> extra = {}) {
    port_file_ = ::testing::TempDir() + "/tdpipe-port-" + std::to_string(getpid()) + "-" +
                 std::to_string(counter_++);
    fs::remove(port_file_);
    std::vector<std::string> argv{
        kBin + "/tdpipe-serve", "--model",  kModel,           "--listen",    "127.0.0.1:0",
        "--port-file",          port_file_, "--api-key-file", api_key_file()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    child_ = std::make_unique<Child>(argv);
    port_ = wait_for_port(port_file_);
  }
  int port() const { return port_; }
  Child& child() { return *child_; }

 private:
  static inline int counter_ = 0;
  std::string port_file_;
  std::unique_ptr<Child> child_;
  int port_ = 0;
};

httplib::Result post(int port, const std::string& body) {
  httplib::Client c("127.0.0.1", port);
  c.set_bearer_token_auth(api_key());
  c.set_read_timeout(120, 0);
  return c.Post("/v1/completions", body, "application/json");
}

Json greedy(std::vector<int> prompt, int max_tokens, bool stream = false) {
  return Json{
      {"prompt", prompt}, {"max_tokens", max_tokens}, {"temperature", 0}, {"stream", stream}};
}

std::vector<int> tokens_of(const httplib::Result& r) {
  return Json::parse(r->body)["choices"][0]["token_ids"].get<std::vector<int>>();
}

// Token ids from a stream of server-sent events; `done` says whether it ended with [DONE].
std::vector<int> streamed_tokens(const std::string& events, bool& done) {
  std::vector<int> out;
  std::istringstream in(events);
  std::string line;
  done = false;
  while (std::getline(in, line)) {
    if (line == "data: [DONE]") done = true;
    if (line.rfind("data: {", 0) != 0) continue;
    const Json event = Json::parse(line.substr(6));
    for (int t : event["choices"][0]["token_ids"]) out.push_back(t);
  }
  return out;
}

std::uint64_t metric(int port, const std::string& line_start) {
  httplib::Client c("127.0.0.1", port);
  c.set_bearer_token_auth(api_key());
  auto r = c.Get("/metrics");
  if (!r) return ~0ull;  // the server is gone: the caller's expectation fails
  std::istringstream in(r->body);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(line_start + " ", 0) == 0)
      return std::stoull(line.substr(line_start.size() + 1));
  return ~0ull;
}

}  // namespace

TEST(TdpipeServe, BadRequestsGetAClientErrorWithAMessage) {
  Server s;
  struct Case {
    std::string body;
    int status;
    std::string says;
  };
  std::vector<Case> cases{
      {"{\"prompt\": [1, 2", 400, "not valid JSON"},
      {"[1, 2]", 400, "JSON object"},
      {R"({"prompt": [1], "max_tokens": 4, "best_of": 2})", 400, "unknown field \"best_of\""},
      {R"({"prompt": "Once upon a time"})", 400, "no tokenizer"},
      {R"({"prompt": [1, 9999]})", 400, "outside the vocabulary"},
      {R"({"prompt": [1], "max_tokens": 0})", 400, "max_tokens"},
      {R"({"prompt": [1], "temperature": "hot"})", 400, "temperature"},
      {R"({"prompt": [1], "model": "gpt-4"})", 404, "not served here"},
      {Json{{"prompt", std::vector<int>(600, 5)}}.dump(), 400, "prompt"},
      {Json{{"prompt", std::vector<int>(600000, 5)}}.dump(), 413, "too large"},
  };
  for (const auto& c : cases) {
    auto r = post(s.port(), c.body);
    ASSERT_TRUE(r) << c.body.substr(0, 60);
    EXPECT_EQ(r->status, c.status) << c.body.substr(0, 60);
    Json j = Json::parse(r->body, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << r->body;
    EXPECT_NE(j["error"]["message"].get<std::string>().find(c.says), std::string::npos) << r->body;
  }
  // Still serving, and it counted them.
  auto ok = post(s.port(), greedy({1, 300}, 8).dump());
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(tokens_of(ok).size(), 8u);
  EXPECT_EQ(metric(s.port(), "tdpipe_requests_rejected_total{reason=\"bad_request\"}"), 9u);
  httplib::Client c("127.0.0.1", s.port());
  c.set_bearer_token_auth(api_key());
  EXPECT_EQ(c.Get("/health")->status, 200);
  EXPECT_EQ(c.Get("/no/such")->status, 404);
}

TEST(TdpipeServe, SixtyFourConcurrentClientsGetWhatEachWouldAlone) {
  Server s;
  // Alone first: the expected greedy tokens of a few distinct prompts.
  std::vector<std::vector<int>> alone;
  for (int k = 0; k < 4; ++k)
    alone.push_back(tokens_of(post(s.port(), greedy({1, 300 + k}, 24).dump())));
  std::vector<std::future<std::pair<int, std::vector<int>>>> clients;
  for (int i = 0; i < 64; ++i)
    clients.push_back(std::async(std::launch::async, [&, i] {
      bool stream = i % 2 == 1;
      auto r = post(s.port(), greedy({1, 300 + i % 4}, 24, stream).dump());
      if (!r) return std::make_pair(-1, std::vector<int>{});
      bool done = true;
      std::vector<int> tokens = stream ? streamed_tokens(r->body, done) : tokens_of(r);
      return std::make_pair(done ? r->status : -2, tokens);
    }));
  for (int i = 0; i < 64; ++i) {
    auto [status, tokens] = clients[std::size_t(i)].get();
    EXPECT_EQ(status, 200) << "client " << i;
    EXPECT_EQ(tokens, alone[std::size_t(i % 4)]) << "client " << i;
  }
  EXPECT_EQ(metric(s.port(), "tdpipe_requests_accepted_total{model=\"stories260K\"}"), 68u);
}

TEST(TdpipeServe, SigtermDrainsTheRequestsInProgressThenExits) {
  Server s;
  std::vector<std::future<httplib::Result>> inflight;
  for (int i = 0; i < 6; ++i)
    inflight.push_back(std::async(std::launch::async, [&, i] {
      Json body = greedy({1, 200 + i}, 400);
      body["ignore_eos"] = true;
      return post(s.port(), body.dump());
    }));
  // Wait until all six are admitted, then ask it to stop.
  for (int i = 0;
       i < 500 && metric(s.port(), "tdpipe_requests_accepted_total{model=\"stories260K\"}") < 6;
       ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  s.child().signal(SIGTERM);
  // New work is refused while the old finishes (or the port is already closed).
  for (int i = 0; i < 500; ++i) {
    httplib::Client c("127.0.0.1", s.port());
    c.set_bearer_token_auth(api_key());
    auto h = c.Get("/health");
    if (!h || h->status == 503) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto late = post(s.port(), greedy({1}, 4).dump());
  EXPECT_TRUE(!late || late->status == 503);
  for (auto& f : inflight) {
    auto r = f.get();
    ASSERT_TRUE(r) << "an in-flight request was cut off";
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(tokens_of(r).size(), 400u);
  }
  EXPECT_EQ(s.child().wait(std::chrono::seconds(60)), 0);
}

TEST(TdpipeDispatch, SpreadsCompletionsOverInstancesAndRelaysStreams) {
  Server a, b;
  const std::string port_file = ::testing::TempDir() + "/tdpipe-dispatch-port";
  fs::remove(port_file);
  Child d({kBin + "/tdpipe-dispatch", "--backends",
           "127.0.0.1:" + std::to_string(a.port()) + ",127.0.0.1:" + std::to_string(b.port()),
           "--listen", "127.0.0.1:0", "--port-file", port_file, "--api-key-file", api_key_file()});
  const int port = wait_for_port(port_file);
  auto direct = tokens_of(post(a.port(), greedy({1, 42}, 16).dump()));
  std::vector<std::future<httplib::Result>> clients;
  for (int i = 0; i < 16; ++i)
    clients.push_back(std::async(std::launch::async, [&, i] {
      return post(port, greedy({1, 42}, 16, i % 2).dump());
    }));
  for (int i = 0; i < 16; ++i) {
    auto r = clients[std::size_t(i)].get();
    ASSERT_TRUE(r) << "client " << i << ": " << httplib::to_string(r.error());
    ASSERT_EQ(r->status, 200);
    bool done = true;
    EXPECT_EQ(i % 2 ? streamed_tokens(r->body, done) : tokens_of(r), direct) << i;
    EXPECT_TRUE(done);
  }
  EXPECT_GT(metric(a.port(), "tdpipe_requests_accepted_total{model=\"stories260K\"}"), 1u);
  EXPECT_GT(metric(b.port(), "tdpipe_requests_accepted_total{model=\"stories260K\"}"), 0u);
  // Errors come back as the instance gave them.
  auto bad = post(port, R"({"prompt": [1], "bogus": true})");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  // An instance that goes away is skipped.
  b.child().signal(SIGKILL);
  b.child().wait(std::chrono::seconds(10));
  for (int i = 0; i < 4; ++i) {
    auto r = post(port, greedy({1, 42}, 16).dump());
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
}

TEST(TdpipeServe, AGgufModelWithATokenizerTakesAndGivesText) {
  const tdpipe::ModelConfig c{64, 96, 2, 4, 2, 300, 128};  // the tokenizer's 300 tokens
  const tdpipe::Tokenizer tokenizer = tdpipe::testing::small_tokenizer();
  const std::string path = ::testing::TempDir() + "/served.gguf";
  tdpipe::save_gguf(path, tdpipe::synthetic_weights(c, 3), tdpipe::GgufType::q8_0, &tokenizer,
                    "tiny");
  Server s({"--model", path});
  auto r = post(s.port(), R"({"prompt": "hello world", "max_tokens": 8, "temperature": 0})");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  Json j = Json::parse(r->body);
  EXPECT_EQ(j["model"], "tiny");
  EXPECT_EQ(j["usage"]["prompt_tokens"], 3);  // <s> ▁hello ▁world
  std::vector<int> tokens = j["choices"][0]["token_ids"].get<std::vector<int>>();
  std::string text;
  int previous = 275;
  for (int t : tokens) {
    text += tokenizer.decode(previous, t);
    previous = t;
  }
  EXPECT_EQ(j["choices"][0]["text"], text);
  // The same as token ids.
  auto ids = post(s.port(), greedy({1, 271, 275}, 8).dump());
  EXPECT_EQ(tokens_of(ids), tokens);
}

TEST(TdpipeServe, EveryRequestButHealthNeedsTheApiKey) {
  Server s;
  httplib::Client anonymous("127.0.0.1", s.port());
  auto body = greedy({1, 42}, 4).dump();
  auto none = anonymous.Post("/v1/completions", body, "application/json");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(Json::parse(none->body)["error"]["code"], "invalid_api_key");
  EXPECT_EQ(anonymous.Get("/metrics")->status, 401);
  EXPECT_EQ(anonymous.Get("/v1/models")->status, 401);
  EXPECT_EQ(anonymous.Get("/health")->status, 200);
  httplib::Client wrong("127.0.0.1", s.port());
  wrong.set_bearer_token_auth(api_key() + "x");
  EXPECT_EQ(wrong.Post("/v1/completions", body, "application/json")->status, 401);
  EXPECT_EQ(post(s.port(), body)->status, 200);
}

// Inside a job the server proves to the launcher that it holds the job's
// secret (readiness "http_proof"); no key needed, and nothing to prove
// without a secret.
TEST(TdpipeServe, AnswersTheReadinessProofOnlyWithTheJobsSecret) {
  {
    Server plain;
    httplib::Client c("127.0.0.1", plain.port());
    EXPECT_EQ(c.Get("/converge/ready?nonce=00ff")->status, 404);
  }
  const std::string file = ::testing::TempDir() + "/tdpipe-secret-" + std::to_string(getpid());
  auto secret = converge::rpc::JobSecret::generate();
  secret.save(file);
  setenv(converge::rpc::JobSecret::kFileVariable, file.c_str(), 1);
  Server s;
  unsetenv(converge::rpc::JobSecret::kFileVariable);
  httplib::Client c("127.0.0.1", s.port());
  auto proof = c.Get("/converge/ready?nonce=0123abcd");
  ASSERT_TRUE(proof);
  EXPECT_EQ(proof->status, 200);
  EXPECT_TRUE(converge::rpc::ready_proof_matches(secret, "0123abcd", proof->body));
  EXPECT_FALSE(converge::rpc::ready_proof_matches(converge::rpc::JobSecret::generate(), "0123abcd",
                                                  proof->body));
  EXPECT_EQ(c.Get("/converge/ready")->status, 400);
  EXPECT_EQ(c.Get("/metrics")->status, 401);  // the rest still needs the key
  fs::remove(file);
}

// The abuse of test/support/abuse.h, plus a deep JSON body and a 1 MiB
// prompt: completions are still served, and memory stays bounded.
TEST(TdpipeServe, AnAbusedServerKeepsServingWithBoundedMemory) {
  ASSERT_TRUE(converge::testing::raise_file_limit()) << "too few file descriptors for the abuse";
  Server s;  // started after raising the limit: it inherits it
  const std::string oversized = "POST /v1/completions HTTP/1.1\r\nContent-Length: 67108864\r\n\r\n";
  auto report = converge::testing::abuse(s.port(), s.child().pid(), oversized, [&] {
    auto r = post(s.port(), greedy({1, 300}, 8).dump());
    return r && r->status == 200 && tokens_of(r).size() == 8u;
  });
  std::cout << "abuse of tdpipe-serve: " << report.served << " of " << report.calls
            << " completions served, slowest " << report.slowest.count() << " ms, in "
            << report.total.count() << " ms; resident " << report.resident_before_kib / 1024
            << " MiB before, " << report.resident_during_kib / 1024 << " MiB under abuse\n";
  EXPECT_EQ(report.served, report.calls);
  EXPECT_LT(report.slowest, std::chrono::seconds(10));
  EXPECT_LT(report.resident_during_kib - report.resident_before_kib, 200 * 1024) << "KiB";

  const std::string deep =
      "{\"prompt\": " + std::string(200000, '[') + std::string(200000, ']') + "}";
  auto refused = post(s.port(), deep);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 400);
  auto t0 = std::chrono::steady_clock::now();
  refused = post(s.port(), Json{{"prompt", std::string((1 << 20) - 64, 'a')}}.dump());
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status / 100, 4);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  EXPECT_EQ(post(s.port(), greedy({1, 300}, 8).dump())->status, 200);
}

// Inside a job the launcher reserves the port by listening on it, and hands
// the socket down; the server serves on it rather than binding its own.
TEST(TdpipeServe, ServesOnTheListeningSocketItIsHanded) {
  converge::UniqueFd reserved = converge::net::listen_tcp("127.0.0.1", 0);
  const int port = converge::net::local_port(reserved.get());
  converge::process::SpawnOptions options;
  options.argv = {kBin + "/tdpipe-serve",
                  "--model",
                  kModel,
                  "--listen",
                  "127.0.0.1:" + std::to_string(port),
                  "--api-key-file",
                  api_key_file()};
  options.listening_fds = {reserved.get()};
  auto server = converge::process::spawn_detached(options);
  reserved.reset();  // the server's copy is the only one left
  httplib::Client c("127.0.0.1", port);
  c.set_bearer_token_auth(api_key());
  c.set_read_timeout(30, 0);  // the server accepts once its model is loaded
  auto health = c.Get("/health");
  ASSERT_TRUE(health) << "nothing answers on the handed socket";
  EXPECT_EQ(health->status, 200);
  EXPECT_TRUE(converge::process::alive(server));
  converge::process::terminate(server, std::chrono::seconds(5));
}

TEST(TdpipeServe, AKeyFileOthersCanReadOrNoKeyAtAllIsRefusedAtStart) {
  const std::string loose = ::testing::TempDir() + "/tdpipe-loose-key";
  std::ofstream(loose) << "k\n";
  fs::permissions(loose, fs::perms::owner_read | fs::perms::owner_write | fs::perms::others_read);
  Child a({kBin + "/tdpipe-serve", "--model", kModel, "--listen", "127.0.0.1:0", "--api-key-file",
           loose});
  EXPECT_EQ(a.wait(std::chrono::seconds(30)), 1);
  // No key anywhere: refused unless --no-api-key says so.
  unsetenv("TDPIPE_API_KEY");
  unsetenv("CONVERGE_JOB_SECRET_FILE");
  unsetenv("CONVERGE_JOB_DIR");
  Child b({kBin + "/tdpipe-serve", "--model", kModel, "--listen", "127.0.0.1:0"});
  EXPECT_NE(b.wait(std::chrono::seconds(30)), 0);
  fs::remove(loose);
}

TEST(TdpipeCompletionApi, ATextPromptTooLongForTheContextIsRefusedBeforeTokenizing) {
  tdpipe::Tokenizer t = tdpipe::testing::small_tokenizer();
  const int context = 512;
  std::string huge(1 << 20, 'h');  // 1 MiB: far more than 512 tokens could hold
  auto start = std::chrono::steady_clock::now();
  try {
    tdpipe::parse_completion_request(Json{{"prompt", huge}}.dump(), 2, &t, context);
    ADD_FAILURE() << "a 1 MiB prompt was accepted";
  } catch (const tdpipe::ApiError& e) {
    EXPECT_EQ(e.status(), 400);
    EXPECT_NE(std::string(e.what()).find("too long"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  auto fits =
      tdpipe::parse_completion_request(Json{{"prompt", "hello world"}}.dump(), 2, &t, context);
  EXPECT_EQ(fits.request.prompt.size(), 3u);
}
