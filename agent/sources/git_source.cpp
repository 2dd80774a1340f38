#include "agent/sources/git_source.h"

#include <git2.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string_view>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "agent/sources/git_handles.h"
#include "agent/sources/git_remote.h"
#include "agent/sources/mirror_lock.h"
#include "agent/sys/files.h"
#include "agent/sys/quote.h"

namespace agentd::sources {
namespace {

namespace fs = std::filesystem;

using namespace git;

void init_libgit2() {
    // libgit2 objects are not shared between threads here (one repository handle per call),
    // which is all libgit2 asks for thread safety once it is initialised.
    static std::once_flag once;
    std::call_once(once, [] { git_libgit2_init(); });
}

/// Adds `line` to the file (created if absent) unless it is there already.
sys::Result<void> append_line_once(const fs::path& file, const std::string& line) {
    std::string text;
    if (auto current = sys::read_file(file)) {
        text = std::move(*current);
    } else if (!current.error().is_not_found()) {
        return current.error();
    }
    if (("\n" + text).find("\n" + line + "\n") != std::string::npos) {
        return {};
    }
    if (!text.empty() && text.back() != '\n') {
        text += '\n';
    }
    std::error_code ec;
    fs::create_directories(file.parent_path(), ec);
    return sys::write_file_atomic(file, text + line + "\n",
                                  fs::perms::owner_read | fs::perms::owner_write |
                                      fs::perms::group_read | fs::perms::others_read);
}

/// One check of the remote's refs (its advertisement) per repository, however many stacks
/// follow it: a fetch() or tags() asked at or before the start of another caller's check that
/// succeeded takes that check's answer instead of asking the remote again: what it would have
/// got, as fresh as what triggered it. Kept per mirror for the whole process, as the workers
/// each have a LibGit2Source of their own.
class RefCheckBook {
public:
    using Clock = std::chrono::steady_clock;

