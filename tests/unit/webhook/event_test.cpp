#include "agent/webhook/event.h"

#include <catch2/catch.hpp>

namespace unit_webhook_event_test {

using namespace agentd;
using webhook::EventKind;
using webhook::Headers;
using webhook::Provider;
using Strings = std::vector<std::string>;

// Fixtures: the fields agentd reads, with the shapes and spellings of the forges' documented
// examples (octokit/webhooks' payload-examples for GitHub, Gitea's structs and docs, GitLab's
// webhook events page), trimmed to what matters and written for these tests.

namespace {

const std::string k_github_push = R"({
  "ref": "refs/heads/main",
  "before": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
  "after": "0000000000000000000000000000000000000001",
  "created": false,
  "deleted": false,
  "forced": false,
  "repository": {
    "full_name": "Acme/Deploy",
    "html_url": "https://github.com/Acme/Deploy",
    "git_url": "git://github.com/Acme/Deploy.git",
    "ssh_url": "git@github.com:Acme/Deploy.git",
    "clone_url": "https://github.com/Acme/Deploy.git",
    "svn_url": "https://github.com/Acme/Deploy",
    "url": "https://github.com/Acme/Deploy",
    "owner": {"login": "Acme", "name": "Acme"}
  },
  "pusher": {"name": "octocat"},
  "commits": [{"id": "0000000000000000000000000000000000000001", "message": "release"}]
})";

webhook::Event parsed(Provider provider, const Headers& headers, const std::string& body) {
    auto event = webhook::parse_event(provider, headers, body);
    INFO((event.ok() ? std::string() : event.error().message));
    REQUIRE(event.ok());
    return *event;
}

std::string refused(Provider provider, const Headers& headers, const std::string& body) {
    auto event = webhook::parse_event(provider, headers, body);
    REQUIRE_FALSE(event.ok());
    CHECK(event.error().kind == sys::Error::Kind::InvalidInput);
    return event.error().message;
}

}  // namespace

TEST_CASE("webhook event: a GitHub branch push names the ref and every spelling of the repository",
          "[webhook][event]") {
    const auto event = parsed(
        Provider::GitHub,
        {{"X-GitHub-Event", "push"}, {"X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"}},
        k_github_push);
    CHECK(event.provider == Provider::GitHub);
    CHECK(event.kind == EventKind::Push);
    CHECK(event.name == "push");
    CHECK(event.delivery == "72d3162e-cc78-11e3-81ab-4c9367dc0958");
    CHECK(event.ref == "refs/heads/main");
    CHECK_FALSE(event.deleted);
    CHECK(event.repository_urls ==
          Strings{"https://github.com/Acme/Deploy.git", "git@github.com:Acme/Deploy.git",
                  "git://github.com/Acme/Deploy.git", "https://github.com/Acme/Deploy"});
    CHECK(event.images.empty());
}

TEST_CASE("webhook event: a GitHub push of a tag is a tag push; a deletion says so",
          "[webhook][event]") {
    const std::string tag_push = R"({"ref": "refs/tags/v1.2.0", "deleted": false,
        "repository": {"clone_url": "https://github.com/acme/deploy.git"}})";
    const auto tag = parsed(Provider::GitHub, {{"X-GitHub-Event", "push"}}, tag_push);
    CHECK(tag.kind == EventKind::TagPush);
    CHECK(tag.ref == "refs/tags/v1.2.0");
    CHECK(tag.delivery.empty());

    const std::string deletion = R"({"ref": "refs/heads/old", "deleted": true,
        "after": "0000000000000000000000000000000000000000",
        "repository": {"clone_url": "https://github.com/acme/deploy.git"}})";
    const auto deleted = parsed(Provider::GitHub, {{"X-GitHub-Event", "push"}}, deletion);
    CHECK(deleted.kind == EventKind::Push);
    CHECK(deleted.deleted);
}

