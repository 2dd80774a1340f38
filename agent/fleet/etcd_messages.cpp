#include "agent/fleet/etcd_messages.h"

#include <charconv>
#include <chrono>

#include <nlohmann/json.hpp>

#include "agent/sys/base64.h"

namespace agentd::fleet {

using nlohmann::json;
using sys::Error;
using sys::Result;

namespace {

// A 64-bit integer field: a decimal string as the gateway writes it, or a number; absent is 0.
std::optional<std::int64_t> integer_at(const json& object, const char* name) {
    const auto it = object.find(name);
    if (it == object.end() || it->is_null())
        return 0;
    if (it->is_number_integer())
        return it->get<std::int64_t>();
    if (!it->is_string())
        return std::nullopt;
    const auto& text = it->get_ref<const std::string&>();
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty())
        return std::nullopt;
    return value;
}

// A base64 field; absent is the empty string (proto3 leaves empty bytes out).
std::optional<std::string> bytes_at(const json& object, const char* name) {
    const auto it = object.find(name);
    if (it == object.end() || it->is_null())
        return std::string();
    if (!it->is_string())
        return std::nullopt;
    if (it->get_ref<const std::string&>().empty())
        return std::string();
    return sys::base64_decode(it->get_ref<const std::string&>());
}

Result<json> parse_object(std::string_view body, const char* what) {
    auto doc = json::parse(body, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
        return Error::failed(std::string("etcd's answer to ") + what + " is not a JSON object");
    }
    return doc;
}

Result<std::int64_t> header_revision(const json& doc, const char* what) {
    const auto header = doc.find("header");
    if (header == doc.end() || !header->is_object()) {
        return Error::failed(std::string("etcd's answer to ") + what + " has no header");
    }
    const auto revision = integer_at(*header, "revision");
    if (!revision || *revision < 0) {
        return Error::failed(std::string("etcd's answer to ") + what + " has a bad revision");
    }
    return *revision;
}

Result<KeyValue> key_value(const json& kv, const char* what) {
    if (!kv.is_object()) {
        return Error::failed(std::string("etcd's answer to ") + what +
                             " has a key that is not an object");
    }
    auto key = bytes_at(kv, "key");
    auto value = bytes_at(kv, "value");
    const auto created = integer_at(kv, "create_revision");
    const auto modified = integer_at(kv, "mod_revision");
    const auto version = integer_at(kv, "version");
    const auto lease = integer_at(kv, "lease");
    if (!key || key->empty() || !value || !created || !modified || !version || !lease) {
        return Error::failed(std::string("etcd's answer to ") + what + " has a malformed key");
    }
    return KeyValue{std::move(*key), std::move(*value), *created, *modified, *version, *lease};
}

json write_request(const Write& write) {
    switch (write.kind) {
        case Write::Kind::Put: {
            json put = {{"key", sys::base64_encode(write.key)},
                        {"value", sys::base64_encode(write.value)}};
            if (write.lease != 0)
                put["lease"] = std::to_string(write.lease);
            return {{"request_put", std::move(put)}};
        }
        case Write::Kind::Delete:
            return {{"request_delete_range", {{"key", sys::base64_encode(write.key)}}}};
        case Write::Kind::DeletePrefix:
            return {{"request_delete_range",
                     {{"key", sys::base64_encode(write.key)},
                      {"range_end", sys::base64_encode(prefix_end(write.key))}}}};
    }
    return json::object();
}

const char* compare_op(Compare::Op op) {
    switch (op) {
        case Compare::Op::Equal:
            return "EQUAL";
        case Compare::Op::NotEqual:
            return "NOT_EQUAL";
        case Compare::Op::Less:
            return "LESS";
        case Compare::Op::Greater:
            return "GREATER";
    }
    return "EQUAL";
}

}  // namespace

Write Write::put(std::string key, std::string value, std::int64_t lease) {
    return {Kind::Put, std::move(key), std::move(value), lease};
}

Write Write::erase(std::string key) {
    return {Kind::Delete, std::move(key), {}, 0};
}