    /// A caller waits for the mirror's lock until done_waiting().
    void wait(const fs::path& mirror) {
        const std::lock_guard lock(m_mutex);
        ++m_checks[mirror.string()].waiting;
    }
    void done_waiting(const fs::path& mirror) {
        const std::lock_guard lock(m_mutex);
        --m_checks[mirror.string()].waiting;
    }
    int waiting(const fs::path& mirror) {
        const std::lock_guard lock(m_mutex);
        const auto it = m_checks.find(mirror.string());
        return it == m_checks.end() ? 0 : it->second.waiting;
    }
    /// The answer of a check begun at or after `asked` that succeeded: `ref`'s commit as the
    /// remote advertised it; nullopt without such a check, or when the remote had no `ref`.
    std::optional<std::string> answered_since(const fs::path& mirror, Clock::time_point asked,
                                              const std::string& ref) {
        const std::lock_guard lock(m_mutex);
        const auto& checks = m_checks[mirror.string()];
        if (!checks.fresh || *checks.fresh < asked) {
            return std::nullopt;
        }
        const auto it = checks.heads.find(ref);
        return it == checks.heads.end() ? std::nullopt : std::optional(it->second);
    }
    /// Whether a tags check (deleted tags pruned too) begun at or after `asked` succeeded.
    bool pruned_since(const fs::path& mirror, Clock::time_point asked) {
        const std::lock_guard lock(m_mutex);
        const auto& checks = m_checks[mirror.string()];
        return checks.fresh && *checks.fresh >= asked && checks.fresh_pruned;
    }
    /// The check begun at `began` succeeded; the remote advertised `heads` (ref -> commit).
    void succeeded(const fs::path& mirror, Clock::time_point began,
                   std::map<std::string, std::string> heads, bool pruned) {
        const std::lock_guard lock(m_mutex);
        auto& checks = m_checks[mirror.string()];
        checks.fresh = began;
        checks.fresh_pruned = pruned;
        checks.heads = std::move(heads);
    }

private:
    struct Checks {
        std::optional<Clock::time_point> fresh;  ///< when the last check that succeeded began
        bool fresh_pruned = false;  ///< it was a tags check: deleted tags are gone too
        std::map<std::string, std::string> heads;  ///< what it was told: ref -> commit
        int waiting = 0;                           ///< callers waiting for the mirror's lock
    };
    std::mutex m_mutex;
    std::map<std::string, Checks> m_checks;  ///< by mirror path
};

RefCheckBook& ref_checks() {
    static RefCheckBook book;
    return book;
}

/// The mirror's lock for a check of the remote (exclusive), counted as waiting until held.
auto lock_to_check(const fs::path& mirror) {
    ref_checks().wait(mirror);
    auto lock = MirrorLock::acquire(mirror, MirrorLock::Mode::Exclusive);
    ref_checks().done_waiting(mirror);
    return lock;
}

/// Opens the bare mirror, creating it on first use.
sys::Result<RepoPtr> open_mirror(const fs::path& dir, const std::string& shown_url) {
    git_repository* raw = nullptr;
    if (git_repository_open_ext(&raw, dir.c_str(),
                                GIT_REPOSITORY_OPEN_NO_SEARCH | GIT_REPOSITORY_OPEN_BARE,
                                nullptr) == 0) {
        return RepoPtr(raw);
    }
    git_repository_init_options options = GIT_REPOSITORY_INIT_OPTIONS_INIT;
    options.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH;
    if (git_repository_init_ext(&raw, dir.c_str(), &options) != 0) {
        return sys::Error::failed(
            fmt::format("create git mirror {}: {}", dir.string(), libgit2_error()));
    }
    RepoPtr repo(raw);
    spdlog::info("git: created mirror {} for {}", dir.string(), shown_url);
    // Only so that a person looking at state_dir can tell which remote a mirror holds.
    git_config* config = nullptr;
    if (git_repository_config(&config, repo.get()) == 0) {
        ConfigPtr owned(config);
        git_config_set_string(config, "agentd.url", shown_url.c_str());
    }
    return repo;
}

/// The stack's working tree as a non-bare repository that borrows the mirror's objects.
sys::Result<RepoPtr> open_workdir(const fs::path& workdir, const fs::path& mirror) {
    const auto git_dir = workdir / ".git";
    git_repository* raw = nullptr;
    std::error_code ec;
    if (!fs::exists(git_dir / "HEAD", ec)) {
        git_repository_init_options options = GIT_REPOSITORY_INIT_OPTIONS_INIT;
        options.flags = GIT_REPOSITORY_INIT_MKPATH | GIT_REPOSITORY_INIT_NO_REINIT;
        if (git_repository_init_ext(&raw, workdir.c_str(), &options) != 0) {
            return sys::Error::failed(
                fmt::format("init {}: {}", workdir.string(), libgit2_error()));
        }
        git_repository_free(raw);
    }
    // Alternates instead of a fetch: the mirror holds every commit ever fetched, including
    // those no branch reaches any more after a force push, which a fetch could not ask for.
    // Lines are only added, so revisions from an earlier URL of the stack stay readable.
    const auto alternates = git_dir / "objects" / "info" / "alternates";
    const auto objects = fs::absolute(mirror / "objects", ec);
    if (ec) {
        return sys::Error::failed(fmt::format("{}: {}", mirror.string(), ec.message()));
    }
    if (auto r = append_line_once(alternates, objects.string()); !r) {
        return r.error();
    }
    // Keeps `git status` in the working tree quiet about agentd's own files.
    if (auto r = append_line_once(git_dir / "info" / "exclude", "/.agentd/"); !r) {
        return r.error();
    }
    if (git_repository_open_ext(&raw, workdir.c_str(), GIT_REPOSITORY_OPEN_NO_SEARCH, nullptr) !=
        0) {
        return sys::Error::failed(fmt::format("open {}: {}", workdir.string(), libgit2_error()));
    }
    return RepoPtr(raw);
}

/// source.path as a tree path: "" for the root; InvalidInput for absolute paths and "..".
sys::Result<std::string> tree_path(const std::string& path) {
    std::string out;
    for (const auto& part : fs::path(path)) {
        const auto s = part.string();
        if (s.empty() || s == ".") {
            continue;
        }
        if (s == ".." || s == "/") {
            return sys::Error::invalid(
                fmt::format("git path {}: must stay inside the repository", path));
        }
        out += out.empty() ? s : "/" + s;
    }
    return out;
}

/// NotFound unless the mirror holds commit `oid` with a directory at `path` ("" = root).
sys::Result<void> check_revision(const fs::path& mirror, const git_oid& oid,
                                 const std::string& path, const std::string& shown_url) {
    const std::string revision = git_oid_tostr_s(&oid);
    git_repository* raw_repo = nullptr;
    if (git_repository_open_ext(&raw_repo, mirror.c_str(),
                                GIT_REPOSITORY_OPEN_NO_SEARCH | GIT_REPOSITORY_OPEN_BARE,
                                nullptr) != 0) {
        return sys::Error::not_found(
            fmt::format("revision {} not found: {} was never fetched", revision, shown_url));
    }
    RepoPtr repo(raw_repo);
    git_commit* raw_commit = nullptr;
    if (const int rc = git_commit_lookup(&raw_commit, repo.get(), &oid); rc != 0) {
        if (rc == GIT_ENOTFOUND) {
            return sys::Error::not_found(
                fmt::format("revision {} not found in the mirror of {}", revision, shown_url));
        }
        return sys::Error::failed(fmt::format("revision {}: {}", revision, libgit2_error()));
    }
    CommitPtr commit(raw_commit);
    if (path.empty()) {
        return {};
    }
    git_tree* raw_tree = nullptr;
    if (git_commit_tree(&raw_tree, commit.get()) != 0) {
        return sys::Error::failed(fmt::format("revision {}: {}", revision, libgit2_error()));
    }
    TreePtr tree(raw_tree);
    git_tree_entry* raw_entry = nullptr;
    const int rc = git_tree_entry_bypath(&raw_entry, tree.get(), path.c_str());
    TreeEntryPtr entry(raw_entry);
    if (rc != 0 || git_tree_entry_type(entry.get()) != GIT_OBJECT_TREE) {
        return sys::Error::not_found(
            fmt::format("path {} not found at revision {}", path, revision));
    }
    return {};
}

using ReferencePtr = std::unique_ptr<git_reference, Free_<git_reference, git_reference_free>>;
using ObjectPtr = std::unique_ptr<git_object, Free_<git_object, git_object_free>>;

// Every tag of the remote, force-updated: a tag moved on the remote moves in the mirror.
constexpr const char* k_tag_refspec = "+refs/tags/*:refs/tags/*";

/// The URL's transport after the checks every fetch makes first.
sys::Result<RemoteUrl> check_source(const config::GitSource& source) {
    auto remote_url = parse_remote_url(source.url);
    if (!remote_url) {
        return remote_url.error();
    }
    if (remote_url->transport == GitTransport::Local) {
        // libgit2 calls a missing local path an "unsupported URL protocol"; say what it is.
        const std::string_view prefix = "file://";
        const auto local =
            source.url.rfind(prefix, 0) == 0 ? source.url.substr(prefix.size()) : source.url;
        std::error_code ec;
        if (!fs::exists(local, ec)) {
            return sys::Error::failed(
                fmt::format("fetch {}: no repository at {}", redact_url(source.url), local));
        }
    }
    return remote_url;
}

/// A connected remote. The auth object is the callbacks' payload, so it lives on the heap and
/// never moves while the connection does.
struct Connection {
    std::unique_ptr<RemoteAuth> auth;
    RemotePtr remote;
    git_remote_callbacks callbacks = GIT_REMOTE_CALLBACKS_INIT;
    git_proxy_options proxy = GIT_PROXY_OPTIONS_INIT;
};

using ConfigIteratorPtr =
    std::unique_ptr<git_config_iterator, Free_<git_config_iterator, git_config_iterator_free>>;

/// `url` rewritten by the longest matching `url.<base>.insteadOf` of the mirror's configuration
/// (its own, ~/.gitconfig and /etc/gitconfig), as git and libgit2 rewrite it.
///
/// Done here rather than by libgit2 because libgit2 1.5 leaks a PCRE2 match block (about
/// 20 KB) for every configuration entry a glob pattern does not match: git_regexp_match
/// returns before freeing it. Its own insteadOf lookup globs the whole configuration twice
/// per remote, so each poll leaked some 280 KB (80 KB resident) and agentd's RSS grew without
/// bound. This walks the entries with a plain iterator, which uses no regular expression.
std::string apply_insteadof(git_repository* repo, const std::string& url) {
    git_config* raw_config = nullptr;
    if (git_repository_config_snapshot(&raw_config, repo) != 0) {
        return url;
    }
    ConfigPtr config(raw_config);
    git_config_iterator* raw_iterator = nullptr;
    if (git_config_iterator_new(&raw_iterator, config.get()) != 0) {
        return url;
    }
    ConfigIteratorPtr iterator(raw_iterator);
    // Section and key names come lowercased from libgit2; <base> keeps its case.
    constexpr std::string_view prefix = "url.";
    constexpr std::string_view suffix = ".insteadof";
    std::string base;
    std::size_t matched = 0;
    git_config_entry* entry = nullptr;
    while (git_config_next(&entry, iterator.get()) == 0) {
        const std::string_view name = entry->name;
        const std::string_view value = entry->value != nullptr ? entry->value : "";
        if (name.size() > prefix.size() + suffix.size() &&
            name.substr(0, prefix.size()) == prefix &&
            name.substr(name.size() - suffix.size()) == suffix && value.size() > matched &&
            std::string_view(url).substr(0, value.size()) == value) {
            matched = value.size();
            base = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
        }
    }
    return matched == 0 ? url : base + url.substr(matched);
}

sys::Result<Connection> connect(git_repository* repo, const config::GitSource& source,
                                const RemoteUrl& remote_url, const std::string& shown_url) {
    auto auth = RemoteAuth::load(remote_url, source.credentials);
    if (!auth) {
        return auth.error();
    }
    Connection connection;
    connection.auth = std::make_unique<RemoteAuth>(std::move(*auth));
    git_remote* raw_remote = nullptr;
    // Anonymous (no name): nothing about the remote is written to the mirror's config, so two
    // fetches with different credentials never race on it, and no URL lands in FETCH_HEAD or
    // reflogs. insteadOf is applied by apply_insteadof (see there why not by libgit2).
    git_remote_create_options options = GIT_REMOTE_CREATE_OPTIONS_INIT;
    options.repository = repo;
    options.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF;
    const std::string url = apply_insteadof(repo, source.url);
    if (git_remote_create_with_opts(&raw_remote, url.c_str(), &options) != 0) {
        return sys::Error::invalid(
            fmt::format("git url {}: {}", shown_url, connection.auth->redact(libgit2_error())));
    }
    connection.remote.reset(raw_remote);
    connection.auth->install(connection.callbacks);
    connection.proxy.type = GIT_PROXY_AUTO;  // http.proxy / https_proxy as git itself uses them
    if (const int rc = git_remote_connect(connection.remote.get(), GIT_DIRECTION_FETCH,
                                          &connection.callbacks, &connection.proxy, nullptr);
        rc != 0) {
        return connection.auth->error(rc, "fetch " + shown_url);
    }
    return connection;
}

/// The remote's advertised refs (valid until the connection closes).
sys::Result<std::vector<const git_remote_head*>> remote_heads(Connection& connection,
                                                              const std::string& shown_url) {
    const git_remote_head** heads = nullptr;
    std::size_t count = 0;
    if (git_remote_ls(&heads, &count, connection.remote.get()) != 0) {
        return connection.auth->error(-1, "fetch " + shown_url);
    }
    return std::vector<const git_remote_head*>(heads, heads + count);
}

/// What the remote advertised: ref name -> commit id.
std::map<std::string, std::string> advertised(const std::vector<const git_remote_head*>& heads) {
    std::map<std::string, std::string> told;
    for (const auto* head : heads) told.emplace(head->name, git_oid_tostr_s(&head->oid));
    return told;
}

/// The refspecs that fetch the remote's tags, and in `taken` the names they fetch. A remote
/// may advertise names agentd refuses (valid_tag_name: "..", control characters, 10 KB, a
/// leading '-'): the glob would store them, or make libgit2 fail the whole fetch on a name it
/// cannot store, so then each good tag gets a refspec of its own and the others are skipped,
/// with one warning naming a few of them.
std::vector<std::string> tag_refspecs(const std::vector<const git_remote_head*>& heads,
                                      const std::string& shown_url, std::set<std::string>& taken) {
    constexpr std::string_view prefix = "refs/tags/";
    constexpr std::string_view peeled = "^{}";
    std::vector<std::string> skipped;
    for (const auto* head : heads) {
        const std::string_view name = head->name;
        if (name.substr(0, prefix.size()) != prefix ||
            (name.size() >= peeled.size() && name.substr(name.size() - peeled.size()) == peeled)) {
            continue;
        }
        const auto tag = name.substr(prefix.size());
        if (valid_tag_name(tag)) {
            taken.emplace(tag);
        } else {
            skipped.emplace_back(tag);
        }
    }
    if (skipped.empty()) {
        return {k_tag_refspec};
    }
    std::string shown;
    for (std::size_t i = 0; i < skipped.size() && i < 3; ++i) {
        shown += (i == 0 ? "" : ", ") + sys::quoted(skipped[i]);
    }
    spdlog::warn(
        "git {}: skipping {} tag(s) whose names agentd does not take ({}{}): at most {} "
        "bytes of printable ASCII that git accepts, not starting with '-'",
        shown_url, skipped.size(), shown, skipped.size() > 3 ? ", ..." : "", k_max_tag_name);
    std::vector<std::string> specs;
    for (const auto& tag : taken) {
        specs.push_back(fmt::format("+refs/tags/{0}:refs/tags/{0}", tag));
    }
    return specs;
}

/// Deletes the mirror's tags that are not in `keep` (deleted on the remote).
sys::Result<void> prune_tags(git_repository* repo, const std::set<std::string>& keep,
                             const std::string& shown_url) {
    git_strarray names{};
    if (git_reference_list(&names, repo) != 0) {
        return sys::Error::failed(
            fmt::format("prune mirror of {}: {}", shown_url, libgit2_error()));
    }
    std::vector<std::string> refs(names.strings, names.strings + names.count);
    git_strarray_dispose(&names);
    constexpr std::string_view prefix = "refs/tags/";
    for (const auto& ref : refs) {
        if (ref.rfind(prefix, 0) == 0 && keep.count(ref.substr(prefix.size())) == 0 &&
            git_reference_remove(repo, ref.c_str()) != 0) {
            return sys::Error::failed(
                fmt::format("prune mirror of {}: {}", shown_url, libgit2_error()));
        }
    }
    return {};
}

/// Downloads `specs` and updates the mirror's refs (never deleting any).
sys::Result<void> download(Connection& connection, const std::vector<std::string>& specs,
                           const std::string& shown_url) {
    std::vector<const char*> raw_specs;
    for (const auto& spec : specs) {
        raw_specs.push_back(spec.c_str());
    }
    const git_strarray refspecs = {const_cast<char**>(raw_specs.data()), raw_specs.size()};
    git_fetch_options options = GIT_FETCH_OPTIONS_INIT;
    options.callbacks = connection.callbacks;
    options.proxy_opts = connection.proxy;
    options.prune = GIT_FETCH_NO_PRUNE;
    options.update_fetchhead = 0;
    options.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;  // the tag refspec fetches them all
    git_remote* remote = connection.remote.get();
    if (const int rc = git_remote_download(remote, &refspecs, &options); rc != 0) {
        return connection.auth->error(rc, "fetch " + shown_url);
    }
    if (const int rc = git_remote_update_tips(remote, &connection.callbacks, 0,
                                              GIT_REMOTE_DOWNLOAD_TAGS_NONE, "agentd: fetch");
        rc != 0) {
        return connection.auth->error(rc, "update mirror of " + shown_url);
    }
    git_remote_disconnect(remote);
    return {};
}

/// The mirror's refs/tags/*, peeled to commits, sorted by name. Tags of trees or blobs and
/// names git would not accept are skipped (with a warning): they can never be deployed.
sys::Result<std::vector<GitTag>> mirrored_tags(const fs::path& mirror,
                                               const std::string& shown_url) {
    git_repository* raw_repo = nullptr;
    if (git_repository_open_ext(&raw_repo, mirror.c_str(),
                                GIT_REPOSITORY_OPEN_NO_SEARCH | GIT_REPOSITORY_OPEN_BARE,
                                nullptr) != 0) {
        return sys::Error::failed(fmt::format("open mirror of {}: {}", shown_url, libgit2_error()));
    }
    RepoPtr repo(raw_repo);
    git_strarray names{};
    if (git_reference_list(&names, repo.get()) != 0) {
        return sys::Error::failed(fmt::format("list tags of {}: {}", shown_url, libgit2_error()));
    }
    std::vector<std::string> refs(names.strings, names.strings + names.count);
    git_strarray_dispose(&names);

    constexpr std::string_view prefix = "refs/tags/";
    std::vector<GitTag> tags;
    for (const auto& name : refs) {
        if (name.rfind(prefix, 0) != 0) {
            continue;
        }
        GitTag tag;
        tag.name = name.substr(prefix.size());
        if (!valid_tag_name(tag.name)) {
            spdlog::warn("git {}: skipping tag {}: not a name agentd takes", shown_url,
                         sys::quoted(tag.name));
            continue;
        }
        git_reference* raw_ref = nullptr;
        if (git_reference_lookup(&raw_ref, repo.get(), name.c_str()) != 0) {
            continue;  // deleted since listed
        }
        ReferencePtr ref(raw_ref);
        git_object* raw_target = nullptr;
        if (git_reference_type(ref.get()) != GIT_REFERENCE_DIRECT ||
            git_object_lookup(&raw_target, repo.get(), git_reference_target(ref.get()),
                              GIT_OBJECT_ANY) != 0) {
            spdlog::warn("git {}: skipping tag {}: {}", shown_url, tag.name, libgit2_error());
            continue;
        }
        ObjectPtr target(raw_target);
        tag.annotated = git_object_type(target.get()) == GIT_OBJECT_TAG;
        // GIT_OBJECT_ANY peels through tags (also tags of tags) to the first other object.
        ObjectPtr peeled;
        if (tag.annotated) {
            git_object* raw_peeled = nullptr;
            if (git_object_peel(&raw_peeled, target.get(), GIT_OBJECT_ANY) == 0) {
                peeled.reset(raw_peeled);
            }
        }
        const git_object* object = tag.annotated ? peeled.get() : target.get();
        if (object == nullptr || git_object_type(object) != GIT_OBJECT_COMMIT) {
            spdlog::debug("git {}: skipping tag {}: it does not point to a commit", shown_url,
                          tag.name);
            continue;
        }
        tag.commit = git_oid_tostr_s(git_object_id(object));
        tags.push_back(std::move(tag));
    }
    std::sort(tags.begin(), tags.end(),
              [](const GitTag& a, const GitTag& b) { return a.name < b.name; });
    return tags;
}

/// What one check of the remote did.
struct Checked {
    std::chrono::steady_clock::time_point began;
    std::map<std::string, std::string> told;  ///< the advertisement: ref -> commit
    std::set<std::string> tags;               ///< the tags fetched
};

/// One check of the remote: its advertisement, then a download of its tags and, unless
/// `branch_ref` is empty, of that branch (NotFound when the remote does not have it).
sys::Result<Checked> check_remote(git_repository* repo, const config::GitSource& source,
                                  const RemoteUrl& remote_url, const std::string& shown_url,
                                  const std::string& branch_ref) {
    Checked checked{std::chrono::steady_clock::now(), {}, {}};
    auto connection = connect(repo, source, remote_url, shown_url);
    if (!connection) {
        return connection.error();
    }
    auto heads = remote_heads(*connection, shown_url);
    if (!heads) {
        return heads.error();
    }
    auto specs = tag_refspecs(*heads, shown_url, checked.tags);
    if (!branch_ref.empty()) {
        // A refspec naming a missing branch is silently skipped by libgit2: ask first.
        const bool found =
            std::any_of(heads->begin(), heads->end(),
                        [&](const git_remote_head* head) { return branch_ref == head->name; });
        if (!found) {
            return sys::Error::not_found(
                fmt::format("branch {} not found in {}", source.branch, shown_url));
        }
        specs.push_back(fmt::format("+{0}:{0}", branch_ref));
    }
    checked.told = advertised(*heads);  // before the download disconnects (heads die with it)
    if (auto r = download(*connection, specs, shown_url); !r) {
        return r.error();
    }
    return checked;
}

}  // namespace

bool valid_revision(const std::string& revision) {
    return revision.size() == 40 &&
           revision.find_first_not_of("0123456789abcdef") == std::string::npos;
}

LibGit2Source::LibGit2Source(std::filesystem::path state_dir) : m_state_dir(std::move(state_dir)) {
    init_libgit2();
}

std::filesystem::path LibGit2Source::mirror_path(const std::string& url) const {
    return m_state_dir / "git" / sys::sha256_hex(url).substr(0, 16);
}

int LibGit2Source::waiting(const std::string& url) const {
    return ref_checks().waiting(mirror_path(url));
}

sys::Result<std::string> LibGit2Source::fetch(const config::GitSource& source, AskedAt asked) {
    auto remote_url = check_source(source);
    if (!remote_url) {
        return remote_url.error();
    }
    const std::string shown_url = redact_url(source.url);
    if (!valid_branch(source.branch)) {
        return sys::Error::invalid(
            fmt::format("git branch {:?}: not a valid branch name", source.branch));
    }
    const std::string ref = "refs/heads/" + source.branch;
    const auto mirror = mirror_path(source.url);
    auto lock = lock_to_check(mirror);
    if (!lock) {
        return lock.error();
    }

    auto repo = open_mirror(mirror, shown_url);
    if (!repo) {
        return repo.error();
    }
    // Another stack of this repository checked the remote since this poll was asked for: its
    // answer is this one's, when it brought the branch to the mirror.
    if (const auto answered = ref_checks().answered_since(mirror, asked, ref)) {
        git_oid oid;
        if (git_reference_name_to_id(&oid, repo->get(), ref.c_str()) == 0 &&
            *answered == git_oid_tostr_s(&oid)) {
            spdlog::debug("git: {} {}: answered by a check begun since the poll was asked for",
                          shown_url, source.branch);
            return *answered;
        }
    }
    auto checked = check_remote(repo->get(), source, *remote_url, shown_url, ref);
    if (!checked) {
        return checked.error();
    }
    git_oid oid;
    if (git_reference_name_to_id(&oid, repo->get(), ref.c_str()) != 0) {
        return sys::Error::failed(
            fmt::format("fetch {}: {} missing after fetch: {}", shown_url, ref, libgit2_error()));
    }
    ref_checks().succeeded(mirror, checked->began, std::move(checked->told), false);
    return std::string(git_oid_tostr_s(&oid));
}

sys::Result<void> LibGit2Source::fetch_tags_locked(const config::GitSource& source) {
    auto remote_url = check_source(source);
    if (!remote_url) {
        return remote_url.error();
    }
    const std::string shown_url = redact_url(source.url);
    const auto mirror = mirror_path(source.url);
    auto repo = open_mirror(mirror, shown_url);
    if (!repo) {
        return repo.error();
    }
    auto checked = check_remote(repo->get(), source, *remote_url, shown_url, "");
    if (!checked) {
        return checked.error();
    }
    // update_tips never deletes: tags gone from the remote (or refused now) go here.
    if (auto pruned = prune_tags(repo->get(), checked->tags, shown_url); !pruned) {
        return pruned.error();
    }
    ref_checks().succeeded(mirror, checked->began, std::move(checked->told), true);
    return {};
}

sys::Result<std::vector<GitTag>> LibGit2Source::tags(const config::GitSource& source,
                                                     AskedAt asked) {
    // One hold for fetch and listing: the tags listed are the ones this fetch brought.
    const auto mirror = mirror_path(source.url);
    auto lock = lock_to_check(mirror);
    if (!lock) {
        return lock.error();
    }
    if (ref_checks().pruned_since(mirror, asked)) {
        spdlog::debug("git: {}: tags answered by a check begun since the poll was asked for",
                      redact_url(source.url));
    } else if (auto fetched = fetch_tags_locked(source); !fetched) {
        return fetched.error();
    }
    return mirrored_tags(mirror, redact_url(source.url));
}

sys::Result<void> LibGit2Source::checkout(const config::GitSource& source,
                                          const std::string& revision,
                                          const std::filesystem::path& workdir) {
    if (!valid_revision(revision)) {
        return sys::Error::invalid(fmt::format("revision {:?}: expected 40 hex digits", revision));
    }
    const auto path = tree_path(source.path);
    if (!path) {
        return path.error();
    }
    const std::string shown_url = redact_url(source.url);
    const auto mirror = mirror_path(source.url);
    git_oid oid;
    git_oid_fromstr(&oid, revision.c_str());
    // Shared: the checkout reads the mirror's objects, which no fetch changes meanwhile.
    auto lock = MirrorLock::acquire(mirror, MirrorLock::Mode::Shared);
    if (!lock) {
        return lock.error();
    }
    // Everything that can be NotFound is checked in the mirror, before the workdir changes.
    if (auto found = check_revision(mirror, oid, *path, shown_url); !found) {
        return found.error();
    }
    auto repo = open_workdir(workdir, mirror);
    if (!repo) {
        return repo.error();
    }
    git_commit* raw_commit = nullptr;
    git_tree* raw_tree = nullptr;
    if (git_commit_lookup(&raw_commit, repo->get(), &oid) != 0) {
        return sys::Error::failed(
            fmt::format("checkout {} into {}: {}", revision, workdir.string(), libgit2_error()));
    }
    CommitPtr commit(raw_commit);
    if (git_commit_tree(&raw_tree, commit.get()) != 0) {
        return sys::Error::failed(fmt::format("revision {}: {}", revision, libgit2_error()));
    }
    TreePtr tree(raw_tree);

    // FORCE without REMOVE_UNTRACKED: tracked files become exactly the revision's (local edits
    // are overwritten, files deleted since HEAD's tree disappear), while untracked and ignored
    // files stay.
    git_checkout_options options = GIT_CHECKOUT_OPTIONS_INIT;
    options.checkout_strategy = GIT_CHECKOUT_FORCE;
    if (git_checkout_tree(repo->get(), reinterpret_cast<const git_object*>(tree.get()), &options) !=
        0) {
        return sys::Error::failed(
            fmt::format("checkout {} into {}: {}", revision, workdir.string(), libgit2_error()));
    }
    // HEAD's tree is the baseline of the next checkout, so it must follow every checkout.
    if (git_repository_set_head_detached(repo->get(), &oid) != 0) {
        return sys::Error::failed(
            fmt::format("checkout {}: set HEAD: {}", revision, libgit2_error()));
    }
    return {};
}

// --- changed_paths: per-path tree entries of two commits -------------------------------------

namespace {

/// The tree of commit `revision` in the opened mirror.
sys::Result<TreePtr> commit_tree(git_repository* repo, const std::string& revision,
                                 const std::string& shown_url) {
    git_oid oid;
    git_oid_fromstr(&oid, revision.c_str());
    git_commit* raw_commit = nullptr;
    if (const int rc = git_commit_lookup(&raw_commit, repo, &oid); rc != 0) {
        if (rc == GIT_ENOTFOUND) {
            return sys::Error::not_found(
                fmt::format("revision {} not found in the mirror of {}", revision, shown_url));
        }
        return sys::Error::failed(fmt::format("revision {}: {}", revision, libgit2_error()));
    }
    CommitPtr commit(raw_commit);
    git_tree* raw_tree = nullptr;
    if (git_commit_tree(&raw_tree, commit.get()) != 0) {
        return sys::Error::failed(fmt::format("revision {}: {}", revision, libgit2_error()));
    }
    return TreePtr(raw_tree);
}

/// "<mode> <object id>" of `path` in `tree` ("" = the tree itself), or "" when absent.
std::string entry_id(git_tree* tree, const std::string& path) {
    if (path.empty()) {
        return fmt::format("040000 {}", git_oid_tostr_s(git_tree_id(tree)));
    }
    git_tree_entry* raw_entry = nullptr;
    if (git_tree_entry_bypath(&raw_entry, tree, path.c_str()) != 0) {
        return "";
    }
    TreeEntryPtr entry(raw_entry);
    return fmt::format("{:06o} {}", static_cast<unsigned>(git_tree_entry_filemode(entry.get())),
                       git_oid_tostr_s(git_tree_entry_id(entry.get())));
}

}  // namespace

sys::Result<std::set<std::string>> LibGit2Source::changed_paths(
    const config::GitSource& source, const std::string& from, const std::string& to,
    const std::vector<std::string>& paths) {
    for (const auto* revision : {&from, &to}) {
        if (!valid_revision(*revision)) {
            return sys::Error::invalid(
                fmt::format("revision {:?}: expected 40 hex digits", *revision));
        }
    }
    std::vector<std::string> tree_paths;
    for (const auto& path : paths) {
        auto normal = tree_path(path);
        if (!normal) {
            return normal.error();
        }
        tree_paths.push_back(std::move(*normal));
    }
    const std::string shown_url = redact_url(source.url);
    const auto mirror = mirror_path(source.url);
    // Shared: only reads the mirror's objects, which no fetch changes meanwhile.
    auto lock = MirrorLock::acquire(mirror, MirrorLock::Mode::Shared);
    if (!lock) {
        return lock.error();
    }
    git_repository* raw_repo = nullptr;
    if (git_repository_open_ext(&raw_repo, mirror.c_str(),
                                GIT_REPOSITORY_OPEN_NO_SEARCH | GIT_REPOSITORY_OPEN_BARE,
                                nullptr) != 0) {
        return sys::Error::not_found(
            fmt::format("revision {} not found: {} was never fetched", from, shown_url));
    }
    RepoPtr repo(raw_repo);
    auto before = commit_tree(repo.get(), from, shown_url);
    if (!before) {
        return before.error();
    }
    auto after = commit_tree(repo.get(), to, shown_url);
    if (!after) {
        return after.error();
    }
    std::set<std::string> changed;
    for (std::size_t i = 0; i < paths.size(); ++i) {
        if (entry_id(before->get(), tree_paths[i]) != entry_id(after->get(), tree_paths[i])) {
            changed.insert(paths[i]);
        }
    }
    return changed;
}

}  // namespace agentd::sources