TEST_CASE("webhook event: GitHub's and Gitea's create events give full refs by ref_type",
          "[webhook][event]") {
    const std::string tag = R"({"ref": "v2.0.0", "ref_type": "tag", "master_branch": "main",
        "repository": {"clone_url": "https://github.com/acme/deploy.git",
                       "ssh_url": "git@github.com:acme/deploy.git"}})";
    const auto github = parsed(Provider::GitHub, {{"X-GitHub-Event", "create"}}, tag);
    CHECK(github.kind == EventKind::Create);
    CHECK(github.ref == "refs/tags/v2.0.0");
    CHECK(github.repository_urls.size() == 2);

    const std::string branch = R"({"sha": "abc", "ref": "release/2", "ref_type": "branch",
        "repository": {"clone_url": "https://git.example.com/acme/deploy.git",
                       "ssh_url": "ssh://git@git.example.com:2222/acme/deploy.git",
                       "html_url": "https://git.example.com/acme/deploy"}})";
    const auto gitea = parsed(Provider::Gitea, {{"X-Gitea-Event", "create"}}, branch);
    CHECK(gitea.kind == EventKind::Create);
    CHECK(gitea.ref == "refs/heads/release/2");
    CHECK(gitea.repository_urls == Strings{"https://git.example.com/acme/deploy.git",
                                           "ssh://git@git.example.com:2222/acme/deploy.git",
                                           "https://git.example.com/acme/deploy"});

    CHECK(refused(Provider::GitHub, {{"X-GitHub-Event", "create"}},
                  R"({"ref": "x", "ref_type": "repository"})") ==
          "ref_type is neither \"branch\" nor \"tag\"");
    CHECK(refused(Provider::GitHub, {{"X-GitHub-Event", "create"}}, R"({"ref": "x"})") ==
          "ref_type is missing");
}

TEST_CASE("webhook event: GHCR package events name the image repository in lower case",
          "[webhook][event]") {
    // As GitHub sends a container package published to ghcr.io (the `package` event; the
    // `registry_package` event has the same object under its own key).
    const std::string body = R"({
      "action": "published",
      "package": {
        "id": 10696,
        "name": "Web",
        "namespace": "Acme",
        "ecosystem": "CONTAINER",
        "package_type": "CONTAINER",
        "owner": {"login": "Acme", "type": "Organization"},
        "package_version": {
          "version": "sha256:3da1996a8115d7616457760d9920b815241d0a03b34cf5f04e9a0e9d8de37498",
          "container_metadata": {"tag": {"name": "1.4.0", "digest": "sha256:3da1"}},
          "package_url": "ghcr.io/Acme/Web:1.4.0"
        },
        "registry": {"name": "GitHub CONTAINER registry", "type": "CONTAINER",
                     "url": "https://ghcr.io/Acme"}
      },
      "repository": {"clone_url": "https://github.com/acme/web.git"}
    })";
    const auto package = parsed(Provider::GitHub, {{"X-GitHub-Event", "package"}}, body);
    CHECK(package.kind == EventKind::Package);
    CHECK(package.images == Strings{"ghcr.io/acme/web"});
    CHECK(package.repository_urls.empty());
    CHECK(package.ref.empty());

    std::string registry_package = body;
    registry_package.replace(registry_package.find("\"package\": {"), 12,
                             "\"registry_package\": {");
    const auto legacy =
        parsed(Provider::GitHub, {{"X-GitHub-Event", "registry_package"}}, registry_package);
    CHECK(legacy.kind == EventKind::Package);
    CHECK(legacy.images == Strings{"ghcr.io/acme/web"});
}

