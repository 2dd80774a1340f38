#include "agent/sources/git_source.h"

#include <git2.h>
#include <malloc.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "agent/sources/git_remote.h"
#include "agent/sys/files.h"
#include "tests/unit/temp_dir.h"

namespace unit_sources_git_source_test {

namespace fs = std::filesystem;
using agentd::config::GitSource;
using agentd::sources::GitTag;
using agentd::sources::LibGit2Source;
using agentd::sys::Error;

namespace {

/// A temporary directory removed afterwards.
using agentd::testing::TempDir;

void check(int rc) {
    if (rc != 0) {
        const git_error* e = git_error_last();
        FAIL("libgit2: " << (e != nullptr ? e->message : "?"));
    }
}

/// A bare repository standing in for the remote, with commits made through libgit2.
class TestRemote {
public:
    explicit TestRemote(const fs::path& dir) : m_dir(dir) {
        git_libgit2_init();
        check(git_repository_init(&m_repo, dir.c_str(), 1));
    }
    ~TestRemote() {
        git_repository_free(m_repo);
        git_libgit2_shutdown();
    }
    const fs::path& dir() const { return m_dir; }

    /// Commits exactly `files` (path -> content) on `branch`, parented on its head if any.
    std::string commit(const std::string& branch, const std::map<std::string, std::string>& files) {
        git_index* index = nullptr;
        check(git_index_new(&index));
        for (const auto& [path, content] : files) {
            git_index_entry entry{};
            entry.path = path.c_str();
            entry.mode = GIT_FILEMODE_BLOB;
            check(git_blob_create_from_buffer(&entry.id, m_repo, content.data(), content.size()));
            check(git_index_add(index, &entry));
        }
        git_oid tree_id;
        check(git_index_write_tree_to(&tree_id, index, m_repo));
        git_index_free(index);
        git_tree* tree = nullptr;
        check(git_tree_lookup(&tree, m_repo, &tree_id));
        git_signature* sig = nullptr;
        check(git_signature_new(&sig, "Test", "test@example.com", 1700000000 + m_serial++, 0));
        const std::string ref = "refs/heads/" + branch;
        git_oid parent_id;
        git_commit* parent = nullptr;
        if (git_reference_name_to_id(&parent_id, m_repo, ref.c_str()) == 0) {
            check(git_commit_lookup(&parent, m_repo, &parent_id));
        }
        const git_commit* parents[] = {parent};
        git_oid id;
        check(git_commit_create(&id, m_repo, ref.c_str(), sig, sig, nullptr, "test commit", tree,
                                parent != nullptr ? 1 : 0, parents));
        git_commit_free(parent);
        git_signature_free(sig);
        git_tree_free(tree);
        return git_oid_tostr_s(&id);
    }

    /// Points `branch` at `commit` (a force push).
    void reset(const std::string& branch, const std::string& commit) {
        git_oid id;
        check(git_oid_fromstr(&id, commit.c_str()));
        git_reference* ref = nullptr;
        check(
            git_reference_create(&ref, m_repo, ("refs/heads/" + branch).c_str(), &id, 1, "reset"));
        git_reference_free(ref);
    }

    void lightweight_tag(const std::string& name, const std::string& commit) {
        git_oid id;
        check(git_oid_fromstr(&id, commit.c_str()));
        git_object* target = nullptr;
        check(git_object_lookup(&target, m_repo, &id, GIT_OBJECT_COMMIT));
        git_oid tag_id;
        check(git_tag_create_lightweight(&tag_id, m_repo, name.c_str(), target, 1));
        git_object_free(target);
    }

    /// An annotated tag object named `name` for `target` (any object id), force-updated.
    void annotated_tag(const std::string& name, const std::string& target_id) {
        git_oid id;
        check(git_oid_fromstr(&id, target_id.c_str()));
        git_object* target = nullptr;
        check(git_object_lookup(&target, m_repo, &id, GIT_OBJECT_ANY));
        git_signature* sig = nullptr;
        check(git_signature_new(&sig, "Test", "test@example.com", 1700000000, 0));
        git_oid tag_id;
        check(git_tag_create(&tag_id, m_repo, name.c_str(), target, sig, "release", 1));
        git_signature_free(sig);
        git_object_free(target);
    }

