#pragma once
// The SQL SqliteStore runs, in one place so tests can check the query plans of the exact text.

namespace agentd::state::sql {

#define AGENTD_DEPLOYMENT_COLUMNS                                                          \
    "id, stack, status, revision, tag, images, trigger, started_at, finished_at, reason, " \
    "phase, previous"

inline constexpr const char* k_insert_deployment =
    "INSERT INTO deployments (stack, status, revision, tag, images, trigger, started_at, "
    "finished_at, reason, phase, previous) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
inline constexpr const char* k_update_deployment =
    "UPDATE deployments SET status = ?, phase = ?, revision = ?, tag = ?, images = ?, "
    "reason = ?, finished_at = ?, previous = ?, trigger = ?, started_at = ? WHERE id = ?";
inline constexpr const char* k_other_succeeded =
    "SELECT id FROM deployments WHERE stack = ? AND status = 'succeeded' AND id <> ?";
inline constexpr const char* k_supersede =
    "UPDATE deployments SET status = 'superseded' WHERE id = ?";
inline constexpr const char* k_insert_event =
    "INSERT INTO events (deployment_id, at, phase, message) VALUES (?, ?, ?, ?)";

inline constexpr const char* k_deployment_by_id =
    "SELECT " AGENTD_DEPLOYMENT_COLUMNS " FROM deployments WHERE id = ?";
inline constexpr const char* k_events_of_deployment =
    "SELECT at, phase, message FROM events WHERE deployment_id = ? ORDER BY id";
/// Newest first; LIMIT -1 is no limit.
inline constexpr const char* k_history_of_stack = "SELECT " AGENTD_DEPLOYMENT_COLUMNS
                                                  " FROM deployments WHERE stack = ? "
                                                  "ORDER BY id DESC LIMIT ?";
inline constexpr const char* k_history_all =
    "SELECT " AGENTD_DEPLOYMENT_COLUMNS " FROM deployments ORDER BY id DESC LIMIT ?";
inline constexpr const char* k_newest_with_status = "SELECT " AGENTD_DEPLOYMENT_COLUMNS
                                                    " FROM deployments WHERE stack = ? AND "
                                                    "status = ? ORDER BY id DESC LIMIT 1";
inline constexpr const char* k_oldest_first_with_status = "SELECT " AGENTD_DEPLOYMENT_COLUMNS
                                                          " FROM deployments WHERE stack = ? AND "
                                                          "status = ? ORDER BY id ASC";
inline constexpr const char* k_latest_of_stack = "SELECT " AGENTD_DEPLOYMENT_COLUMNS
                                                 " FROM deployments WHERE stack = ? "
                                                 "ORDER BY id DESC LIMIT 1";

#undef AGENTD_DEPLOYMENT_COLUMNS

inline constexpr const char* k_stack_state =
    "SELECT paused, pinned, last_poll_at, last_poll_result, last_poll_error, candidate, "
    "last_poll_revision, last_poll_drift, kept_releases, offline_releases, active_slot, "
    "active_deployment, idle_deployment, idle_stops_at FROM stacks WHERE name = ?";
inline constexpr const char* k_save_stack_state =
    "INSERT INTO stacks (name, paused, pinned, last_poll_at, last_poll_result, last_poll_error, "
    "candidate, last_poll_revision, last_poll_drift, kept_releases, offline_releases) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE "
    "SET paused = excluded.paused, pinned = excluded.pinned, "
    "last_poll_at = excluded.last_poll_at, last_poll_result = excluded.last_poll_result, "
    "last_poll_error = excluded.last_poll_error, candidate = excluded.candidate, "
    "last_poll_revision = excluded.last_poll_revision, last_poll_drift = excluded.last_poll_drift, "
    "kept_releases = excluded.kept_releases, offline_releases = excluded.offline_releases";
// The two writers of a stack's row touch only their own columns: the pipeline records polls
// while an admin may pause the stack at the same moment.
inline constexpr const char* k_record_poll =
    "INSERT INTO stacks (name, paused, last_poll_at, last_poll_result, last_poll_error, "
    "candidate, last_poll_revision, last_poll_drift) VALUES (?, 0, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (name) DO UPDATE "
    "SET last_poll_at = excluded.last_poll_at, last_poll_result = excluded.last_poll_result, "
    "last_poll_error = excluded.last_poll_error, candidate = excluded.candidate, "
    "last_poll_revision = excluded.last_poll_revision, last_poll_drift = excluded.last_poll_drift";
inline constexpr const char* k_record_retention =
    "INSERT INTO stacks (name, paused, kept_releases, offline_releases) VALUES (?, 0, ?, ?) "
    "ON CONFLICT (name) DO UPDATE SET kept_releases = excluded.kept_releases, "
    "offline_releases = excluded.offline_releases";
inline constexpr const char* k_record_slots =
    "INSERT INTO stacks (name, paused, active_slot, active_deployment, idle_deployment, "
    "idle_stops_at) VALUES (?, 0, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
    "active_slot = excluded.active_slot, active_deployment = excluded.active_deployment, "
    "idle_deployment = excluded.idle_deployment, idle_stops_at = excluded.idle_stops_at";
inline constexpr const char* k_set_control =
    "INSERT INTO stacks (name, paused, pinned) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
    "paused = excluded.paused, pinned = excluded.pinned";

inline constexpr const char* k_mark_bad =
    "INSERT INTO bad_releases (stack, release_key, reason, at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (stack, release_key) DO UPDATE SET reason = excluded.reason, at = excluded.at";
inline constexpr const char* k_is_bad =
    "SELECT 1 FROM bad_releases WHERE stack = ? AND release_key = ?";
inline constexpr const char* k_clear_bad = "DELETE FROM bad_releases WHERE stack = ?";

inline constexpr const char* k_remember_pull =
    "INSERT INTO pulled_images (stack, reference, pulled_at) VALUES (?, ?, ?) "
    "ON CONFLICT (stack, reference) DO NOTHING";
inline constexpr const char* k_pulled_images =
    "SELECT stack, reference FROM pulled_images ORDER BY pulled_at, rowid";
inline constexpr const char* k_forget_pull = "DELETE FROM pulled_images WHERE reference = ?";

}  // namespace agentd::state::sql