TEST_CASE("webhook event: a package's every spelling is kept, and the package_url's host wins",
          "[webhook][event]") {
    // octokit's example mixes a namespace "Codertocat/hello-world" with a package_url of
    // ghcr.io/Codertocat/hello-world and a name hello-world-npm: every spelling is kept (a
    // wrong one can only cause an extra poll).
    const std::string octokit_like = R"({"action": "published", "package": {
        "name": "hello-world-npm", "namespace": "Codertocat/hello-world",
        "ecosystem": "docker", "package_type": "npm",
        "owner": {"login": "Codertocat"},
        "package_version": {"package_url": "ghcr.io/Codertocat/hello-world:"}}})";
    const auto mixed = parsed(Provider::GitHub, {{"X-GitHub-Event", "package"}}, octokit_like);
    CHECK(mixed.images == Strings{"ghcr.io/codertocat/hello-world",
                                  "ghcr.io/codertocat/hello-world-npm",
                                  "ghcr.io/codertocat/hello-world/hello-world-npm"});

    // GitHub Enterprise Server serves containers at containers.HOST.
    const std::string ghes = R"({"package": {"name": "api", "package_type": "container",
        "owner": {"login": "team"},
        "package_version": {"package_url": "containers.git.corp.example/team/api@sha256:00"}}})";
    const auto enterprise = parsed(Provider::GitHub, {{"X-GitHub-Event", "package"}}, ghes);
    REQUIRE_FALSE(enterprise.images.empty());
    CHECK(enterprise.images.front() == "containers.git.corp.example/team/api");
}

TEST_CASE("webhook event: packages that are not container images name no image",
          "[webhook][event]") {
    const std::string npm = R"({"action": "published", "package": {"name": "lib",
        "ecosystem": "npm", "package_type": "npm", "owner": {"login": "acme"},
        "package_version": {"package_url": "npm.pkg.github.com/@acme/lib@1.0.0"},
        "registry": {"type": "npm"}}})";
    const auto event = parsed(Provider::GitHub, {{"X-GitHub-Event", "package"}}, npm);
    CHECK(event.kind == EventKind::Package);
    CHECK(event.images.empty());

    CHECK(refused(Provider::GitHub, {{"X-GitHub-Event", "package"}}, R"({"action": "x"})") ==
          "package is missing");
    CHECK(refused(Provider::GitHub, {{"X-GitHub-Event", "registry_package"}},
                  R"({"registry_package": []})") == "registry_package is not an object");
    CHECK(refused(Provider::GitHub, {{"X-GitHub-Event", "package"}},
                  R"({"package": {"package_type": 3}})") == "package.package_type is not a string");
}

TEST_CASE("webhook event: a Gitea container package is named on the instance's own host",
          "[webhook][event]") {
    const std::string body = R"({"action": "created", "package": {
        "id": 3, "type": "container", "name": "Shop", "version": "2.1.0",
        "owner": {"login": "Acme"},
        "html_url": "https://git.example.com:3000/Acme/-/packages/container/Shop/2.1.0"},
        "sender": {"login": "ci"}})";
    const auto event = parsed(Provider::Gitea,
                              {{"X-Gitea-Event", "package"}, {"X-Gitea-Delivery", "a-b-c"}}, body);
    CHECK(event.kind == EventKind::Package);
    CHECK(event.delivery == "a-b-c");
    CHECK(event.images == Strings{"git.example.com:3000/acme/shop"});

    const std::string generic = R"({"action": "created", "package": {"type": "generic",
        "name": "tool", "owner": {"login": "acme"},
        "html_url": "https://git.example.com/acme/-/packages/generic/tool/1"}})";
    CHECK(parsed(Provider::Gitea, {{"X-Gitea-Event", "package"}}, generic).images.empty());
}

TEST_CASE("webhook event: Forgejo's own header names are read for the Gitea route",
          "[webhook][event]") {
    const std::string body = R"({"ref": "refs/heads/main",
        "repository": {"clone_url": "https://codeberg.org/acme/deploy.git"}})";
    const auto event =
        parsed(Provider::Gitea, {{"X-Forgejo-Event", "push"}, {"X-Forgejo-Delivery", "d1"}}, body);
    CHECK(event.kind == EventKind::Push);
    CHECK(event.delivery == "d1");
    CHECK(event.repository_urls == Strings{"https://codeberg.org/acme/deploy.git"});
    CHECK(refused(Provider::Gitea, {{"X-GitHub-Event", "push"}}, body) ==
          "X-Gitea-Event is missing");
}

