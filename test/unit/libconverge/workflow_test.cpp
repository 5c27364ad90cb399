// SPDX-License-Identifier: GPL-2.0-or-later
#include "converge/workflow.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

using converge::Workflow;
namespace fs = std::filesystem;

namespace {

Workflow parse(const std::string& text) {
  return Workflow::from_json(converge::config::parse(text, "wf.json"), "wf.json");
}

std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const converge::config::Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Workflow, StepsComeInDependencyOrder) {
  auto w = parse(R"({"name": "w", "nodes": 4, "steps": [
    {"name": "infer", "type": "ai", "command": "x", "after": ["analyse"]},
    {"name": "simulate", "type": "sim", "nodes": 4, "command": "x"},
    {"name": "analyse", "type": "bigdata", "nodes": 2, "tasks": 4, "command": "x", "after": ["simulate"]},
    {"name": "plot", "type": "bigdata", "command": "x", "after": ["simulate"]}]})");
  ASSERT_EQ(w.steps.size(), 4u);
  EXPECT_EQ(w.steps[0].name, "simulate");
  EXPECT_EQ(w.steps[1].name, "analyse");
  EXPECT_EQ(w.steps[2].name, "plot");
  EXPECT_EQ(w.steps[3].name, "infer");
  EXPECT_EQ(w.step("analyse").tasks, 4u);
  EXPECT_EQ(w.step("infer").type, converge::JobType::ai);
  EXPECT_EQ(w.dependents("simulate"), (std::vector<std::string>{"analyse", "plot", "infer"}));
  EXPECT_TRUE(w.dependents("infer").empty());
}

TEST(Workflow, MistakesAreLocated) {
  EXPECT_NE(
      error_of(
          R"({"name": "w", "steps": [{"name": "a", "type": "sim", "command": "x", "after": ["b"]}]})")
          .find("/steps/0/after: no step named \"b\""),
      std::string::npos);
  EXPECT_NE(error_of(R"({"name": "w", "steps": [
      {"name": "a", "type": "sim", "command": "x", "after": ["b"]},
      {"name": "b", "type": "sim", "command": "x", "after": ["a"]}]})")
                .find("dependency cycle among steps a, b"),
            std::string::npos);
  EXPECT_NE(
      error_of(
          R"({"name": "w", "nodes": 2, "steps": [{"name": "a", "type": "sim", "nodes": 3, "command": "x"}]})")
          .find("/steps/0/nodes"),
      std::string::npos);
  EXPECT_NE(error_of(R"({"name": "w", "steps": [{"name": "a", "type": "sim", "command": "x"},
      {"name": "a", "type": "sim", "command": "y"}]})")
                .find("defined twice"),
            std::string::npos);
  EXPECT_NE(
      error_of(
          R"({"name": "w", "services": ["../hdfs"], "steps": [{"name": "a", "type": "sim", "command": "x"}]})")
          .find("/services"),
      std::string::npos);
}

TEST(Workflow, VariablesExpandFromTheEnvironmentOfTheRunningNode) {
  auto lookup = [](const std::string& n) -> std::optional<std::string> {
    if (n == "CONVERGE_KAPOK_MOUNT") return "/mnt/k";
    return std::nullopt;
  };
  EXPECT_EQ(converge::expand_variables("$CONVERGE_KAPOK_MOUNT/out", lookup), "/mnt/k/out");
  EXPECT_EQ(converge::expand_variables("${CONVERGE_KAPOK_MOUNT}x/$UNKNOWN.", lookup), "/mnt/kx/.");
  EXPECT_EQ(converge::expand_variables("cost $ 5", lookup), "cost $ 5");
}

TEST(Workflow, OutputsAreCompleteWhenPresentAndNewerThanInputs) {
  fs::path dir = fs::temp_directory_path() / ("converge-wf-" + std::to_string(getpid()));
  fs::create_directories(dir);
  converge::WorkflowStep step;
  step.inputs = {(dir / "in").string()};
  step.outputs = {(dir / "out").string()};
  auto same = [](const std::string& s) { return s; };
  std::ofstream(dir / "in") << "x";
  EXPECT_FALSE(converge::outputs_complete(step, same));  // no output yet
  std::ofstream(dir / "out") << "y";
  fs::last_write_time(dir / "in", fs::last_write_time(dir / "out") - std::chrono::seconds(5));
  EXPECT_TRUE(converge::outputs_complete(step, same));
  fs::last_write_time(dir / "in", fs::last_write_time(dir / "out") + std::chrono::seconds(5));
  EXPECT_FALSE(converge::outputs_complete(step, same));  // input changed since
  converge::WorkflowStep no_outputs;
  EXPECT_FALSE(converge::outputs_complete(no_outputs, same));
  fs::remove_all(dir);
}
