// Hostile names from a git remote: tags agentd must skip without failing the fetch.

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "agent/sources/git_remote.h"
#include "agent/sources/git_source.h"
#include "tests/unit/sources/git_cli.h"
#include "tests/unit/temp_dir.h"

namespace unit_sources_git_hostile_test {

namespace fs = std::filesystem;
using agentd::config::GitSource;
using agentd::sources::LibGit2Source;
using agentd::sources::valid_tag_name;
using agentd::testing::GitCliRemote;
using agentd::testing::run_git;

namespace {

using agentd::testing::TempDir;

/// Tag names a hostile remote may advertise, each refused by valid_tag_name.
const std::vector<std::string>& hostile_tags() {
    static const std::vector<std::string> names = {
        "a..b",
        "-rf",
        "--privileged",
        "-v/:/host",
        "v1\x01",
        "v1\nv2",
        "v1 2",
        "v1\x7f",
        "caf\xc3\xa9",
        "../../etc",
        "/abs",
        "x/",
        "x//y",
        "x.lock",
        "@{0}",
        "a:b",
        std::string(10240, 'v'),
        std::string(256, '1'),
    };
    return names;
}

}  // namespace

TEST_CASE("git tags: the names agentd takes from a remote", "[sources][git]") {
    for (const std::string name :
         {"v1.2.0", "1.0", "release-7", "shop/v1.2.0", "v2.0.0-rc.1+build.5", "_x", "a@b"}) {
        INFO(name);
        CHECK(valid_tag_name(name));
    }
    CHECK(valid_tag_name(std::string(255, 'v')));
    for (const auto& name : hostile_tags()) {
        INFO(name.substr(0, 40));
        CHECK_FALSE(valid_tag_name(name));
    }
    CHECK_FALSE(valid_tag_name(""));
    CHECK_FALSE(valid_tag_name(std::string_view("v1\0x", 4)));
}

TEST_CASE("git tags: hostile names advertised by the remote are skipped, good tags still listed",
          "[sources][git]") {
    TempDir tmp;
    GitCliRemote remote(tmp.path());
    const auto good = remote.release(1, "v1.0.0");
    const auto next = remote.release(2, "v1.1.0");
    // Names libgit2's own file:// transport serves but agentd does not take. git's
    // upload-pack also advertises long names and even "a..b" (tests/e2e/30-hostile-names.sh
    // has them over git://); all go through the same valid_tag_name check.
    const std::vector<std::string> served = {"-rf", "--privileged", "-v1.9.0", "caf\xc3\xa9"};
    for (const auto& name : served) {
        CHECK_FALSE(valid_tag_name(name));
        remote.add_packed_ref("refs/tags/" + name, next);
    }
    LibGit2Source git(tmp.path() / "state");
    GitSource source;
    source.url = "file://" + remote.dir().string();
    source.branch = "main";

    auto tags = git.tags(source);
    INFO((tags.ok() ? std::string() : tags.error().message));
    REQUIRE(tags.ok());
    REQUIRE(tags->size() == 2);
    CHECK((*tags)[0].name == "v1.0.0");
    CHECK((*tags)[0].commit == good);
    CHECK((*tags)[1].name == "v1.1.0");
    CHECK((*tags)[1].commit == next);
    // A branch fetch also brings tags: it must not fail on them either.
    auto head = git.fetch(source);
    REQUIRE(head.ok());
    CHECK(*head == next);
    // Nothing of them reached the mirror.
    const auto mirror_tags =
        run_git({"--git-dir", git.mirror_path(source.url).string(), "tag", "--list"});
    CHECK(mirror_tags == "v1.0.0\nv1.1.0");
}

TEST_CASE("git tags: a tag deleted on the remote leaves the mirror although others are skipped",
          "[sources][git]") {
    TempDir tmp;
    GitCliRemote remote(tmp.path());
    const auto v1 = remote.release(1, "v1.0.0");
    remote.release(2, "v2.0.0");
    LibGit2Source git(tmp.path() / "state");
    GitSource source;
    source.url = remote.dir().string();
    source.branch = "main";
    REQUIRE(git.tags(source)->size() == 2);

    run_git({"--git-dir", remote.dir().string(), "tag", "-d", "v2.0.0"});
    remote.add_packed_ref("refs/tags/-rf", v1);
    auto tags = git.tags(source);
    REQUIRE(tags.ok());
    REQUIRE(tags->size() == 1);
    CHECK((*tags)[0].name == "v1.0.0");
}

}  // namespace unit_sources_git_hostile_test