TEST_CASE("webhook event: GitLab push and tag push hooks, and system hooks by their body",
          "[webhook][event]") {
    const std::string push = R"({
      "object_kind": "push", "event_name": "push",
      "before": "95790bf891e76fee5e1747ab589903a6a1f80f22",
      "after": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
      "ref": "refs/heads/main",
      "project": {
        "path_with_namespace": "acme/platform/deploy",
        "web_url": "https://gitlab.example.com/acme/platform/deploy",
        "git_ssh_url": "git@gitlab.example.com:acme/platform/deploy.git",
        "git_http_url": "https://gitlab.example.com/acme/platform/deploy.git",
        "ssh_url": "git@gitlab.example.com:acme/platform/deploy.git",
        "http_url": "https://gitlab.example.com/acme/platform/deploy.git"
      },
      "repository": {
        "url": "git@gitlab.example.com:acme/platform/deploy.git",
        "homepage": "https://gitlab.example.com/acme/platform/deploy",
        "git_http_url": "https://gitlab.example.com/acme/platform/deploy.git",
        "git_ssh_url": "git@gitlab.example.com:acme/platform/deploy.git"
      }
    })";
    const auto event = parsed(Provider::GitLab,
                              {{"X-Gitlab-Event", "Push Hook"},
                               {"X-Gitlab-Event-UUID", "13792a34-cac6-4fda-95a8-c58e00a3954e"}},
                              push);
    CHECK(event.kind == EventKind::Push);
    CHECK(event.ref == "refs/heads/main");
    CHECK(event.delivery == "13792a34-cac6-4fda-95a8-c58e00a3954e");
    CHECK_FALSE(event.deleted);
    CHECK(event.repository_urls == Strings{"https://gitlab.example.com/acme/platform/deploy.git",
                                           "git@gitlab.example.com:acme/platform/deploy.git",
                                           "https://gitlab.example.com/acme/platform/deploy"});

    // Idempotency-Key (GitLab 17.4+) is the same across retries: it is the delivery id.
    const auto retried = parsed(
        Provider::GitLab,
        {{"X-Gitlab-Event", "Push Hook"}, {"X-Gitlab-Event-UUID", "e1"}, {"Idempotency-Key", "k1"}},
        push);
    CHECK(retried.delivery == "k1");

    const std::string tag_push = R"({"object_kind": "tag_push", "event_name": "tag_push",
        "ref": "refs/tags/v1.0.0", "after": "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7",
        "project": {"git_http_url": "https://gitlab.example.com/acme/deploy.git"}})";
    const auto tag = parsed(Provider::GitLab, {{"X-Gitlab-Event", "Tag Push Hook"}}, tag_push);
    CHECK(tag.kind == EventKind::TagPush);
    CHECK(tag.ref == "refs/tags/v1.0.0");

    const std::string deleted_tag = R"({"object_kind": "tag_push", "ref": "refs/tags/v0.9",
        "after": "0000000000000000000000000000000000000000",
        "project": {"git_http_url": "https://gitlab.example.com/acme/deploy.git"}})";
    CHECK(parsed(Provider::GitLab, {{"X-Gitlab-Event", "Tag Push Hook"}}, deleted_tag).deleted);

    const auto system = parsed(Provider::GitLab, {{"X-Gitlab-Event", "System Hook"}}, tag_push);
    CHECK(system.kind == EventKind::TagPush);
    const auto merge = parsed(Provider::GitLab, {{"X-Gitlab-Event", "System Hook"}},
                              R"({"object_kind": "merge_request", "event_name": "merge_request"})");
    CHECK(merge.kind == EventKind::Other);
}

