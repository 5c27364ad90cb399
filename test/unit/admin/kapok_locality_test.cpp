// SPDX-License-Identifier: GPL-2.0-or-later
#include "kapok/client/client.h"
#include "kapok_locality.h"

#include <gtest/gtest.h>

using namespace converge::admin;

namespace {

const nlohmann::json kEndpoints = nlohmann::json::parse(R"({
  "services": {"kapok": {
    "server": [{"endpoint": "127.0.0.1:7001", "node": "n1"},
               {"endpoint": "127.0.0.1:7002", "node": "n2"},
               {"endpoint": "127.0.0.1:7003", "node": "n3"}],
    "mount": [{"endpoint": "", "node": "n1"}]}}})");

}  // namespace

TEST(KapokLocality, ServersMapToTheirNodes) {
  auto nodes = kapok_server_nodes(kEndpoints);
  EXPECT_EQ(nodes.size(), 3u);
  EXPECT_EQ(nodes.at("127.0.0.1:7002"), "n2");
  EXPECT_THROW(kapok_server_nodes(nlohmann::json::parse(R"({"services": {}})")),
               std::runtime_error);
}

TEST(KapokLocality, HoldersAreTheNodesOfTheBytesMostBytesFirst) {
  auto nodes = kapok_server_nodes(kEndpoints);
  kapok::Location striped;  // as Kapok's locate() reports it
  striped.inline_data = false;
  striped.bytes_by_server = {{"127.0.0.1:7002", 200},
                             {"127.0.0.1:7003", 160},
                             {"127.0.0.1:9999", 100},
                             {"127.0.0.1:7001", 100}};
  EXPECT_EQ(holders(striped, nodes), (std::vector<std::string>{"n2", "n3", "n1"}));
  // Two servers on one node add up.
  striped.bytes_by_server = {{"127.0.0.1:7003", 150},
                             {"127.0.0.1:7002", 100},
                             {"127.0.0.1:7001", 100},
                             {"127.0.0.1:7004", 100}};
  auto more = nodes;
  more["127.0.0.1:7004"] = "n1";
  EXPECT_EQ(holders(striped, more), (std::vector<std::string>{"n1", "n3", "n2"}));
  kapok::Location small;  // inline: the data lives with the inode, even when empty
  small.bytes_by_server = {{"127.0.0.1:7001", 0}};
  EXPECT_EQ(holders(small, nodes), (std::vector<std::string>{"n1"}));
}

TEST(KapokLocality, EntriesMergeIntoTheMap) {
  auto map = with_entry(nlohmann::json::parse(R"({"/old": ["n4"]})"), "/new", {"n1", "n2"});
  EXPECT_EQ(map.dump(), R"({"/new":["n1","n2"],"/old":["n4"]})");
  EXPECT_EQ(with_entry(nullptr, "/a", {"n1"}).dump(), R"({"/a":["n1"]})");
}
