// SPDX-License-Identifier: GPL-2.0-or-later
//
// select/converge: Converge's node selection plugin.
//
// Resource accounting is Slurm's consumable-TRES selection: this plugin
// loads select/cons_tres inside itself (the pattern Slurm's own
// select/cray_aries uses) and forwards every call. Converge decides where:
// job_test first closes the nodes a job may not use (another class's pool,
// leaves isolated for a communication-heavy job), then, for multi-node and
// heavy jobs, asks cons_tres to place the job on the idle nodes the switch
// tree prefers (placement.h), and on everything open if that fails.
//
// It is loaded by slurmctld, slurmd and every Slurm command (they open all
// select plugins to unpack job and node data), so it references no symbol
// that only slurmctld defines.
#include "common/slurm_internal.h"

#include "common/job_record.h"
#include "common/sibling_plugins.h"
#include "common/slurm_log_sink.h"
#include "converge/sched/preemption.h"
#include "placement.h"

#include <algorithm>
#include <string>

CONVERGE_EXPORT const char plugin_name[] = "Converge topology-aware node selection";
CONVERGE_EXPORT const char plugin_type[] = "select/converge";
// Unique among select plugins (Slurm's own use 101..110).
CONVERGE_EXPORT const uint32_t plugin_id = 190;
CONVERGE_EXPORT const uint32_t plugin_version = SLURM_VERSION_NUMBER;

namespace {

namespace log = converge::log;

constexpr const char* kDelegate = "select/cons_tres";

slurm_select_ops_t g_ops;  // cons_tres's entry points
plugin_context_t* g_context = nullptr;
converge::slurm::Placement g_placement;

std::string node_names(bitstr_t* bitmap) {
  char* names = bitmap ? bitmap2node_name(bitmap) : nullptr;
  std::string out = names ? names : "";
  xfree(names);
  return out;
}

}  // namespace

CONVERGE_EXPORT int init(void) {
  converge::slurm::install_log_sink(plugin_type);
  // Every member of slurm_select_ops_t is a pointer named by node_select_syms.
  constexpr size_t kSymbolCount = sizeof(slurm_select_ops_t) / sizeof(void*);
  g_context = plugin_context_create("select", kDelegate, reinterpret_cast<void**>(&g_ops),
                                    node_select_syms, kSymbolCount * sizeof(char*));
  if (!g_context) {
    log::error("cannot load {}, which select/converge delegates to", kDelegate);
    return SLURM_ERROR;
  }
  if (running_in_slurmctld()) g_placement.load_topology();
  if (running_in_daemon()) {
    log::info("active: placement by Converge, resource accounting by {}", kDelegate);
  } else {
    log::debug("loaded (delegate {})", kDelegate);
  }
  return SLURM_SUCCESS;
}

CONVERGE_EXPORT int fini(void) {
  if (g_context) plugin_context_destroy(g_context);
  g_context = nullptr;
  return SLURM_SUCCESS;
}

CONVERGE_EXPORT int select_p_state_save(char* dir_name) {
  return g_ops.state_save(dir_name);
}
CONVERGE_EXPORT int select_p_state_restore(char* dir_name) {
  return g_ops.state_restore(dir_name);
}
CONVERGE_EXPORT int select_p_job_init(List job_list) {
  converge::slurm::guarded("job_init", 0, [&] {
    g_placement.restore(job_list);
    return 0;
  });
  return g_ops.job_init(job_list);
}
CONVERGE_EXPORT int select_p_node_init(void) {
  return g_ops.node_init();
}