TEST_CASE("webhook event: ping and events agentd does not act on name nothing to deploy",
          "[webhook][event]") {
    const std::string ping = R"({"zen": "Design for failure.", "hook_id": 1,
        "hook": {"type": "Repository", "events": ["push"]},
        "repository": {"clone_url": "https://github.com/acme/deploy.git"}})";
    const auto pinged = parsed(Provider::GitHub, {{"X-GitHub-Event", "ping"}}, ping);
    CHECK(pinged.kind == EventKind::Ping);
    CHECK(pinged.repository_urls == Strings{"https://github.com/acme/deploy.git"});
    // An organisation's hook pings without a repository.
    CHECK(parsed(Provider::GitHub, {{"X-GitHub-Event", "ping"}}, R"({"zen": "z"})").kind ==
          EventKind::Ping);

    for (const auto& [provider, header, name] :
         std::vector<std::tuple<Provider, std::string, std::string>>{
             {Provider::GitHub, "X-GitHub-Event", "issues"},
             {Provider::GitHub, "X-GitHub-Event", "pull_request"},
             {Provider::Gitea, "X-Gitea-Event", "delete"},
             {Provider::GitLab, "X-Gitlab-Event", "Merge Request Hook"},
             {Provider::GitLab, "X-Gitlab-Event", "Pipeline Hook"},
         }) {
        INFO(name);
        // Fields of another event's shape are not read: a "ref" that is not a string is fine.
        const auto other = parsed(provider, {{header, name}}, R"({"ref": 42})");
        CHECK(other.kind == EventKind::Other);
        CHECK(other.repository_urls.empty());
        CHECK(other.images.empty());
    }
}

TEST_CASE("webhook event: missing or malformed headers are refused naming the header",
          "[webhook][event]") {
    CHECK(refused(Provider::GitHub, {}, k_github_push) == "X-GitHub-Event is missing");
    CHECK(refused(Provider::GitLab, {{"X-Gitlab-Token", "t"}}, "{}") ==
          "X-Gitlab-Event is missing");
    CHECK(refused(Provider::GitHub, {{"X-GitHub-Event", ""}}, k_github_push) ==
          "X-GitHub-Event is not an event name");
    CHECK(refused(Provider::GitHub, {{"X-GitHub-Event", "push\nforged: 1"}}, k_github_push) ==
          "X-GitHub-Event is not an event name");
    CHECK(refused(Provider::GitHub, {{"X-GitHub-Event", std::string(65, 'p')}}, k_github_push) ==
          "X-GitHub-Event is not an event name");
    CHECK(refused(Provider::GitHub, {{"X-GitHub-Event", "push"}, {"X-GitHub-Delivery", "a b"}},
                  k_github_push) == "X-GitHub-Delivery is not a delivery id");
    CHECK(refused(Provider::GitHub,
                  {{"X-GitHub-Event", "push"}, {"X-GitHub-Delivery", std::string(129, 'a')}},
                  k_github_push) == "X-GitHub-Delivery is not a delivery id");
    CHECK(refused(Provider::GitHub, {{"X-GitHub-Event", "push"}, {"X-GitHub-Delivery", ""}},
                  k_github_push) == "X-GitHub-Delivery is not a delivery id");
    CHECK(parsed(Provider::GitHub,
                 {{"x-github-event", "push"}, {"x-github-delivery", std::string(128, 'a')}},
                 k_github_push)
              .delivery.size() == 128);
}

