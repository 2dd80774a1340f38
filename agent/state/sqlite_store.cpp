#include "agent/state/sqlite_store.h"

#include <chrono>
#include <system_error>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "agent/state/epoch_ms.h"
#include "agent/state/sqlite_connection.h"
#include "agent/state/sqlite_queries.h"
#include "agent/state/sqlite_statement.h"

namespace agentd::state {
namespace {

std::string images_to_json(const std::map<std::string, std::string>& images) {
    return nlohmann::json(images).dump();
}

std::map<std::string, std::string> images_from_json(const std::string& text, std::int64_t id) {
    try {
        return nlohmann::json::parse(text).get<std::map<std::string, std::string>>();
    } catch (const nlohmann::json::exception& e) {
        throw StoreError(fmt::format("deployment {}: malformed images: {}", id, e.what()));
    }
}

/// Reads a row of the deployment columns (sqlite_queries.h, in that order).
model::Deployment read_deployment(const Statement& row) {
    model::Deployment d;
    d.id = row.int64(0);
    d.stack = row.text(1);
    const std::string status = row.text(2);
    const auto parsed_status = model::parse_status(status);
    if (!parsed_status) {
        throw StoreError(fmt::format("deployment {}: unknown status \"{}\"", d.id, status));
    }
    d.status = *parsed_status;
    d.release.revision = row.text(3);
    d.release.tag = row.text(4);
    d.release.images = images_from_json(row.text(5), d.id);
    const std::string trigger = row.text(6);
    const auto parsed_trigger = model::parse_trigger(trigger);
    if (!parsed_trigger) {
        throw StoreError(fmt::format("deployment {}: unknown trigger \"{}\"", d.id, trigger));
    }
    d.trigger = *parsed_trigger;
    d.started_at = from_ms(row.int64(7));
    d.finished_at = from_ms(row.optional_int64(8));
    d.reason = row.text(9);
    d.phase = row.text(10);
    d.previous = row.optional_int64(11);
    return d;
}

std::vector<model::Deployment> read_deployments(Statement& stmt) {
    std::vector<model::Deployment> out;
    while (stmt.step()) {
        out.push_back(read_deployment(stmt));
    }
    return out;
}

std::optional<model::Deployment> read_first_deployment(Statement& stmt) {
    if (!stmt.step()) {
        return std::nullopt;
    }
    return read_deployment(stmt);
}

}  // namespace

SqliteStore::SqliteStore(std::filesystem::path db_path) : m_path(std::move(db_path)), m_connection(m_path) {}

std::int64_t SqliteStore::create_deployment(const model::Deployment& d) {
    Transaction tx(m_connection.statements(), Transaction::Mode::Write);
    m_connection.statements().get(sql::k_insert_deployment)
        .bind(1, d.stack)
        .bind(2, model::to_string(d.status))
        .bind(3, d.release.revision)
        .bind(4, d.release.tag)
        .bind(5, images_to_json(d.release.images))
        .bind(6, model::to_string(d.trigger))
        .bind(7, to_ms(d.started_at))
        .bind_optional(8, to_ms(d.finished_at))
        .bind(9, d.reason)
        .bind(10, d.phase)
        .bind_optional(11, d.previous)
        .run();
    const std::int64_t id = sqlite3_last_insert_rowid(m_connection.handle());
    tx.commit();
    return id;
}

void SqliteStore::write_deployment(const model::Deployment& d) {
    m_connection.statements().get(sql::k_update_deployment)
        .bind(1, model::to_string(d.status))
        .bind(2, d.phase)
        .bind(3, d.release.revision)
        .bind(4, d.release.tag)
        .bind(5, images_to_json(d.release.images))
        .bind(6, d.reason)
        .bind_optional(7, to_ms(d.finished_at))
        .bind_optional(8, d.previous)
        .bind(9, model::to_string(d.trigger))
        .bind(10, to_ms(d.started_at))
        .bind(11, d.id)
        .run();
    if (sqlite3_changes(m_connection.handle()) == 0) {
        throw StoreError(fmt::format("update deployment {}: no such deployment", d.id));
    }
}

void SqliteStore::insert_event(std::int64_t deployment, const model::Event& e) {
    m_connection.statements().get(sql::k_insert_event)
        .bind(1, deployment)
        .bind(2, to_ms(e.at))
        .bind(3, e.phase)
        .bind(4, e.message)
        .run();
}

void SqliteStore::update_deployment(const model::Deployment& d) {
    Transaction tx(m_connection.statements(), Transaction::Mode::Write);
    write_deployment(d);
    tx.commit();
}

void SqliteStore::add_event(std::int64_t deployment, const model::Event& e) {
    Transaction tx(m_connection.statements(), Transaction::Mode::Write);
    insert_event(deployment, e);
    tx.commit();
}

void SqliteStore::record(const model::Deployment& d, const model::Event& e) {
    Transaction tx(m_connection.statements(), Transaction::Mode::Write);
    write_deployment(d);
    insert_event(d.id, e);
    tx.commit();
}

void SqliteStore::promote(const model::Deployment& d, const model::Event& e,
                          const model::Event& superseded) {
    Transaction tx(m_connection.statements(), Transaction::Mode::Write);
    std::vector<std::int64_t> others;
    auto query = m_connection.statements().get(sql::k_other_succeeded);
    query.bind(1, d.stack).bind(2, d.id);
    while (query.step()) {
        others.push_back(query.int64(0));
    }
    for (const std::int64_t id : others) {
        m_connection.statements().get(sql::k_supersede).bind(1, id).run();
        insert_event(id, superseded);
    }
    write_deployment(d);
    insert_event(d.id, e);
    tx.commit();
}

std::optional<model::Deployment> SqliteStore::deployment(std::int64_t id, bool with_events) {
    Transaction tx(m_connection.statements(), Transaction::Mode::Read);
    std::optional<model::Deployment> d;
    {
        auto stmt = m_connection.statements().get(sql::k_deployment_by_id);
        stmt.bind(1, id);
        d = read_first_deployment(stmt);
    }
    if (d && with_events) {
        auto stmt = m_connection.statements().get(sql::k_events_of_deployment);
        stmt.bind(1, id);
        while (stmt.step()) {
            d->events.push_back({from_ms(stmt.int64(0)), stmt.text(1), stmt.text(2)});
        }
    }
    tx.commit();
    return d;
}

std::vector<model::Deployment> SqliteStore::history(const std::string& stack, int limit) {
    const std::int64_t sql_limit = limit > 0 ? limit : -1;  // SQLite: a negative LIMIT is none
    Transaction tx(m_connection.statements(), Transaction::Mode::Read);
    std::vector<model::Deployment> out;
    if (stack.empty()) {
        auto stmt = m_connection.statements().get(sql::k_history_all);
        stmt.bind(1, sql_limit);
        out = read_deployments(stmt);
    } else {
        auto stmt = m_connection.statements().get(sql::k_history_of_stack);
        stmt.bind(1, stack).bind(2, sql_limit);
        out = read_deployments(stmt);
    }
    tx.commit();
    return out;
}

std::optional<model::Deployment> SqliteStore::current(const std::string& stack) {
    Transaction tx(m_connection.statements(), Transaction::Mode::Read);
    std::optional<model::Deployment> d;
    {
        auto stmt = m_connection.statements().get(sql::k_newest_with_status);
        stmt.bind(1, stack).bind(2, model::to_string(model::Status::Succeeded));
        d = read_first_deployment(stmt);
    }
    tx.commit();
    return d;
}

std::vector<model::Deployment> SqliteStore::unfinished(const std::string& stack) {
    Transaction tx(m_connection.statements(), Transaction::Mode::Read);
    std::vector<model::Deployment> out;
    {
        auto stmt = m_connection.statements().get(sql::k_oldest_first_with_status);
        stmt.bind(1, stack).bind(2, model::to_string(model::Status::InProgress));
        out = read_deployments(stmt);
    }
    tx.commit();
    return out;
}

std::optional<model::Deployment> SqliteStore::latest(const std::string& stack) {
    Transaction tx(m_connection.statements(), Transaction::Mode::Read);
    std::optional<model::Deployment> d;
    {
        auto stmt = m_connection.statements().get(sql::k_latest_of_stack);
        stmt.bind(1, stack);
        d = read_first_deployment(stmt);
    }
    tx.commit();
    return d;
}

model::StackState SqliteStore::stack_state(const std::string& stack) {
    Transaction tx(m_connection.statements(), Transaction::Mode::Read);
    model::StackState s;
    s.stack = stack;
    {
        auto stmt = m_connection.statements().get(sql::k_stack_state);
        stmt.bind(1, stack);
        if (stmt.step()) {
            s.paused = stmt.int64(0) != 0;
            s.pinned = stmt.optional_int64(1);
            s.last_poll.at = from_ms(stmt.optional_int64(2));
            s.last_poll.result = stmt.text(3);
            s.last_poll.error = stmt.text(4);
            s.candidate = stmt.text(5);
            s.last_poll.revision = stmt.text(6);
            s.last_poll.drift = stmt.text(7);
            const auto kept = stmt.optional_int64(8);
            const auto offline = stmt.optional_int64(9);
            if (kept && offline) {
                s.kept_releases = static_cast<int>(*kept);
                s.offline_releases = static_cast<int>(*offline);
            }
            if (auto active = stmt.text(10); !active.empty()) {
                model::Slots slots;
                slots.active = std::move(active);
                slots.active_deployment = stmt.optional_int64(11).value_or(0);
                slots.idle_deployment = stmt.optional_int64(12);
                slots.idle_stops_at = from_ms(stmt.optional_int64(13));
                s.slots = slots;
            }
        }
    }
    tx.commit();
    return s;
}

void SqliteStore::save_stack_state(const model::StackState& s) {
    Transaction tx(m_connection.statements(), Transaction::Mode::Write);
    m_connection.statements()
        .get(sql::k_save_stack_state)
        .bind(1, s.stack)
        .bind(2, std::int64_t{s.paused ? 1 : 0})
        .bind_optional(3, s.pinned)
        .bind_optional(4, to_ms(s.last_poll.at))
        .bind(5, s.last_poll.result)
        .bind(6, s.last_poll.error)
        .bind(7, s.candidate)
        .bind(8, s.last_poll.revision)
        .bind(9, s.last_poll.drift)
        .bind_optional(
            10, s.kept_releases ? std::optional<std::int64_t>(*s.kept_releases) : std::nullopt)
        .bind_optional(11, s.offline_releases ? std::optional<std::int64_t>(*s.offline_releases)
                                              : std::nullopt)
        .run();
    tx.commit();
}

void SqliteStore::record_poll(const std::string& stack, const model::LastPoll& poll,
                              const std::string& candidate) {
    Transaction tx(m_connection.statements(), Transaction::Mode::Write);
    m_connection.statements()
        .get(sql::k_record_poll)
        .bind(1, stack)
        .bind_optional(2, to_ms(poll.at))
        .bind(3, poll.result)
        .bind(4, poll.error)
        .bind(5, candidate)
        .bind(6, poll.revision)
        .bind(7, poll.drift)
        .run();
    tx.commit();
}

void SqliteStore::record_slots(const std::string& stack, const model::Slots& slots) {
    Transaction tx(m_connection.statements(), Transaction::Mode::Write);
    m_connection.statements()
        .get(sql::k_record_slots)
        .bind(1, stack)
        .bind(2, slots.active)
        .bind(3, slots.active_deployment)
        .bind_optional(4, slots.idle_deployment)
        .bind_optional(5, to_ms(slots.idle_stops_at))
        .run();
    tx.commit();
}

void SqliteStore::record_retention(const std::string& stack, int kept, int offline) {
    Transaction tx(m_connection.statements(), Transaction::Mode::Write);
    m_connection.statements()
        .get(sql::k_record_retention)
        .bind(1, stack)
        .bind(2, std::int64_t{kept})
        .bind(3, std::int64_t{offline})
        .run();
    tx.commit();
}

void SqliteStore::remember_pull(const std::string& stack, const std::string& reference) {
    Transaction tx(m_connection.statements(), Transaction::Mode::Write);
    m_connection.statements()
        .get(sql::k_remember_pull)
        .bind(1, stack)
        .bind(2, reference)
        .bind(3, to_ms(std::chrono::system_clock::now()))
        .run();
    tx.commit();
}

std::vector<PulledImage> SqliteStore::pulled_images() {
    Transaction tx(m_connection.statements(), Transaction::Mode::Read);
    std::vector<PulledImage> out;
    {
        auto stmt = m_connection.statements().get(sql::k_pulled_images);
        while (stmt.step()) {
            out.push_back({stmt.text(0), stmt.text(1)});
        }
    }
    tx.commit();
    return out;
}

void SqliteStore::forget_pull(const std::string& reference) {
    Transaction tx(m_connection.statements(), Transaction::Mode::Write);
    m_connection.statements().get(sql::k_forget_pull).bind(1, reference).run();
    tx.commit();
}

void SqliteStore::set_control(const std::string& stack, bool paused,
                              std::optional<std::int64_t> pinned) {
    Transaction tx(m_connection.statements(), Transaction::Mode::Write);
    m_connection.statements().get(sql::k_set_control)
        .bind(1, stack)
        .bind(2, std::int64_t{paused ? 1 : 0})
        .bind_optional(3, pinned)
        .run();
    tx.commit();
}

void SqliteStore::mark_bad(const std::string& stack, const std::string& release_key,
                           const std::string& reason) {
    Transaction tx(m_connection.statements(), Transaction::Mode::Write);
    m_connection.statements().get(sql::k_mark_bad)
        .bind(1, stack)
        .bind(2, release_key)
        .bind(3, reason)
        .bind(4, to_ms(std::chrono::system_clock::now()))
        .run();
    tx.commit();
}

bool SqliteStore::is_bad(const std::string& stack, const std::string& release_key) {
    Transaction tx(m_connection.statements(), Transaction::Mode::Read);
    bool bad = false;
    {
        auto stmt = m_connection.statements().get(sql::k_is_bad);
        stmt.bind(1, stack).bind(2, release_key);
        bad = stmt.step();
    }
    tx.commit();
    return bad;
}

void SqliteStore::clear_bad(const std::string& stack) {
    Transaction tx(m_connection.statements(), Transaction::Mode::Write);
    m_connection.statements().get(sql::k_clear_bad).bind(1, stack).run();
    tx.commit();
}

}  // namespace agentd::state