namespace {

// The node count a topology choice aims at: what the job asked for, at least
// its minimum.
uint32_t wanted_nodes(uint32_t min_nodes, uint32_t req_nodes, uint32_t max_nodes) {
  uint32_t want = std::max(min_nodes, req_nodes);
  return max_nodes ? std::min(want, std::max(max_nodes, min_nodes)) : want;
}

// Tries cons_tres on the topology's preferred nodes; true (and `bitmap` set
// to its pick) on success.
bool place_by_topology(job_record_t* job, const converge::JobRequest& request, bitstr_t* bitmap,
                       uint32_t min_nodes, uint32_t max_nodes, uint32_t req_nodes, uint16_t mode,
                       List preemptee_candidates, List* preemptee_job_list,
                       bitstr_t* exc_core_bitmap) {
  uint32_t want = wanted_nodes(min_nodes, req_nodes, max_nodes);
  bool heavy = request.comm == converge::CommPattern::heavy;
  if (mode != SELECT_MODE_RUN_NOW || (want < 2 && !heavy) ||
      (job->details && job->details->req_node_bitmap))
    return false;
  converge::sched::NodeChoice choice;
  bitstr_t* preferred = g_placement.preferred_nodes(request, bitmap, want, &choice);
  if (!preferred) return false;
  int rc = g_ops.job_test(job, preferred, min_nodes, max_nodes, req_nodes, mode,
                          preemptee_candidates, preemptee_job_list, exc_core_bitmap);
  if (rc == SLURM_SUCCESS) {
    bit_copybits(bitmap, preferred);
    log::info("job {} class={}{} placed on {}: {} leaf switch{}{}", job->job_id,
              request.type ? converge::to_string(*request.type) : "none", heavy ? " heavy" : "",
              node_names(bitmap), choice.leaf_switches, choice.leaf_switches == 1 ? "" : "es",
              choice.isolated ? ", isolated" : "");
  } else if (preemptee_job_list && *preemptee_job_list) {
    FREE_NULL_LIST(*preemptee_job_list);
  }
  FREE_NULL_BITMAP(preferred);
  return rc == SLURM_SUCCESS;
}

// Closes the nodes the job may not use, then places it by topology or,
// failing that, wherever cons_tres finds room among the open nodes.
// Tries cons_tres on the usable nodes that hold the job's data (the
// locality map of sched/converge); true (and `bitmap` set to its pick) on
// success. Whichever scheduler starts a job with --converge-data, it runs
// near its data when one of those nodes has room.
bool place_near_data(job_record_t* job, const converge::JobRequest& request, bitstr_t* bitmap,
                     uint32_t min_nodes, uint32_t max_nodes, uint32_t req_nodes, uint16_t mode,
                     List preemptee_candidates, List* preemptee_job_list,
                     bitstr_t* exc_core_bitmap) {
  if (mode != SELECT_MODE_RUN_NOW || request.data.empty() ||
      (job->details && job->details->req_node_bitmap))
    return false;
  bitstr_t* near = bit_alloc(node_record_count);
  bool any = converge::slurm::data_nodes(request.data, near);
  if (any) bit_and(near, bitmap);
  int count = any ? bit_set_count(near) : 0;
  if (count == 0 || count == bit_set_count(bitmap)) {  // nothing to prefer
    FREE_NULL_BITMAP(near);
    return false;
  }
  int rc = g_ops.job_test(job, near, min_nodes, max_nodes, req_nodes, mode, preemptee_candidates,
                          preemptee_job_list, exc_core_bitmap);
  if (rc == SLURM_SUCCESS) {
    bit_copybits(bitmap, near);
    log::info("job {} class={} placed near its data on {}", job->job_id,
              request.type ? converge::to_string(*request.type) : "none", node_names(bitmap));
  } else if (preemptee_job_list && *preemptee_job_list) {
    FREE_NULL_LIST(*preemptee_job_list);
  }
  FREE_NULL_BITMAP(near);
  return rc == SLURM_SUCCESS;
}

int place_job(job_record_t* job_ptr, bitstr_t* bitmap, uint32_t min_nodes, uint32_t max_nodes,
              uint32_t req_nodes, uint16_t mode, List preemptee_candidates,
              List* preemptee_job_list, bitstr_t* exc_core_bitmap) {
  bool placed = converge::slurm::guarded("job_test", false, [&] {
    if (!job_ptr || !bitmap) return false;
    auto request = converge::slurm::job_request_of(job_ptr);
    // Pools and isolation change over time: they bound where a job runs now
    // or is planned, never whether it could ever run (TEST_ONLY), which
    // Slurm would answer for good with BadConstraints.
    if (mode != SELECT_MODE_TEST_ONLY) {
      bitstr_t* closed = bit_alloc(node_record_count);
      g_placement.close_nodes(job_ptr->job_id, request.type, closed);
      bit_and_not(bitmap, closed);
      FREE_NULL_BITMAP(closed);
    }
    return place_by_topology(job_ptr, request, bitmap, min_nodes, max_nodes, req_nodes, mode,
                             preemptee_candidates, preemptee_job_list, exc_core_bitmap) ||
           place_near_data(job_ptr, request, bitmap, min_nodes, max_nodes, req_nodes, mode,
                           preemptee_candidates, preemptee_job_list, exc_core_bitmap);
  });
  if (placed) return SLURM_SUCCESS;
  int rc = g_ops.job_test(job_ptr, bitmap, min_nodes, max_nodes, req_nodes, mode,
                          preemptee_candidates, preemptee_job_list, exc_core_bitmap);
  if (rc == SLURM_SUCCESS && mode == SELECT_MODE_RUN_NOW) {
    converge::slurm::guarded("job_test", 0, [&] {
      auto request = converge::slurm::job_request_of(job_ptr);
      log::info("job {} class={} placed on {}", job_ptr->job_id,
                request.type ? converge::to_string(*request.type) : "none", node_names(bitmap));
      return 0;
    });
  }
  return rc;
}

// The preemption candidates `job` may really preempt (see
// converge/sched/preemption.h); a new list, or nullptr if all of them.
List allowed_preemptees(const converge::JobRequest& request, List candidates) {
  if (!candidates || request.type != converge::JobType::bigdata) return nullptr;
  List allowed = list_create(nullptr);
  ListIterator it = list_iterator_create(candidates);
  while (auto* victim = static_cast<job_record_t*>(list_next(it))) {
    if (converge::sched::may_preempt(request.type, converge::slurm::job_request_of(victim).type))
      list_append(allowed, victim);
  }
  list_iterator_destroy(it);
  return allowed;
}

}  // namespace

