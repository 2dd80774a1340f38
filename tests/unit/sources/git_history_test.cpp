// LibGit2Source::history and ::patch (what `agentctl diff` shows) and ::commit_time (what
// min_age reads) against real repositories made by git itself, fetched into agentd's mirror as
// a stack's would be.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "agent/sources/git_source.h"
#include "tests/unit/sources/git_cli.h"
#include "tests/unit/temp_dir.h"

namespace unit_sources_git_history_test {

namespace fs = std::filesystem;
using agentd::sources::LibGit2Source;
using agentd::testing::run_git;

namespace {

struct Repo {
    agentd::testing::TempDir tmp;
    fs::path work = tmp.path() / "work";
    Repo() { run_git({"init", "-q", "-b", "main", work.string()}); }
    std::string commit(const std::string& path, const std::string& text,
                       const std::string& message) {
        fs::create_directories((work / path).parent_path());
        std::ofstream(work / path) << text;
        run_git({"-C", work.string(), "add", "-A"});
        run_git({"-C", work.string(), "commit", "-q", "-m", message});
        return run_git({"-C", work.string(), "rev-parse", "HEAD"});
    }
    agentd::config::GitSource source() const {
        agentd::config::GitSource s;
        s.url = work.string();
        s.branch = "main";
        return s;
    }
};

}  // namespace

TEST_CASE("git history: the commits between two revisions, newest first, with subjects",
          "[sources][git]") {
    Repo repo;
    const auto one =
        repo.commit("shop/compose.yaml", "services: {web: {image: r/web:1}}\n", "release 1");
    repo.commit("blog/compose.yaml", "services: {}\n", "blog: start");
    const auto three = repo.commit("shop/compose.yaml", "services: {web: {image: r/web:3}}\n",
                                   "release 3\n\nwith a body that is not the subject");
    LibGit2Source git(repo.tmp.path() / "state");
    REQUIRE(git.fetch(repo.source()).ok());
    bool truncated = true;
    auto commits = git.history(repo.source(), one, three, 10, truncated);
    REQUIRE(commits.ok());
    REQUIRE(commits->size() == 2);
    CHECK((*commits)[0].id == three);
    CHECK((*commits)[0].subject == "release 3");
    CHECK((*commits)[1].subject == "blog: start");
    CHECK_FALSE(truncated);
    // from the beginning, limited
    commits = git.history(repo.source(), "", three, 2, truncated);
    REQUIRE(commits.ok());
    CHECK(commits->size() == 2);
    CHECK(truncated);
    // nothing between a revision and itself
    commits = git.history(repo.source(), three, three, 10, truncated);
    REQUIRE(commits.ok());
    CHECK(commits->empty());
    // a revision the mirror lacks, a malformed one
    auto missing = git.history(repo.source(), std::string(40, 'a'), three, 10, truncated);
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().kind == agentd::sys::Error::Kind::NotFound);
    auto bad = git.history(repo.source(), one, "HEAD", 10, truncated);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().kind == agentd::sys::Error::Kind::InvalidInput);
}

TEST_CASE("git patch: a unified diff limited to the stack's directory", "[sources][git]") {
    Repo repo;
    const auto one =
        repo.commit("shop/compose.yaml", "services:\n  web:\n    image: r/web:1\n", "release 1");
    repo.commit("shop-admin/compose.yaml", "services: {}\n", "another stack, same prefix");
    repo.commit("blog/compose.yaml", "services: {}\n", "blog");
    const auto two =
        repo.commit("shop/compose.yaml", "services:\n  web:\n    image: r/web:2\n", "release 2");
    LibGit2Source git(repo.tmp.path() / "state");
    REQUIRE(git.fetch(repo.source()).ok());
    auto patch = git.patch(repo.source(), one, two, "shop");
    REQUIRE(patch.ok());
    CHECK(patch->find("--- a/shop/compose.yaml") != std::string::npos);
    CHECK(patch->find("+++ b/shop/compose.yaml") != std::string::npos);
    CHECK(patch->find("-    image: r/web:1\n+    image: r/web:2\n") != std::string::npos);
    CHECK(patch->find("blog") == std::string::npos);
    CHECK(patch->find("shop-admin") == std::string::npos);
    // the whole tree
    auto all = git.patch(repo.source(), one, two, "");
    REQUIRE(all.ok());
    CHECK(all->find("blog/compose.yaml") != std::string::npos);
    // from nothing: every line added
    auto first = git.patch(repo.source(), "", one, "shop/");
    REQUIRE(first.ok());
    CHECK(first->find("+    image: r/web:1") != std::string::npos);
    // nothing changed there
    auto none = git.patch(repo.source(), two, two, "shop");
    REQUIRE(none.ok());
    CHECK(none->empty());
    CHECK_FALSE(git.patch(repo.source(), one, two, "../x").ok());
}

TEST_CASE("git commit_time: the committer time of a fetched revision", "[sources][git][timing]") {
    Repo repo;
    std::ofstream(repo.work / "compose.yaml") << "services: {}\n";
    agentd::testing::run_git({"-C", repo.work.string(), "add", "-A"});
    // Author and committer times differ: min_age counts from when it was committed.
    agentd::testing::run_git({"-C", repo.work.string(), "commit", "-q", "-m", "release 1"},
                             {{"GIT_AUTHOR_DATE", "2026-01-02T03:04:05Z"},
                              {"GIT_COMMITTER_DATE", "2026-11-30T12:00:00Z"}});
    const auto revision = agentd::testing::run_git({"-C", repo.work.string(), "rev-parse", "HEAD"});
    LibGit2Source git(repo.tmp.path() / "state");
    REQUIRE(git.fetch(repo.source()).ok());
    const auto at = git.commit_time(repo.source(), revision);
    REQUIRE(at.ok());
    CHECK(agentd::sys::format_rfc3339(*at) == "2026-11-30T12:00:00Z");
    const auto missing = git.commit_time(repo.source(), std::string(40, 'b'));
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().kind == agentd::sys::Error::Kind::NotFound);
    const auto bad = git.commit_time(repo.source(), "HEAD");
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().kind == agentd::sys::Error::Kind::InvalidInput);
}

}  // namespace unit_sources_git_history_test