TEST_CASE("webhook event: malformed bodies are refused naming the field", "[webhook][event]") {
    const Headers push = {{"X-GitHub-Event", "push"}};
    CHECK(refused(Provider::GitHub, push, "") == "body is not valid JSON (at byte 1)");
    CHECK(refused(Provider::GitHub, push, "{\"ref\": ") == "body is not valid JSON (at byte 9)");
    CHECK(refused(Provider::GitHub, push, "[1, 2]") == "body is not a JSON object");
    CHECK(refused(Provider::GitHub, push, "{}") == "ref is missing");
    CHECK(refused(Provider::GitHub, push, R"({"ref": ""})") == "ref is missing");
    CHECK(refused(Provider::GitHub, push, R"({"ref": ["refs/heads/main"]})") ==
          "ref is not a string");
    CHECK(refused(Provider::GitHub, push, R"({"ref": "refs/heads/a\nb"})") ==
          "ref contains control characters");
    CHECK(refused(Provider::GitHub, push, R"({"ref": "refs/heads/main", "deleted": "no"})") ==
          "deleted is not a boolean");
    CHECK(refused(Provider::GitHub, push, R"({"ref": "refs/heads/main", "repository": "x"})") ==
          "repository is not an object");
    CHECK(refused(Provider::GitHub, push,
                  R"({"ref": "refs/heads/main", "repository": {"clone_url": 1}})") ==
          "repository.clone_url is not a string");
    const std::string long_url = "https://github.com/" + std::string(2100, 'a');
    CHECK(refused(Provider::GitHub, push,
                  R"({"ref": "refs/heads/main", "repository": {"ssh_url": ")" + long_url +
                      "\"}}") == "repository.ssh_url is longer than 2048 bytes");
    CHECK(refused(Provider::GitLab, {{"X-Gitlab-Event", "Push Hook"}},
                  R"({"ref": "refs/heads/main", "project": {"git_ssh_url": false}})") ==
          "project.git_ssh_url is not a string");
    // Malformed JSON is refused whatever the event.
    CHECK(refused(Provider::GitHub, {{"X-GitHub-Event", "issues"}}, "{") ==
          "body is not valid JSON (at byte 2)");
}

TEST_CASE("webhook event: kinds have stable names for logs", "[webhook][event]") {
    CHECK(webhook::to_string(EventKind::Push) == "push");
    CHECK(webhook::to_string(EventKind::TagPush) == "tag_push");
    CHECK(webhook::to_string(EventKind::Create) == "create");
    CHECK(webhook::to_string(EventKind::Package) == "package");
    CHECK(webhook::to_string(EventKind::Ping) == "ping");
    CHECK(webhook::to_string(EventKind::Other) == "other");
    CHECK(webhook::provider_named("github") == Provider::GitHub);
    CHECK(webhook::provider_named("gitea") == Provider::Gitea);
    CHECK(webhook::provider_named("gitlab") == Provider::GitLab);
    CHECK_FALSE(webhook::provider_named("GitHub"));
    CHECK_FALSE(webhook::provider_named("bitbucket"));
    CHECK(webhook::to_string(Provider::Gitea) == "gitea");
}

TEST_CASE("webhook event: the log line names the delivery and quotes what the body named",
          "[webhook][event]") {
    const auto push =
        parsed(Provider::GitHub, {{"X-GitHub-Event", "push"}, {"X-GitHub-Delivery", "72d3162e"}},
               k_github_push);
    CHECK(webhook::summary(push) ==
          "github push delivery 72d3162e ref \"refs/heads/main\" repository "
          "\"https://github.com/Acme/Deploy.git\"");

    webhook::Event package;
    package.provider = Provider::Gitea;
    package.kind = EventKind::Package;
    package.name = "package";
    package.images = {"git.example.com/acme/shop", "git.example.com/acme/api"};
    CHECK(webhook::summary(package) ==
          "gitea package delivery - image \"git.example.com/acme/shop\" image "
          "\"git.example.com/acme/api\"");

    // A branch name may hold anything git allows (UTF-8, quotes): it cannot forge a log line.
    const auto odd = parsed(Provider::GitLab, {{"X-Gitlab-Event", "Push Hook"}},
                            R"({"ref": "refs/heads/caf\u00e9\"x", "after": "0000"})");
    CHECK(webhook::summary(odd) ==
          "gitlab Push Hook delivery - ref \"refs/heads/caf\\xc3\\xa9\\\"x\" deleted");
}

}  // namespace unit_webhook_event_test