CONVERGE_EXPORT int select_p_job_test(job_record_t* job_ptr, bitstr_t* bitmap, uint32_t min_nodes,
                                      uint32_t max_nodes, uint32_t req_nodes, uint16_t mode,
                                      List preemptee_candidates, List* preemptee_job_list,
                                      bitstr_t* exc_core_bitmap) {
  List allowed = converge::slurm::guarded("job_test", List{nullptr}, [&] {
    return job_ptr
               ? allowed_preemptees(converge::slurm::job_request_of(job_ptr), preemptee_candidates)
               : nullptr;
  });
  if (allowed) preemptee_candidates = allowed;
  int rc = place_job(job_ptr, bitmap, min_nodes, max_nodes, req_nodes, mode, preemptee_candidates,
                     preemptee_job_list, exc_core_bitmap);
  FREE_NULL_LIST(allowed);
  return rc;
}

CONVERGE_EXPORT int select_p_job_begin(job_record_t* job_ptr) {
  int rc = g_ops.job_begin(job_ptr);
  if (rc == SLURM_SUCCESS) {
    converge::slurm::guarded("job_begin", 0, [&] {
      g_placement.job_started(job_ptr);
      return 0;
    });
  }
  return rc;
}
CONVERGE_EXPORT int select_p_job_ready(job_record_t* job_ptr) {
  return g_ops.job_ready(job_ptr);
}
CONVERGE_EXPORT int select_p_job_expand(job_record_t* from_job_ptr, job_record_t* to_job_ptr) {
  return g_ops.job_expand(from_job_ptr, to_job_ptr);
}
CONVERGE_EXPORT int select_p_job_resized(job_record_t* job_ptr, node_record_t* node_ptr) {
  return g_ops.job_resized(job_ptr, node_ptr);
}
CONVERGE_EXPORT int select_p_job_signal(job_record_t* job_ptr, int signal) {
  return g_ops.job_signal(job_ptr, signal);
}
CONVERGE_EXPORT int select_p_job_fini(job_record_t* job_ptr) {
  int rc = g_ops.job_fini(job_ptr);
  if (job_ptr) g_placement.job_ended(job_ptr->job_id);
  converge::slurm::notify_capacity_freed();  // nodes pull their next work
  return rc;
}
CONVERGE_EXPORT int select_p_job_suspend(job_record_t* job_ptr, bool indf_susp) {
  return g_ops.job_suspend(job_ptr, indf_susp);
}
CONVERGE_EXPORT int select_p_job_resume(job_record_t* job_ptr, bool indf_susp) {
  return g_ops.job_resume(job_ptr, indf_susp);
}
CONVERGE_EXPORT bitstr_t* select_p_step_pick_nodes(job_record_t* job_ptr,
                                                   select_jobinfo_t* step_jobinfo,
                                                   uint32_t node_count, bitstr_t** avail_nodes) {
  return g_ops.step_pick_nodes(job_ptr, step_jobinfo, node_count, avail_nodes);
}
CONVERGE_EXPORT int select_p_step_start(step_record_t* step_ptr) {
  return g_ops.step_start(step_ptr);
}
CONVERGE_EXPORT int select_p_step_finish(step_record_t* step_ptr, bool killing_step) {
  return g_ops.step_finish(step_ptr, killing_step);
}

