#include "agent/webhook/git_url.h"

#include <catch2/catch.hpp>

namespace unit_webhook_git_url_test {

using namespace agentd;
using webhook::git_url_key;
using webhook::same_repository;

TEST_CASE("webhook git url: every spelling of a GitHub repository has one key",
          "[webhook][git_url]") {
    for (const char* url : {
             "https://github.com/Acme/Deploy.git",
             "https://github.com/acme/deploy",
             "https://github.com/acme/deploy/",
             "https://github.com/acme/deploy.git/",
             "http://github.com/acme/deploy.git",
             "HTTPS://GitHub.com/acme/deploy",
             "https://x-access-token:ghp_secret@github.com/acme/deploy.git",
             "https://github.com:443/acme/deploy.git",
             "https://github.com/acme/deploy?tab=readme#top",
             "https://github.com//acme//deploy",
             "git@github.com:acme/deploy.git",
             "git@github.com:Acme/Deploy",
             "github.com:acme/deploy.git",
             "ssh://git@github.com/acme/deploy",
             "ssh://git@github.com:22/acme/deploy.git",
             "git+ssh://git@github.com/acme/deploy.git",
             "ssh+git://git@github.com/acme/deploy.git",
             "git://github.com/Acme/Deploy.git",
         }) {
        INFO(url);
        CHECK(git_url_key(url) == std::optional<std::string>("github.com/acme/deploy"));
    }
}

TEST_CASE("webhook git url: different repositories, owners or hosts have different keys",
          "[webhook][git_url]") {
    CHECK_FALSE(
        same_repository("https://github.com/acme/deploy", "https://github.com/acme/deploy2"));
    CHECK_FALSE(
        same_repository("https://github.com/acme/deploy", "https://github.com/other/deploy"));
    CHECK_FALSE(
        same_repository("https://github.com/acme/deploy", "https://gitlab.com/acme/deploy"));
    CHECK_FALSE(same_repository("https://github.com/acme/deploy", "https://github.com/acme"));
    CHECK_FALSE(
        same_repository("https://github.com/acme/deploy", "https://github.com/acme/deploy/sub"));
    // Only one ".git" is dropped, and only at the end.
    CHECK_FALSE(same_repository("https://h/acme/deploy.git.git", "https://h/acme/deploy"));
    CHECK_FALSE(same_repository("https://h/acme.git/deploy", "https://h/acme/deploy"));
    CHECK(git_url_key("https://h/acme/deploy.git.git") ==
          std::optional<std::string>("h/acme/deploy.git"));
}

TEST_CASE("webhook git url: self-hosted forges: ports and nested groups", "[webhook][git_url]") {
    // Gitea: HTTPS on 3000, SSH on 2222, one repository.
    CHECK(same_repository("https://git.example.com:3000/acme/deploy.git",
                          "ssh://git@git.example.com:2222/acme/deploy.git"));
    // GitLab subgroups.
    CHECK(git_url_key("git@gitlab.example.com:acme/platform/deploy.git") ==
          std::optional<std::string>("gitlab.example.com/acme/platform/deploy"));
    CHECK(same_repository("https://gitlab.example.com/acme/platform/deploy",
                          "git@gitlab.example.com:acme/platform/deploy.git"));
    // IPv6 hosts.
    CHECK(git_url_key("ssh://git@[::1]:2222/acme/deploy.git") ==
          std::optional<std::string>("[::1]/acme/deploy"));
    CHECK(same_repository("http://[::1]:8080/acme/deploy", "ssh://git@[::1]/acme/deploy.git"));
}

TEST_CASE("webhook git url: local repositories as paths and file URLs", "[webhook][git_url]") {
    CHECK(git_url_key("/srv/git/deploy.git") == std::optional<std::string>("/srv/git/deploy"));
    CHECK(same_repository("/srv/git/deploy.git", "file:///srv/git/deploy.git"));
    CHECK(same_repository("/srv/git/deploy.git", "file://localhost/srv/git/deploy"));
    CHECK(same_repository("/srv/git/deploy.git/", "/srv//git/deploy"));
    // A local path never equals a host's repository of the same name.
    CHECK_FALSE(same_repository("/github.com/acme/deploy", "https://github.com/acme/deploy"));
}

TEST_CASE("webhook git url: what names no repository has no key", "[webhook][git_url]") {
    for (const std::string& url : std::vector<std::string>{
             std::string(""),
             std::string("deploy"),  // relative path
             std::string("./deploy.git"),
             std::string("https://github.com"),  // no path
             std::string("https://github.com/"),
             std::string("https://github.com/.git"),
             std::string("git@github.com:"),
             std::string(":acme/deploy"),                   // scp-like without host
             std::string("ftp://example.com/acme/deploy"),  // another scheme
             std::string("https:///acme/deploy"),           // empty host
             std::string("https://user@/acme/deploy"),
             std::string("https://github.com:https/acme/deploy"),  // port not a number
             std::string("https://[::1/acme/deploy"),
             std::string("https://github.com/acme/de ploy"),
             std::string("https://github.com/acme/deploy\n"),
             std::string("https://github.com/acme/\x7f"),
             "https://github.com/" + std::string(2048, 'a'),
         }) {
        INFO(url);
        CHECK_FALSE(git_url_key(url));
    }
    CHECK_FALSE(same_repository("", ""));
    CHECK_FALSE(same_repository("deploy", "deploy"));
}

}  // namespace unit_webhook_git_url_test