Write Write::erase_prefix(std::string prefix) {
    return {Kind::DeletePrefix, std::move(prefix), {}, 0};
}

std::string prefix_end(std::string_view prefix) {
    std::string end(prefix);
    while (!end.empty()) {
        auto& last = reinterpret_cast<unsigned char&>(end.back());
        if (last < 0xff) {
            ++last;
            return end;
        }
        end.pop_back();
    }
    return std::string(1, '\0');
}

std::string list_request(std::string_view prefix) {
    return json{{"key", sys::base64_encode(prefix)},
                {"range_end", sys::base64_encode(prefix_end(prefix))}}
        .dump();
}

std::string txn_request(const Txn& txn) {
    json compare = json::array();
    for (const auto& c : txn.when) {
        compare.push_back({{"key", sys::base64_encode(c.key)},
                           {"target", "CREATE"},
                           {"result", compare_op(c.op)},
                           {"create_revision", std::to_string(c.create_revision)}});
    }
    json success = json::array();
    for (const auto& w : txn.then) success.push_back(write_request(w));
    json failure = json::array();
    for (const auto& w : txn.otherwise) failure.push_back(write_request(w));
    return json{{"compare", std::move(compare)},
                {"success", std::move(success)},
                {"failure", std::move(failure)}}
        .dump();
}

std::string lease_grant_request(sys::Duration ttl) {
    const auto seconds = std::chrono::ceil<std::chrono::seconds>(ttl).count();
    return json{{"TTL", std::to_string(seconds)}}.dump();
}

std::string lease_request(std::int64_t lease) {
    return json{{"ID", std::to_string(lease)}}.dump();
}

std::string watch_request(std::string_view prefix, std::int64_t from) {
    json create = {{"key", sys::base64_encode(prefix)},
                   {"range_end", sys::base64_encode(prefix_end(prefix))},
                   {"progress_notify", true}};
    if (from > 0)
        create["start_revision"] = std::to_string(from);
    return json{{"create_request", std::move(create)}}.dump();
}

sys::Error gateway_error(long status, std::string_view body) {
    const auto doc = json::parse(body, nullptr, false);
    std::string message;
    std::int64_t code = -1;
    if (doc.is_object()) {
        if (const auto it = doc.find("message"); it != doc.end() && it->is_string())
            message = it->get<std::string>();
        if (const auto it = doc.find("code"); it != doc.end() && it->is_number_integer())
            code = it->get<std::int64_t>();
    }
    if (message.empty())
        message = "HTTP " + std::to_string(status);
    message = "etcd: " + message;
    switch (code) {
        case 3:
            return Error::invalid(std::move(message));
        case 5:
            return Error::not_found(std::move(message));
        case 7:
        case 16:
            return Error::unauthorized(std::move(message));
        case 14:
            return Error::unavailable(std::move(message));
        default:
            break;
    }
    if (status == 401 || status == 403)
        return Error::unauthorized(std::move(message));
    if (status == 503)
        return Error::unavailable(std::move(message));
    return Error::failed(std::move(message));
}

Result<Listing> parse_listing(std::string_view body) {
    auto doc = parse_object(body, "a range");
    if (!doc)
        return doc.error();
    auto revision = header_revision(*doc, "a range");
    if (!revision)
        return revision.error();
    Listing listing;
    listing.revision = *revision;
    if (const auto kvs = doc->find("kvs"); kvs != doc->end()) {
        if (!kvs->is_array())
            return Error::failed("etcd's answer to a range has kvs that is not a list");
        for (const auto& kv : *kvs) {
            auto parsed = key_value(kv, "a range");
            if (!parsed)
                return parsed.error();
            listing.kvs.push_back(std::move(*parsed));
        }
    }
    return listing;
}

Result<TxnResult> parse_txn(std::string_view body) {
    auto doc = parse_object(body, "a transaction");
    if (!doc)
        return doc.error();
    auto revision = header_revision(*doc, "a transaction");
    if (!revision)
        return revision.error();
    const auto succeeded = doc->find("succeeded");
    if (succeeded != doc->end() && !succeeded->is_boolean()) {
        return Error::failed(
            "etcd's answer to a transaction has a succeeded that is not a boolean");
    }
    return TxnResult{succeeded != doc->end() && succeeded->get<bool>(), *revision};
}

