#pragma once
// What the next deployment would change among a stack's services and images (`agentctl diff`):
// a pure comparison of the images of two releases (service -> "name:tag@sha256:..."), and its
// JSON document. The git side (commits in between, the compose file patch) is read from the
// mirror by the caller and joins this document there.

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/model/deployment.h"

namespace agentd::deploy {

/// One recorded image split for people: "127.0.0.1:5000/acme/web:2.0@sha256:..." is name
/// "127.0.0.1:5000/acme/web", tag "2.0", digest "sha256:...". A reference agentd did not record
/// (unparsable) keeps its text as the name.
struct ImageVersion {
    std::string name;
    std::string tag;     ///< empty when the reference has only a digest
    std::string digest;  ///< empty when the reference has no digest
    bool operator==(const ImageVersion&) const = default;
};

ImageVersion split_image(const std::string& recorded);

/// A service whose image differs between the two releases.
struct ImageChange {
    std::string service;
    ImageVersion from;
    ImageVersion to;
};

/// The services of `to` compared with `from`, each list sorted by service name.
struct ServiceChanges {
    std::vector<ImageChange> changed;  ///< in both, another image (name, tag or digest)
    std::vector<std::string> added;    ///< only in `to`
    std::vector<std::string> removed;  ///< only in `from`
    std::vector<std::string> same;     ///< in both, the same image

    bool empty() const { return changed.empty() && added.empty() && removed.empty(); }
};

/// Pure: what `to` changes in the services and images of `from`.
ServiceChanges compare_images(const std::map<std::string, std::string>& from,
                              const std::map<std::string, std::string>& to);

/// {"changed":[{"service","from":{"image","tag","digest"},"to":{...}}],"added":[{"service",
/// "image","tag","digest"}],"removed":[{"service","image","tag","digest"}]}; tags and digests
/// null when absent. `from` and `to` are needed to describe added and removed services.
nlohmann::json to_json(const ServiceChanges& changes,
                       const std::map<std::string, std::string>& from,
                       const std::map<std::string, std::string>& to);

/// Where the reconciler keeps the release the stack's last successful poll observed, for
/// `agentctl diff`: state_dir/meta/STACK/observed.json, {"revision","tag","images"}.
std::filesystem::path observed_release_file(const std::filesystem::path& state_dir,
                                            const std::string& stack);
/// Writes `release` to `file` unless it holds it already (a poll that finds nothing new
/// writes nothing). A failure is logged, never an error of the poll.
void remember_observed(const std::filesystem::path& file, const model::Release& release);
/// What remember_observed wrote; nullopt when absent or unreadable.
std::optional<model::Release> observed_release(const std::filesystem::path& file);

}  // namespace agentd::deploy
