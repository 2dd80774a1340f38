#include "agent/state/sqlite_outbox.h"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>
#include <sqlite3.h>
#include <nlohmann/json.hpp>

#include "agent/state/epoch_ms.h"
#include "agent/state/sqlite_connection.h"
#include "agent/state/sqlite_statement.h"
#include "agent/state/store.h"

namespace agentd::state {
namespace {

#define AGENTD_OUTBOX_COLUMNS                                                             \
    "id, target, content_type, headers, payload, attempts, created_at, next_attempt_at, " \
    "delivered_at, last_error"

constexpr const char* k_insert =
    "INSERT INTO outbox (target, content_type, headers, payload, created_at, next_attempt_at) "
    "VALUES (?, ?, ?, ?, ?, ?)";
constexpr const char* k_count = "SELECT COUNT(*) FROM outbox";
// Done rows (delivered, given up) are dropped before any that may still be delivered.
constexpr const char* k_drop_done =
    "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE next_attempt_at IS NULL "
    "ORDER BY id LIMIT ?)";
constexpr const char* k_drop_oldest =
    "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox ORDER BY id LIMIT ?)";
constexpr const char* k_due = "SELECT " AGENTD_OUTBOX_COLUMNS
                              " FROM outbox WHERE next_attempt_at IS NOT NULL AND "
                              "next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?";
constexpr const char* k_next_due =
    "SELECT MIN(next_attempt_at) FROM outbox WHERE next_attempt_at IS NOT NULL";
constexpr const char* k_delivered =
    "UPDATE outbox SET delivered_at = ?, next_attempt_at = NULL WHERE id = ?";
constexpr const char* k_failed =
    "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ?";
constexpr const char* k_retry_now =
    "UPDATE outbox SET next_attempt_at = ? WHERE next_attempt_at IS NOT NULL AND "
    "next_attempt_at > ?";
constexpr const char* k_pending = "SELECT COUNT(*) FROM outbox WHERE next_attempt_at IS NOT NULL";
constexpr const char* k_item = "SELECT " AGENTD_OUTBOX_COLUMNS " FROM outbox WHERE id = ?";

constexpr const char* k_memory = "SELECT memory FROM alert_memory WHERE target = ?";
constexpr const char* k_remember =
    "INSERT INTO alert_memory (target, memory, updated_at) VALUES (?, ?, ?) "
    "ON CONFLICT (target) DO UPDATE SET memory = excluded.memory, updated_at = excluded.updated_at";

#undef AGENTD_OUTBOX_COLUMNS

std::string headers_to_json(const std::vector<std::pair<std::string, std::string>>& headers) {
    return nlohmann::json(headers).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

OutboxItem read_item(const Statement& row) {
    OutboxItem item;
    item.id = row.int64(0);
    item.message.target = row.text(1);
    item.message.content_type = row.text(2);
    try {
        item.message.headers = nlohmann::json::parse(row.text(3))
                                   .get<std::vector<std::pair<std::string, std::string>>>();
    } catch (const nlohmann::json::exception& e) {
        throw StoreError(fmt::format("outbox {}: malformed headers: {}", item.id, e.what()));
    }
    item.message.payload = row.text(4);
    item.attempts = static_cast<int>(row.int64(5));
    item.created_at = sys::TimePoint(std::chrono::milliseconds(row.int64(6)));
    item.next_attempt_at = from_ms(row.optional_int64(7));
    item.delivered_at = from_ms(row.optional_int64(8));
    item.last_error = row.text(9);
    return item;
}

}  // namespace

SqliteOutbox::SqliteOutbox(std::filesystem::path db_path, int capacity)
    : m_path(std::move(db_path)), m_capacity(std::max(1, capacity)), m_connection(m_path) {}

Outbox::Enqueued SqliteOutbox::enqueue(const OutboxMessage& message, sys::TimePoint now) {
    Transaction tx(m_connection.statements(), Transaction::Mode::Write);
    m_connection.statements().get(k_insert)
        .bind(1, message.target)
        .bind(2, message.content_type)
        .bind(3, headers_to_json(message.headers))
        .bind(4, message.payload)
        .bind(5, to_ms(now))
        .bind(6, to_ms(now))
        .run();
    Enqueued out;
    out.id = sqlite3_last_insert_rowid(m_connection.handle());
    std::int64_t rows = 0;
    {
        auto count = m_connection.statements().get(k_count);
        count.step();
        rows = count.int64(0);
    }
    if (rows > m_capacity) {
        m_connection.statements().get(k_drop_done).bind(1, rows - m_capacity).run();
        rows -= sqlite3_changes(m_connection.handle());
    }
    if (rows > m_capacity) {
        m_connection.statements().get(k_drop_oldest).bind(1, rows - m_capacity).run();
        out.dropped = sqlite3_changes(m_connection.handle());
    }
    tx.commit();
    return out;
}

std::vector<OutboxItem> SqliteOutbox::due(sys::TimePoint now, int limit) {
    Transaction tx(m_connection.statements(), Transaction::Mode::Read);
    auto stmt = m_connection.statements().get(k_due);
    stmt.bind(1, to_ms(now)).bind(2, std::int64_t{limit});
    std::vector<OutboxItem> out;
    while (stmt.step()) {
        out.push_back(read_item(stmt));
    }
    return out;
}

std::optional<sys::TimePoint> SqliteOutbox::next_due() {
    auto stmt = m_connection.statements().get(k_next_due);
    if (!stmt.step()) {
        return std::nullopt;
    }
    return from_ms(stmt.optional_int64(0));
}

void SqliteOutbox::delivered(std::int64_t id, sys::TimePoint at) {
    Transaction tx(m_connection.statements(), Transaction::Mode::Write);
    m_connection.statements().get(k_delivered).bind(1, to_ms(at)).bind(2, id).run();
    if (sqlite3_changes(m_connection.handle()) != 1) {
        throw StoreError(fmt::format("outbox {}: no such notification", id));
    }
    tx.commit();
}

void SqliteOutbox::failed(std::int64_t id, const std::string& error,
                          std::optional<sys::TimePoint> retry_at) {
    Transaction tx(m_connection.statements(), Transaction::Mode::Write);
    std::optional<std::int64_t> next;
    if (retry_at) {
        next = to_ms(*retry_at);
    }
    m_connection.statements().get(k_failed).bind(1, error).bind_optional(2, next).bind(3, id).run();
    if (sqlite3_changes(m_connection.handle()) != 1) {
        throw StoreError(fmt::format("outbox {}: no such notification", id));
    }
    tx.commit();
}

int SqliteOutbox::retry_now(sys::TimePoint now) {
    Transaction tx(m_connection.statements(), Transaction::Mode::Write);
    m_connection.statements().get(k_retry_now).bind(1, to_ms(now)).bind(2, to_ms(now)).run();
    int pending = 0;
    {
        auto count = m_connection.statements().get(k_pending);
        count.step();
        pending = static_cast<int>(count.int64(0));
    }
    tx.commit();
    return pending;
}

std::optional<OutboxItem> SqliteOutbox::item(std::int64_t id) {
    auto stmt = m_connection.statements().get(k_item);
    stmt.bind(1, id);
    if (!stmt.step()) {
        return std::nullopt;
    }
    return read_item(stmt);
}

std::optional<std::string> SqliteOutbox::memory(const std::string& target) {
    auto stmt = m_connection.statements().get(k_memory);
    stmt.bind(1, target);
    if (!stmt.step()) {
        return std::nullopt;
    }
    return stmt.text(0);
}

void SqliteOutbox::remember(const std::string& target, const std::string& memory,
                            sys::TimePoint now) {
    m_connection.statements()
        .get(k_remember)
        .bind(1, target)
        .bind(2, memory)
        .bind(3, to_ms(now))
        .run();
}

}  // namespace agentd::state
