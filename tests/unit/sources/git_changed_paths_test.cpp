// LibGit2Source::changed_paths against real repositories made by git itself (symlinks and
// file modes included), fetched into agentd's mirror as a stack's would be.

#include <unistd.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "agent/sources/git_source.h"
#include "agent/sys/process.h"
#include "tests/unit/temp_dir.h"

namespace unit_sources_git_changed_paths_test {

namespace fs = std::filesystem;
using agentd::sources::LibGit2Source;
using Paths = std::set<std::string>;

namespace {

/// A working repository and a state_dir, removed afterwards; commits go through `git`.
struct Repo {
    agentd::testing::TempDir tmp;
    fs::path dir = tmp.path();
    Repo() { git({"init", "-q", "-b", "main", work().string()}); }
    fs::path work() const { return dir / "work"; }
    fs::path state() const { return dir / "state"; }

    void git(std::vector<std::string> args) const {
        std::vector<std::string> argv{"git",
                                      "-c",
                                      "user.name=T",
                                      "-c",
                                      "user.email=t@example.com",
                                      "-c",
                                      "commit.gpgsign=false"};
        if (fs::exists(work())) {
            argv.insert(argv.end(), {"-C", work().string()});
        }
        argv.insert(argv.end(), args.begin(), args.end());
        agentd::sys::PosixProcessRunner runner;
        auto r = runner.run({.argv = argv, .timeout = std::chrono::seconds(30)});
        REQUIRE(r.ok());
        INFO(r->err);
        REQUIRE(r->success());
    }
    void write(const std::string& path, const std::string& text) const {
        fs::create_directories((work() / path).parent_path());
        std::ofstream(work() / path) << text;
    }
    /// Commits everything in the working tree; returns the commit id.
    std::string commit() const {
        git({"add", "-A"});
        git({"commit", "-q", "--allow-empty", "-m", "c"});
        agentd::sys::PosixProcessRunner runner;
        auto r = runner.run({.argv = {"git", "-C", work().string(), "rev-parse", "HEAD"}});
        REQUIRE(r.ok());
        return r->out.substr(0, 40);
    }
    agentd::config::GitSource source() const {
        agentd::config::GitSource s;
        s.url = work().string();
        s.branch = "main";
        return s;
    }
};

}  // namespace

TEST_CASE("git changed_paths: files, directories and the root, between two commits",
          "[sources][git]") {
    Repo repo;
    repo.write("shop/compose.yaml", "services: {}\n");
    repo.write("blog/compose.yaml", "services: {}\n");
    repo.write("common/web.env", "A=1\n");
    const auto first = repo.commit();
    repo.write("blog/compose.yaml", "services: {web: {image: b}}\n");
    repo.write("common/new.txt", "new\n");
    const auto second = repo.commit();

    LibGit2Source git(repo.state());
    REQUIRE(git.fetch(repo.source()).ok());
    const std::vector<std::string> asked{
        "shop", "shop/compose.yaml", "blog",          "common/web.env", "common",
        "",     "missing/file",      "common/new.txt"};
    auto changed = git.changed_paths(repo.source(), first, second, asked);
    REQUIRE(changed.ok());
    CHECK(*changed == Paths{"blog", "common", "", "common/new.txt"});
    // either direction, and a commit with itself
    CHECK(*git.changed_paths(repo.source(), second, first, asked) == *changed);
    CHECK(git.changed_paths(repo.source(), first, first, asked)->empty());
    // "./" and trailing slashes name the same entry
    CHECK(*git.changed_paths(repo.source(), first, second, {"./blog/", "shop//compose.yaml"}) ==
          Paths{"./blog/"});
}

TEST_CASE("git changed_paths: a deleted file, a mode change and a retargeted symlink change",
          "[sources][git]") {
    Repo repo;
    repo.write("shop/gone.txt", "x\n");
    repo.write("shop/run.sh", "#!/bin/sh\n");
    repo.write("shared/a/nginx.conf", "a\n");
    repo.write("shared/b/nginx.conf", "b\n");
    fs::create_symlink("../shared/a", repo.work() / "shop" / "conf");
    const auto first = repo.commit();
    fs::remove(repo.work() / "shop" / "gone.txt");
    fs::permissions(repo.work() / "shop" / "run.sh", fs::perms::owner_exec, fs::perm_options::add);
    const auto second = repo.commit();
    fs::remove(repo.work() / "shop" / "conf");
    fs::create_symlink("../shared/b", repo.work() / "shop" / "conf");
    const auto third = repo.commit();

    LibGit2Source git(repo.state());
    REQUIRE(git.fetch(repo.source()).ok());
    const std::vector<std::string> asked{"shop/gone.txt", "shop/run.sh", "shop/conf",
                                         "shared/a/nginx.conf", "shop/conf/nginx.conf"};
    CHECK(*git.changed_paths(repo.source(), first, second, asked) ==
          Paths{"shop/gone.txt", "shop/run.sh"});
    // the link changed; a path through it is not looked up (callers ask about the link)
    CHECK(*git.changed_paths(repo.source(), second, third, asked) == Paths{"shop/conf"});
}

TEST_CASE("git changed_paths: unknown revisions are NotFound, malformed input InvalidInput",
          "[sources][git]") {
    Repo repo;
    repo.write("a.txt", "a\n");
    const auto first = repo.commit();
    LibGit2Source git(repo.state());
    const std::string absent(40, 'e');
    // never fetched: no mirror yet
    CHECK(git.changed_paths(repo.source(), first, first, {"a.txt"}).error().is_not_found());
    REQUIRE(git.fetch(repo.source()).ok());
    CHECK(git.changed_paths(repo.source(), first, absent, {"a.txt"}).error().is_not_found());
    CHECK(git.changed_paths(repo.source(), "HEAD", first, {"a.txt"}).error().kind ==
          agentd::sys::Error::Kind::InvalidInput);
    CHECK(git.changed_paths(repo.source(), first, first, {"../etc/passwd"}).error().kind ==
          agentd::sys::Error::Kind::InvalidInput);
    CHECK(git.changed_paths(repo.source(), first, first, {"/etc/passwd"}).error().kind ==
          agentd::sys::Error::Kind::InvalidInput);
}

}  // namespace unit_sources_git_changed_paths_test
