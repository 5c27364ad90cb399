// SPDX-License-Identifier: GPL-2.0-or-later
//
// A workflow: steps (simulation, big-data analysis, AI inference) with
// resources, a shell command, inputs, outputs and dependencies, run by
// converge-run either inside one allocation that shares its services among
// all steps, or as a chain of jobs with afterok dependencies. This is the
// model: parsing with located errors, dependency order, and which steps a
// rerun may skip. See docs/launcher.md for the file format.
#pragma once

#include "converge/config.h"
#include "converge/job_request.h"

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace converge {

struct WorkflowStep {
  std::string name;
  JobType type = JobType::sim;
  unsigned nodes = 1;
  unsigned tasks = 1;
  bool mpi = false;                          // srun --mpi=pmix
  std::string command;                       // a shell command, run by every task
  std::vector<std::string> inputs, outputs;  // paths; $VARS expand on the running node
  std::vector<std::string> after;            // steps that must succeed first
  unsigned time_limit_minutes = 0;           // 0: the workflow's
};

enum class WorkflowMode { allocation, jobs };

struct Workflow {
  std::string name;
  WorkflowMode mode = WorkflowMode::allocation;
  unsigned nodes = 1;                 // the allocation's size (allocation mode)
  std::vector<std::string> services;  // brought up for the allocation, or for every job
  unsigned time_limit_minutes = 30;
  std::string work_dir;  // state and logs; default: beside the workflow file
  std::map<std::string, std::string> env;
  std::vector<WorkflowStep> steps;  // in a dependency order after parsing

  // Throws config::Error naming the file, the key and the problem
  // (unknown step in "after", a cycle, more nodes than the workflow has...).
  static Workflow from_json(const config::Json& json, const std::string& origin);
  static Workflow load_file(const std::string& path);

  const WorkflowStep& step(const std::string& name) const;
  // Every step that depends on `name`, directly or not.
  std::vector<std::string> dependents(const std::string& name) const;
};

// $NAME and ${NAME} from `lookup`; unknown names expand to "".
std::string expand_variables(
    const std::string& text,
    const std::function<std::optional<std::string>(const std::string&)>& lookup);

// A step's outputs are complete when each exists and none is older than any
// input that exists; a step without outputs is never complete.
bool outputs_complete(const WorkflowStep& step,
                      const std::function<std::string(const std::string&)>& expand);

}  // namespace converge
