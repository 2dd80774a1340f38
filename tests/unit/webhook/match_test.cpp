#include "agent/webhook/match.h"

#include <catch2/catch.hpp>

#include "agent/sources/image_ref.h"

namespace unit_webhook_match_test {

using namespace agentd;
using webhook::Event;
using webhook::EventKind;
using webhook::Target;
using Strings = std::vector<std::string>;

namespace {

Target branch_stack(std::string name, std::string url, std::string branch = "main") {
    Target t;
    t.stack = std::move(name);
    t.git_url = std::move(url);
    t.follow = Target::Follow::Branch;
    t.branch = std::move(branch);
    return t;
}

Target tag_stack(std::string name, std::string url) {
    Target t;
    t.stack = std::move(name);
    t.git_url = std::move(url);
    t.follow = Target::Follow::Tags;
    t.branch = "main";
    return t;
}

Target image_stack(std::string name, const std::vector<std::string>& images) {
    Target t;
    t.stack = std::move(name);
    for (const auto& image : images) {
        auto ref = sources::ImageRef::parse(image);
        REQUIRE(ref.ok());
        t.images.push_back({ref->registry, ref->repository});
    }
    return t;
}

Event push(std::string ref, Strings urls, EventKind kind = EventKind::Push) {
    Event e;
    e.kind = kind;
    e.ref = std::move(ref);
    e.repository_urls = std::move(urls);
    return e;
}

Event package(Strings images) {
    Event e;
    e.kind = EventKind::Package;
    e.images = std::move(images);
    return e;
}

const Strings k_github_urls = {"https://github.com/Acme/Deploy.git",
                               "git@github.com:Acme/Deploy.git", "https://github.com/Acme/Deploy"};

}  // namespace

TEST_CASE("webhook match: a branch push runs the stacks of that repository following that branch",
          "[webhook][match]") {
    const std::vector<Target> targets = {
        branch_stack("shop", "git@github.com:acme/deploy.git"),
        branch_stack("shop-staging", "https://github.com/acme/deploy", "staging"),
        tag_stack("shop-prod", "ssh://git@github.com/acme/deploy"),
        branch_stack("blog", "https://github.com/acme/blog.git"),
        branch_stack("mirror", "https://gitlab.com/acme/deploy.git"),
    };
    CHECK(webhook::match(push("refs/heads/main", k_github_urls), targets) == Strings{"shop"});
    CHECK(webhook::match(push("refs/heads/staging", k_github_urls), targets) ==
          Strings{"shop-staging"});
    // A branch nobody follows, and branch names compared exactly (git's are case-sensitive).
    CHECK(webhook::match(push("refs/heads/feature", k_github_urls), targets).empty());
    CHECK(webhook::match(push("refs/heads/Main", k_github_urls), targets).empty());
    CHECK(webhook::match(push("refs/heads/main/x", k_github_urls), targets).empty());
    // Any one spelling in the event is enough.
    CHECK(webhook::match(push("refs/heads/main", {"git://github.com/acme/deploy.git"}), targets) ==
          Strings{"shop"});
    CHECK(webhook::match(push("refs/heads/main", {"https://github.com/acme/other.git"}), targets)
              .empty());
    CHECK(webhook::match(push("refs/heads/main", {}), targets).empty());
}

TEST_CASE("webhook match: a tag push runs the tag-following stacks of the repository",
          "[webhook][match]") {
    const std::vector<Target> targets = {
        branch_stack("shop", "git@github.com:acme/deploy.git"),
        tag_stack("shop-prod", "https://github.com/ACME/deploy.git"),
        tag_stack("shop-eu", "git@github.com:acme/deploy"),
        tag_stack("blog", "https://github.com/acme/blog.git"),
    };
    const Strings expected = {"shop-prod", "shop-eu"};
    CHECK(webhook::match(push("refs/tags/v1.2.0", k_github_urls, EventKind::TagPush), targets) ==
          expected);
    // A tag the stack's policy will not take still runs it: the cycle judges the policy.
    CHECK(webhook::match(push("refs/tags/nightly", k_github_urls, EventKind::TagPush), targets) ==
          expected);
    // A create event of a tag, or of a branch.
    CHECK(webhook::match(push("refs/tags/v2", k_github_urls, EventKind::Create), targets) ==
          expected);
    CHECK(webhook::match(push("refs/heads/main", k_github_urls, EventKind::Create), targets) ==
          Strings{"shop"});
}

TEST_CASE("webhook match: deletions run the stacks like pushes, other refs run none",
          "[webhook][match]") {
    const std::vector<Target> targets = {branch_stack("shop", "https://github.com/acme/deploy"),
                                         tag_stack("prod", "https://github.com/acme/deploy")};
    Event deleted_tag = push("refs/tags/v1", k_github_urls, EventKind::TagPush);
    deleted_tag.deleted = true;
    CHECK(webhook::match(deleted_tag, targets) == Strings{"prod"});
    Event deleted_branch = push("refs/heads/main", k_github_urls);
    deleted_branch.deleted = true;
    CHECK(webhook::match(deleted_branch, targets) == Strings{"shop"});
    CHECK(webhook::match(push("refs/notes/commits", k_github_urls), targets).empty());
    CHECK(webhook::match(push("refs/pull/1/head", k_github_urls), targets).empty());
    CHECK(webhook::match(push("main", k_github_urls), targets).empty());
}

TEST_CASE("webhook match: a package event runs the stacks using that image repository",
          "[webhook][match]") {
    const std::vector<Target> targets = {
        image_stack("web", {"ghcr.io/acme/web:1.2@sha256:" + std::string(64, 'a')}),
        image_stack("api", {"ghcr.io/acme/api:2", "redis:7"}),
        image_stack("proxy", {"nginx:1.25"}),
        image_stack("local", {"127.0.0.1:5000/acme/web:1"}),
        branch_stack("shop", "https://github.com/acme/web.git"),
    };
    CHECK(webhook::match(package({"ghcr.io/acme/web"}), targets) == Strings{"web"});
    CHECK(webhook::match(package({"GHCR.io/Acme/Web"}), targets) == Strings{"web"});
    CHECK(webhook::match(package({"ghcr.io/acme/api", "ghcr.io/acme/web"}), targets) ==
          Strings{"web", "api"});
    CHECK(webhook::match(package({"ghcr.io/acme/webapp"}), targets).empty());
    CHECK(webhook::match(package({"ghcr.io/other/web"}), targets).empty());
    CHECK(webhook::match(package({"127.0.0.1:5000/acme/web"}), targets) == Strings{"local"});
    // Docker Hub's spellings of one repository.
    for (const char* hub : {"nginx", "docker.io/library/nginx", "index.docker.io/library/nginx",
                            "registry-1.docker.io/library/nginx", "library/nginx"}) {
        INFO(hub);
        CHECK(webhook::match(package({hub}), targets) == Strings{"proxy"});
    }
    CHECK(webhook::match(package({"docker.io/library/redis"}), targets) == Strings{"api"});
    CHECK(webhook::match(package({"docker.io/acme/nginx"}), targets).empty());
    // Names that are no image reference match nothing.
    CHECK(webhook::match(package({"", "not an image", "ghcr.io/"}), targets).empty());
    // A package event does not run a stack by its git repository.
    Event both = package({});
    both.repository_urls = {"https://github.com/acme/web.git"};
    CHECK(webhook::match(both, targets).empty());
}

TEST_CASE("webhook match: dir stacks are matched by images only; ping and others run nothing",
          "[webhook][match]") {
    Target dir = image_stack("dir-stack", {"ghcr.io/acme/web:1"});
    REQUIRE(dir.git_url.empty());
    const std::vector<Target> targets = {dir, branch_stack("shop", "https://github.com/acme/web")};
    CHECK(webhook::match(push("refs/heads/main", {""}), targets).empty());
    CHECK(webhook::match(package({"ghcr.io/acme/web"}), targets) == Strings{"dir-stack"});

    Event ping = push("", {"https://github.com/acme/web"}, EventKind::Ping);
    CHECK(webhook::match(ping, targets).empty());
    Event other = push("refs/heads/main", {"https://github.com/acme/web"}, EventKind::Other);
    other.images = {"ghcr.io/acme/web"};
    CHECK(webhook::match(other, targets).empty());
}

TEST_CASE("webhook match: each stack once, in the order of the targets", "[webhook][match]") {
    const std::vector<Target> targets = {
        branch_stack("b", "https://github.com/acme/deploy"),
        branch_stack("a", "git@github.com:acme/deploy.git"),
        branch_stack("b", "ssh://git@github.com/acme/deploy"),
    };
    CHECK(webhook::match(push("refs/heads/main", k_github_urls), targets) == Strings{"b", "a"});
}

TEST_CASE("webhook match: a target from a configured stack and the images it runs",
          "[webhook][match]") {
    config::Stack git_stack;
    git_stack.name = "shop";
    git_stack.git = config::GitSource{};
    git_stack.git->url = "git@github.com:acme/deploy.git";
    git_stack.git->branch = "release";
    const Target branch =
        webhook::target_for(git_stack, {"ghcr.io/acme/web:1.2.0@sha256:" + std::string(64, 'b'),
                                        "nginx", "ghcr.io/acme/web:1.3.0", "NOT/a/valid:ref!"});
    CHECK(branch.stack == "shop");
    CHECK(branch.git_url == "git@github.com:acme/deploy.git");
    CHECK(branch.follow == Target::Follow::Branch);
    CHECK(branch.branch == "release");
    REQUIRE(branch.images.size() == 2);
    CHECK(branch.images[0].registry == "ghcr.io");
    CHECK(branch.images[0].repository == "acme/web");
    CHECK(branch.images[1].registry == "registry-1.docker.io");
    CHECK(branch.images[1].repository == "library/nginx");

    auto tags = config::TagPolicySpec::make("^1", "");
    REQUIRE(tags.ok());
    git_stack.git->tags = *tags;
    CHECK(webhook::target_for(git_stack, {}).follow == Target::Follow::Tags);

    config::Stack dir_stack;
    dir_stack.name = "local";
    dir_stack.dir = "/srv/stacks/local";
    const Target dir = webhook::target_for(dir_stack, {"redis:7"});
    CHECK(dir.git_url.empty());
    REQUIRE(dir.images.size() == 1);
    CHECK(webhook::match(package({"docker.io/library/redis"}), {dir}) == Strings{"local"});
}

}  // namespace unit_webhook_match_test