    void delete_tag(const std::string& name) { check(git_tag_delete(m_repo, name.c_str())); }

    /// The tree id of `commit`.
    std::string tree_of(const std::string& commit) {
        git_oid id;
        check(git_oid_fromstr(&id, commit.c_str()));
        git_commit* c = nullptr;
        check(git_commit_lookup(&c, m_repo, &id));
        std::string out = git_oid_tostr_s(git_commit_tree_id(c));
        git_commit_free(c);
        return out;
    }

private:
    fs::path m_dir;
    git_repository* m_repo = nullptr;
    int m_serial = 0;
};

std::string read(const fs::path& path) {
    auto text = agentd::sys::read_file(path);
    REQUIRE(text.ok());
    return *text;
}

void write(const fs::path& path, const std::string& text) {
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
}

GitSource source_for(const std::string& url, const std::string& branch = "main",
                     const std::string& path = "") {
    GitSource source;
    source.url = url;
    source.branch = branch;
    source.path = path;
    return source;
}

/// A mirror's ref as the test sees it; "" when absent.
std::string mirror_ref(const fs::path& mirror, const std::string& ref) {
    git_repository* repo = nullptr;
    check(git_repository_open_bare(&repo, mirror.c_str()));
    git_oid id;
    std::string out;
    if (git_reference_name_to_id(&id, repo, ref.c_str()) == 0) {
        out = git_oid_tostr_s(&id);
    }
    git_repository_free(repo);
    return out;
}

/// A smart-HTTP "server" on 127.0.0.1 that refuses every request with 401 Basic, recording
/// each request's Authorization header.
class RefusingHttpServer {
public:
    RefusingHttpServer() {
        m_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(m_fd >= 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(m_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        REQUIRE(::listen(m_fd, 8) == 0);
        socklen_t len = sizeof addr;
        REQUIRE(::getsockname(m_fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
        m_port = ntohs(addr.sin_port);
        m_thread = std::thread([this] { serve(); });
    }
    ~RefusingHttpServer() {
        m_stop = true;
        m_thread.join();
        ::close(m_fd);
    }
    int port() const { return m_port; }
    std::vector<std::string> authorizations() {
        std::lock_guard guard(m_mutex);
        return m_authorizations;
    }

private:
    void serve() {
        while (!m_stop) {
            pollfd pfd{m_fd, POLLIN, 0};
            if (::poll(&pfd, 1, 50) <= 0) {
                continue;
            }
            const int client = ::accept(m_fd, nullptr, nullptr);
            if (client < 0) {
                continue;
            }
            std::string request;
            char buffer[4096];
            while (request.find("\r\n\r\n") == std::string::npos) {
                const auto n = ::read(client, buffer, sizeof buffer);
                if (n <= 0) {
                    break;
                }
                request.append(buffer, static_cast<std::size_t>(n));
            }
            std::string authorization;
            if (const auto pos = request.find("Authorization: "); pos != std::string::npos) {
                authorization = request.substr(pos + 15, request.find("\r\n", pos) - pos - 15);
            }
            {
                std::lock_guard guard(m_mutex);
                m_authorizations.push_back(authorization);
            }
            const std::string response =
                "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"git\"\r\n"
                "Content-Length: 0\r\nConnection: close\r\n\r\n";
            (void)!::write(client, response.data(), response.size());
            ::close(client);
        }
    }

    int m_fd = -1;
    int m_port = 0;
    std::atomic<bool> m_stop{false};
    std::mutex m_mutex;
    std::vector<std::string> m_authorizations;
    std::thread m_thread;
};

}  // namespace

TEST_CASE("git: first fetch returns the branch head and checkout writes its files",
          "[sources][git]") {
    TempDir tmp;
    TestRemote remote(tmp.path() / "remote.git");
    const auto head =
        remote.commit("main", {{"shop/compose.yaml", "services: {}\n"}, {"README", "hi"}});
    LibGit2Source git(tmp.path() / "state");
    const auto source = source_for(remote.dir().string(), "main", "shop");

    auto fetched = git.fetch(source);
    REQUIRE(fetched.ok());
    CHECK(*fetched == head);
    CHECK(fs::exists(git.mirror_path(source.url) / "HEAD"));
    CHECK(git.mirror_path(source.url).parent_path() == tmp.path() / "state" / "git");
    CHECK(git.mirror_path(source.url).filename().string().size() == 16);

    const auto workdir = tmp.path() / "stacks" / "shop";
    REQUIRE(git.checkout(source, *fetched, workdir).ok());
    CHECK(read(workdir / "shop" / "compose.yaml") == "services: {}\n");
    CHECK(read(workdir / "README") == "hi");
    // The workdir is a repository a person can inspect: HEAD detached at the revision.
    git_repository* repo = nullptr;
    check(git_repository_open(&repo, workdir.c_str()));
    git_oid head_id;
    check(git_reference_name_to_id(&head_id, repo, "HEAD"));
    CHECK(git_repository_head_detached(repo) == 1);
    CHECK(std::string(git_oid_tostr_s(&head_id)) == head);
    git_repository_free(repo);
}

TEST_CASE("git: a new commit is fetched and checked out; deleted files disappear",
          "[sources][git]") {
    TempDir tmp;
    TestRemote remote(tmp.path() / "remote.git");
    remote.commit("main", {{"compose.yaml", "v1"}, {"old.conf", "x"}, {"conf/gone.txt", "y"}});
    LibGit2Source git(tmp.path() / "state");
    const auto source = source_for(remote.dir().string());
    const auto workdir = tmp.path() / "work";
    auto first = git.fetch(source);
    REQUIRE(first.ok());
    REQUIRE(git.checkout(source, *first, workdir).ok());
    // A local edit to a tracked file is drift: the next checkout replaces it.
    write(workdir / "compose.yaml", "edited by hand");

    const auto second_id = remote.commit("main", {{"compose.yaml", "v2"}, {"new.conf", "z"}});
    auto second = git.fetch(source);
    REQUIRE(second.ok());
    CHECK(*second == second_id);
    CHECK(*second != *first);
    REQUIRE(git.checkout(source, *second, workdir).ok());
    CHECK(read(workdir / "compose.yaml") == "v2");
    CHECK(read(workdir / "new.conf") == "z");
    CHECK_FALSE(fs::exists(workdir / "old.conf"));
    CHECK_FALSE(fs::exists(workdir / "conf" / "gone.txt"));
}

TEST_CASE("git: untracked files and .agentd/ survive checkouts", "[sources][git]") {
    TempDir tmp;
    TestRemote remote(tmp.path() / "remote.git");
    const auto v1 = remote.commit("main", {{"compose.yaml", "v1"}, {".gitignore", "data/\n"}});
    LibGit2Source git(tmp.path() / "state");
    const auto source = source_for(remote.dir().string());
    const auto workdir = tmp.path() / "work";
    REQUIRE(git.checkout(source, *git.fetch(source), workdir).ok());
    write(workdir / ".env", "SECRET=1");
    write(workdir / "data" / "db.sqlite", "rows");
    write(workdir / ".agentd" / "override.yaml", "services: {}");

    const auto v2 = remote.commit("main", {{"compose.yaml", "v2"}});
    REQUIRE(*git.fetch(source) == v2);
    REQUIRE(git.checkout(source, v2, workdir).ok());
    REQUIRE(git.checkout(source, v1, workdir).ok());
    CHECK(read(workdir / "compose.yaml") == "v1");
    CHECK(read(workdir / ".env") == "SECRET=1");
    CHECK(read(workdir / "data" / "db.sqlite") == "rows");
    CHECK(read(workdir / ".agentd" / "override.yaml") == "services: {}");
}

TEST_CASE("git: rollback to an older revision works after newer fetches and a force push",
          "[sources][git]") {
    TempDir tmp;
    TestRemote remote(tmp.path() / "remote.git");
    const auto v1 = remote.commit("main", {{"compose.yaml", "v1"}});
    LibGit2Source git(tmp.path() / "state");
    const auto source = source_for(remote.dir().string());
    const auto workdir = tmp.path() / "work";
    REQUIRE(git.checkout(source, *git.fetch(source), workdir).ok());
    const auto v2 = remote.commit("main", {{"compose.yaml", "v2"}});
    REQUIRE(*git.fetch(source) == v2);
    REQUIRE(git.checkout(source, v2, workdir).ok());
    const auto v3 = remote.commit("main", {{"compose.yaml", "v3"}});
    REQUIRE(*git.fetch(source) == v3);
    REQUIRE(git.checkout(source, v3, workdir).ok());
    // v2 and v3 are no longer reachable from any branch after this.
    remote.reset("main", v1);
    REQUIRE(*git.fetch(source) == v1);

    REQUIRE(git.checkout(source, v2, workdir).ok());
    CHECK(read(workdir / "compose.yaml") == "v2");
    REQUIRE(git.checkout(source, v3, workdir).ok());
    CHECK(read(workdir / "compose.yaml") == "v3");
}

TEST_CASE("git: fetch also mirrors tags", "[sources][git]") {
    TempDir tmp;
    TestRemote remote(tmp.path() / "remote.git");
    const auto v1 = remote.commit("main", {{"compose.yaml", "v1"}});
    remote.lightweight_tag("v1.0.0", v1);
    LibGit2Source git(tmp.path() / "state");
    const auto source = source_for(remote.dir().string());
    REQUIRE(git.fetch(source).ok());
    CHECK(mirror_ref(git.mirror_path(source.url), "refs/tags/v1.0.0") == v1);
}

TEST_CASE("git: a missing branch is NotFound", "[sources][git]") {
    TempDir tmp;
    TestRemote remote(tmp.path() / "remote.git");
    remote.commit("main", {{"compose.yaml", "v1"}});
    LibGit2Source git(tmp.path() / "state");
    auto fetched = git.fetch(source_for(remote.dir().string(), "release"));
    REQUIRE_FALSE(fetched.ok());
    CHECK(fetched.error().kind == Error::Kind::NotFound);
    CHECK(fetched.error().message == "branch release not found in " + remote.dir().string());
}

TEST_CASE("git: a missing path or revision is NotFound and leaves the workdir alone",
          "[sources][git]") {
    TempDir tmp;
    TestRemote remote(tmp.path() / "remote.git");
    const auto v1 = remote.commit("main", {{"shop/compose.yaml", "v1"}, {"file", "f"}});
    LibGit2Source git(tmp.path() / "state");
    const auto good = source_for(remote.dir().string(), "main", "shop");
    const auto workdir = tmp.path() / "work";
    REQUIRE(*git.fetch(good) == v1);
    REQUIRE(git.checkout(good, v1, workdir).ok());

    auto missing = git.checkout(source_for(remote.dir().string(), "main", "web"), v1, workdir);
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().kind == Error::Kind::NotFound);
    CHECK(missing.error().message == "path web not found at revision " + v1);
    // A file is not a directory of compose files.
    auto file = git.checkout(source_for(remote.dir().string(), "main", "file"), v1, workdir);
    CHECK(file.error().kind == Error::Kind::NotFound);

    auto unknown = git.checkout(good, std::string(40, 'a'), workdir);
    REQUIRE_FALSE(unknown.ok());
    CHECK(unknown.error().kind == Error::Kind::NotFound);
    CHECK(read(workdir / "shop" / "compose.yaml") == "v1");
    auto fresh = git.checkout(good, std::string(40, 'a'), tmp.path() / "fresh");
    CHECK(fresh.error().kind == Error::Kind::NotFound);
    CHECK_FALSE(fs::exists(tmp.path() / "fresh"));

    auto bad = git.checkout(good, "HEAD", workdir);
    CHECK(bad.error().kind == Error::Kind::InvalidInput);
    auto escape = git.checkout(source_for(remote.dir().string(), "main", "../x"), v1, workdir);
    CHECK(escape.error().kind == Error::Kind::InvalidInput);
}

TEST_CASE("git: an unreachable remote is Failed", "[sources][git]") {
    TempDir tmp;
    LibGit2Source git(tmp.path() / "state");
    auto absent = git.fetch(source_for((tmp.path() / "no-such-repo.git").string()));
    REQUIRE_FALSE(absent.ok());
    CHECK(absent.error().kind == Error::Kind::Failed);
    CHECK(absent.error().message.find("no repository at") != std::string::npos);

    auto refused = git.fetch(source_for("http://127.0.0.1:1/x.git"));
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().kind == Error::Kind::Failed);
    CHECK(refused.error().message.find("http://127.0.0.1:1/x.git") != std::string::npos);
}

TEST_CASE("git: invalid branch names and URLs are InvalidInput", "[sources][git]") {
    TempDir tmp;
    TestRemote remote(tmp.path() / "remote.git");
    remote.commit("main", {{"compose.yaml", "v1"}});
    LibGit2Source git(tmp.path() / "state");
    for (const std::string branch : {"", "a..b", "-x", "a b", "x.lock", "a~1", "HEAD^"}) {
        auto fetched = git.fetch(source_for(remote.dir().string(), branch));
        REQUIRE_FALSE(fetched.ok());
        CHECK(fetched.error().kind == Error::Kind::InvalidInput);
    }
    CHECK(git.fetch(source_for("")).error().kind == Error::Kind::InvalidInput);
    CHECK(git.fetch(source_for("ftp://example.com/x.git")).error().kind ==
          Error::Kind::InvalidInput);
    CHECK(git.fetch(source_for("/tmp/a\nb")).error().kind == Error::Kind::InvalidInput);
    CHECK_FALSE(fs::exists(tmp.path() / "state" / "git"));
}

TEST_CASE("git: file:// URLs and plain paths both work, each with its own mirror",
          "[sources][git]") {
    TempDir tmp;
    TestRemote remote(tmp.path() / "remote.git");
    const auto v1 = remote.commit("main", {{"compose.yaml", "v1"}});
    LibGit2Source git(tmp.path() / "state");
    const auto by_url = source_for("file://" + remote.dir().string());
    const auto by_path = source_for(remote.dir().string());
    REQUIRE(git.fetch(by_url).ok());
    CHECK(*git.fetch(by_url) == v1);
    CHECK(*git.fetch(by_path) == v1);
    CHECK(git.mirror_path(by_url.url) != git.mirror_path(by_path.url));
    REQUIRE(git.checkout(by_url, v1, tmp.path() / "a").ok());
    REQUIRE(git.checkout(by_path, v1, tmp.path() / "b").ok());
    CHECK(read(tmp.path() / "a" / "compose.yaml") == "v1");
    CHECK(read(tmp.path() / "b" / "compose.yaml") == "v1");
}

TEST_CASE("git: two stacks share one mirror and keep separate workdirs", "[sources][git]") {
    TempDir tmp;
    TestRemote remote(tmp.path() / "remote.git");
    const auto v1 =
        remote.commit("main", {{"shop/compose.yaml", "shop v1"}, {"blog/compose.yaml", "blog v1"}});
    const auto s1 = remote.commit("staging", {{"shop/compose.yaml", "shop s1"}});
    LibGit2Source git(tmp.path() / "state");
    const auto shop = source_for(remote.dir().string(), "main", "shop");
    const auto blog = source_for(remote.dir().string(), "staging", "shop");

    // Fetch from two threads at once: the mirror lock keeps them from failing on ref locks.
    agentd::sys::Result<std::string> a = Error::failed("unset");
    agentd::sys::Result<std::string> b = Error::failed("unset");
    std::thread ta([&] { a = git.fetch(shop); });
    std::thread tb([&] { b = git.fetch(blog); });
    ta.join();
    tb.join();
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK(*a == v1);
    CHECK(*b == s1);
    CHECK(fs::exists(git.mirror_path(shop.url)));
    CHECK(std::count_if(fs::directory_iterator(tmp.path() / "state" / "git"),
                        fs::directory_iterator(),
                        [](const fs::directory_entry& e) { return e.is_directory(); }) == 1);

    REQUIRE(git.checkout(shop, v1, tmp.path() / "shop").ok());
    REQUIRE(git.checkout(blog, s1, tmp.path() / "staging").ok());
    CHECK(read(tmp.path() / "shop" / "shop" / "compose.yaml") == "shop v1");
    CHECK(read(tmp.path() / "staging" / "shop" / "compose.yaml") == "shop s1");
    CHECK_FALSE(fs::exists(tmp.path() / "staging" / "blog"));
}

TEST_CASE("git: refused https credentials are Unauthorized after one attempt, without the token",
          "[sources][git]") {
    TempDir tmp;
    RefusingHttpServer server;
    write(tmp.path() / "token", "tok123\n");
    LibGit2Source git(tmp.path() / "state");
    auto source = source_for(fmt::format("http://127.0.0.1:{}/acme/deploy.git", server.port()));
    source.credentials.password_file = tmp.path() / "token";

    auto fetched = git.fetch(source);
    REQUIRE_FALSE(fetched.ok());
    CHECK(fetched.error().kind == Error::Kind::Unauthorized);
    CHECK(fetched.error().message.find("tok123") == std::string::npos);
    const auto seen = server.authorizations();
    // One request without credentials, one with them, then libgit2 must stop asking.
    REQUIRE(seen.size() == 2);
    CHECK(seen[0].empty());
    // base64("x-access-token:tok123"): the default user name and the trimmed token.
    CHECK(seen[1] == "Basic eC1hY2Nlc3MtdG9rZW46dG9rMTIz");
}

TEST_CASE("git: a remote asking for credentials when none are configured is Unauthorized",
          "[sources][git]") {
    TempDir tmp;
    RefusingHttpServer server;
    LibGit2Source git(tmp.path() / "state");
    auto fetched =
        git.fetch(source_for(fmt::format("http://127.0.0.1:{}/acme/deploy.git", server.port())));
    REQUIRE_FALSE(fetched.ok());
    CHECK(fetched.error().kind == Error::Kind::Unauthorized);
    CHECK(server.authorizations().size() == 1);
}

TEST_CASE("git: credentials are never sent over plain http to a remote host", "[sources][git]") {
    TempDir tmp;
    write(tmp.path() / "token", "tok123");
    LibGit2Source git(tmp.path() / "state");
    auto source = source_for("http://git.example.com/acme/deploy.git");
    source.credentials.password_file = tmp.path() / "token";
    auto fetched = git.fetch(source);
    REQUIRE_FALSE(fetched.ok());
    CHECK(fetched.error().kind == Error::Kind::InvalidInput);
}

namespace {

/// "name commit annotated" lines, so a failing CHECK shows the whole list.
std::vector<std::string> describe(const std::vector<GitTag>& tags) {
    std::vector<std::string> out;
    for (const auto& tag : tags) {
        out.push_back(fmt::format("{} {} {}", tag.name, tag.commit, tag.annotated ? "a" : "l"));
    }
    return out;
}

}  // namespace

TEST_CASE("git: tags lists lightweight and annotated tags peeled to their commits",
          "[sources][git]") {
    TempDir tmp;
    TestRemote remote(tmp.path() / "remote.git");
    const auto v1 = remote.commit("main", {{"compose.yaml", "v1"}});
    const auto v2 = remote.commit("main", {{"compose.yaml", "v2"}});
    remote.lightweight_tag("v1.0.0", v1);  // on an older commit
    remote.annotated_tag("v2.0.0", v2);
    remote.annotated_tag("tree-tag", remote.tree_of(v2));  // not a commit: skipped
    LibGit2Source git(tmp.path() / "state");
    // A branch that does not exist: tags need none.
    const auto source = source_for(remote.dir().string(), "no-such-branch");

    const auto tags = git.tags(source);
    REQUIRE(tags.ok());
    CHECK(describe(*tags) ==
          std::vector<std::string>{"v1.0.0 " + v1 + " l", "v2.0.0 " + v2 + " a"});
    // The tagged commits are in the mirror: both can be checked out without a branch fetch.
    REQUIRE(git.checkout(source, v1, tmp.path() / "work").ok());
    CHECK(read(tmp.path() / "work" / "compose.yaml") == "v1");
    REQUIRE(git.checkout(source, v2, tmp.path() / "work").ok());
    CHECK(read(tmp.path() / "work" / "compose.yaml") == "v2");
}

TEST_CASE("git: a tag moved on the remote is seen moved and a deleted tag disappears",
          "[sources][git]") {
    TempDir tmp;
    TestRemote remote(tmp.path() / "remote.git");
    const auto v1 = remote.commit("main", {{"compose.yaml", "v1"}});
    remote.lightweight_tag("stable", v1);
    remote.annotated_tag("v1.0.0", v1);
    remote.lightweight_tag("rc", v1);
    LibGit2Source git(tmp.path() / "state");
    const auto source = source_for(remote.dir().string());
    auto tags = git.tags(source);
    REQUIRE(tags.ok());
    REQUIRE(tags->size() == 3);

    const auto v2 = remote.commit("main", {{"compose.yaml", "v2"}});
    remote.lightweight_tag("stable", v2);  // force-moved
    remote.annotated_tag("v1.0.0", v2);    // an annotated tag re-created elsewhere
    remote.delete_tag("rc");
    // fetch() mirrors tags without pruning; tags() must still see the deletion.
    REQUIRE(git.fetch(source).ok());
    tags = git.tags(source);
    REQUIRE(tags.ok());
    CHECK(describe(*tags) ==
          std::vector<std::string>{"stable " + v2 + " l", "v1.0.0 " + v2 + " a"});
    CHECK(mirror_ref(git.mirror_path(source.url), "refs/tags/rc").empty());
    // Branches are never pruned by a tag fetch.
    CHECK(mirror_ref(git.mirror_path(source.url), "refs/heads/main") == v2);
}

TEST_CASE("git: tags of a repository without tags is empty, errors as fetch", "[sources][git]") {
    TempDir tmp;
    TestRemote remote(tmp.path() / "remote.git");
    remote.commit("main", {{"compose.yaml", "v1"}});
    LibGit2Source git(tmp.path() / "state");
    auto tags = git.tags(source_for(remote.dir().string()));
    REQUIRE(tags.ok());
    CHECK(tags->empty());

    tags = git.tags(source_for((tmp.path() / "missing.git").string()));
    REQUIRE_FALSE(tags.ok());
    CHECK(tags.error().kind == Error::Kind::Failed);
    tags = git.tags(source_for("ftp://example.com/x.git"));
    REQUIRE_FALSE(tags.ok());
    CHECK(tags.error().kind == Error::Kind::InvalidInput);
}

TEST_CASE("git: url.<base>.insteadOf in the mirror's config rewrites the URL, longest match wins",
          "[sources][git]") {
    TempDir tmp;
    TestRemote remote(tmp.path() / "remote.git");
    const auto head = remote.commit("main", {{"compose.yaml", "v1"}});
    LibGit2Source git(tmp.path() / "state");
    // Nothing answers at agentd.invalid: only the rewrite makes this fetch work.
    const auto source = source_for("https://agentd.invalid/deploy.git");
    git_repository* raw = nullptr;
    check(git_repository_init(&raw, git.mirror_path(source.url).c_str(), 1));
    git_config* config = nullptr;
    check(git_repository_config(&config, raw));
    check(git_config_set_string(config, "url.https://wrong.invalid/.insteadOf",
                                "https://agentd.invalid/"));
    check(git_config_set_string(config,
                                ("url.file://" + remote.dir().string() + ".insteadOf").c_str(),
                                "https://agentd.invalid/deploy.git"));
    git_config_free(config);
    git_repository_free(raw);

    auto fetched = git.fetch(source);
    REQUIRE(fetched.ok());
    CHECK(*fetched == head);
}

TEST_CASE("git: repeated fetches do not grow the heap", "[sources][git]") {
    // libgit2 1.5 leaked ~20 KB per configuration entry on every remote it created (its
    // insteadOf lookup), hundreds of KB per poll; LibGit2Source must not trigger that path.
    TempDir tmp;
    TestRemote remote(tmp.path() / "remote.git");
    remote.commit("main", {{"compose.yaml", "v1"}});
    LibGit2Source git(tmp.path() / "state");
    const auto source = source_for(remote.dir().string());
    REQUIRE(git.fetch(source).ok());  // creates the mirror and warms up libgit2's caches
    const auto in_use = [] {
        const struct mallinfo2 info = ::mallinfo2();
        return info.uordblks + info.hblkhd;
    };
    const std::size_t before = in_use();
    for (int i = 0; i < 30; ++i) {
        REQUIRE(git.fetch(source).ok());
    }
    // The leak made this about 30 x 2 x (entries in the mirror's config) x 20 KB, over 2 MB.
    CHECK(in_use() < before + 512 * 1024);
}

}  // namespace unit_sources_git_source_test