CONVERGE_EXPORT int select_p_select_nodeinfo_pack(select_nodeinfo_t* nodeinfo, buf_t* buffer,
                                                  uint16_t protocol_version) {
  return g_ops.nodeinfo_pack(nodeinfo, buffer, protocol_version);
}
CONVERGE_EXPORT int select_p_select_nodeinfo_unpack(select_nodeinfo_t** nodeinfo, buf_t* buffer,
                                                    uint16_t protocol_version) {
  return g_ops.nodeinfo_unpack(nodeinfo, buffer, protocol_version);
}
CONVERGE_EXPORT select_nodeinfo_t* select_p_select_nodeinfo_alloc(void) {
  return g_ops.nodeinfo_alloc();
}
CONVERGE_EXPORT int select_p_select_nodeinfo_free(select_nodeinfo_t* nodeinfo) {
  return g_ops.nodeinfo_free(nodeinfo);
}
CONVERGE_EXPORT int select_p_select_nodeinfo_set_all(void) {
  return g_ops.nodeinfo_set_all();
}
CONVERGE_EXPORT int select_p_select_nodeinfo_set(job_record_t* job_ptr) {
  return g_ops.nodeinfo_set(job_ptr);
}
CONVERGE_EXPORT int select_p_select_nodeinfo_get(select_nodeinfo_t* nodeinfo,
                                                 enum select_nodedata_type dinfo,
                                                 enum node_states state, void* data) {
  return g_ops.nodeinfo_get(nodeinfo, dinfo, state, data);
}

CONVERGE_EXPORT select_jobinfo_t* select_p_select_jobinfo_alloc(void) {
  return g_ops.jobinfo_alloc();
}
CONVERGE_EXPORT int select_p_select_jobinfo_free(select_jobinfo_t* jobinfo) {
  return g_ops.jobinfo_free(jobinfo);
}
CONVERGE_EXPORT int select_p_select_jobinfo_set(select_jobinfo_t* jobinfo,
                                                enum select_jobdata_type data_type, void* data) {
  return g_ops.jobinfo_set(jobinfo, data_type, data);
}
CONVERGE_EXPORT int select_p_select_jobinfo_get(select_jobinfo_t* jobinfo,
                                                enum select_jobdata_type data_type, void* data) {
  return g_ops.jobinfo_get(jobinfo, data_type, data);
}
CONVERGE_EXPORT select_jobinfo_t* select_p_select_jobinfo_copy(select_jobinfo_t* jobinfo) {
  return g_ops.jobinfo_copy(jobinfo);
}
CONVERGE_EXPORT int select_p_select_jobinfo_pack(select_jobinfo_t* jobinfo, buf_t* buffer,
                                                 uint16_t protocol_version) {
  return g_ops.jobinfo_pack(jobinfo, buffer, protocol_version);
}
CONVERGE_EXPORT int select_p_select_jobinfo_unpack(select_jobinfo_t** jobinfo_pptr, buf_t* buffer,
                                                   uint16_t protocol_version) {
  return g_ops.jobinfo_unpack(jobinfo_pptr, buffer, protocol_version);
}
CONVERGE_EXPORT char* select_p_select_jobinfo_sprint(select_jobinfo_t* jobinfo, char* buf,
                                                     size_t size, int mode) {
  return g_ops.jobinfo_sprint(jobinfo, buf, size, mode);
}
CONVERGE_EXPORT char* select_p_select_jobinfo_xstrdup(select_jobinfo_t* jobinfo, int mode) {
  return g_ops.jobinfo_xstrdup(jobinfo, mode);
}

CONVERGE_EXPORT int select_p_get_info_from_plugin(enum select_plugindata_info dinfo,
                                                  job_record_t* job_ptr, void* data) {
  return g_ops.get_info_from_plugin(dinfo, job_ptr, data);
}
CONVERGE_EXPORT int select_p_update_node_config(int index) {
  return g_ops.update_node_config(index);
}
CONVERGE_EXPORT int select_p_reconfigure(void) {
  int rc = g_ops.reconfigure();
  converge::slurm::guarded("reconfigure", 0, [] {
    g_placement.load_topology();
    return 0;
  });
  log::info("reconfigured");
  return rc;
}
CONVERGE_EXPORT bitstr_t* select_p_resv_test(resv_desc_msg_t* resv_desc_ptr, uint32_t node_cnt,
                                             bitstr_t* avail_bitmap, bitstr_t** core_bitmap) {
  return g_ops.resv_test(resv_desc_ptr, node_cnt, avail_bitmap, core_bitmap);
}

// sched/converge asks which nodes a job of a class may not use (see
// common/sibling_plugins.h).
CONVERGE_EXPORT void converge_select_closed_nodes(int type, bitstr_t* closed) {
  converge::slurm::guarded("closed_nodes", 0, [&] {
    std::optional<converge::JobType> job_type;
    if (type >= 0) job_type = static_cast<converge::JobType>(type);
    g_placement.close_nodes(0, job_type, closed);
    return 0;
  });
}