Result<std::int64_t> parse_lease_grant(std::string_view body) {
    auto doc = parse_object(body, "a lease grant");
    if (!doc)
        return doc.error();
    const auto id = integer_at(*doc, "ID");
    if (!id || *id == 0)
        return Error::failed("etcd's answer to a lease grant has no lease ID");
    if (const auto error = doc->find("error");
        error != doc->end() && error->is_string() && !error->empty()) {
        return Error::failed("etcd refused the lease: " + error->get<std::string>());
    }
    return *id;
}

Result<sys::Duration> parse_keep_alive(std::string_view body) {
    auto doc = parse_object(body, "a keep-alive");
    if (!doc)
        return doc.error();
    const auto result = doc->find("result");
    if (result == doc->end() || !result->is_object()) {
        if (const auto error = doc->find("error"); error != doc->end()) {
            return gateway_error(200, body);
        }
        return Error::failed("etcd's answer to a keep-alive has no result");
    }
    const auto ttl = integer_at(*result, "TTL");
    if (!ttl)
        return Error::failed("etcd's answer to a keep-alive has a bad TTL");
    if (*ttl <= 0)
        return Error::not_found("the etcd lease expired");
    return std::chrono::duration_cast<sys::Duration>(std::chrono::seconds(*ttl));
}

Result<std::optional<WatchBatch>> parse_watch_message(std::string_view line) {
    auto doc = parse_object(line, "a watch");
    if (!doc)
        return doc.error();
    const auto result = doc->find("result");
    if (result == doc->end() || !result->is_object()) {
        if (doc->contains("error"))
            return gateway_error(200, line);
        return Error::failed("etcd's watch message has no result");
    }
    const auto compacted = integer_at(*result, "compact_revision");
    if (compacted && *compacted > 0) {
        return Error::conflict(
            "etcd compacted the history this watch started in (compacted up to revision " +
            std::to_string(*compacted) + ")");
    }
    if (const auto canceled = result->find("canceled");
        canceled != result->end() && *canceled == true) {
        const auto reason = result->value("cancel_reason", std::string("no reason given"));
        return Error::failed("etcd cancelled the watch: " + reason);
    }
    if (const auto created = result->find("created");
        created != result->end() && *created == true) {
        return std::optional<WatchBatch>();
    }
    auto revision = header_revision(*result, "a watch");
    if (!revision)
        return revision.error();
    WatchBatch batch;
    batch.revision = *revision;
    if (const auto events = result->find("events"); events != result->end()) {
        if (!events->is_array())
            return Error::failed("etcd's watch message has events that is not a list");
        for (const auto& event : *events) {
            if (!event.is_object())
                return Error::failed("etcd's watch message has an event that is not an object");
            const auto type = event.value("type", std::string("PUT"));
            if (type != "PUT" && type != "DELETE") {
                return Error::failed("etcd's watch message has an event of unknown type " +
                                     type.substr(0, 32));
            }
            const auto kv = event.find("kv");
            if (kv == event.end())
                return Error::failed("etcd's watch message has an event without its key");
            auto parsed = key_value(*kv, "a watch");
            if (!parsed)
                return parsed.error();
            batch.events.push_back(
                {type == "PUT" ? WatchEvent::Kind::Put : WatchEvent::Kind::Delete,
                 std::move(*parsed)});
        }
    }
    return std::optional<WatchBatch>(std::move(batch));
}

Result<std::string> parse_auth_token(std::string_view body) {
    auto doc = parse_object(body, "an authentication");
    if (!doc)
        return doc.error();
    const auto token = doc->find("token");
    if (token == doc->end() || !token->is_string() ||
        token->get_ref<const std::string&>().empty()) {
        return Error::failed("etcd's answer to an authentication has no token");
    }
    return token->get<std::string>();
}

}  // namespace agentd::fleet
