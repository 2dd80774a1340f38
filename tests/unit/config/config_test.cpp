// agent.yaml parsing: values, defaults, and every error with its file:line:column and key.

#include "agent/config/config.h"

#include <catch2/catch.hpp>

#include "tests/unit/config/source_root.h"

#include <filesystem>
#include <fstream>

namespace unit_config_config_test {

using namespace agentd;
using namespace agentd::config;
using namespace std::chrono_literals;

TEST_CASE("config: project_prefix goes before every stack's name in its project", "[config]") {
    const Config prefixed = parse_config(R"(project_prefix: agent07-
stacks:
  - name: shop
    dir: /srv/shop
  - name: blog
    dir: /srv/blog
)",
                                         "agent.yaml");
    CHECK(prefixed.project_prefix == "agent07-");
    REQUIRE(prefixed.stacks.size() == 2);
    CHECK(prefixed.stacks[0].name == "shop");  // the stack's own name is unchanged
    CHECK(prefixed.stacks[0].project() == "agent07-shop");
    CHECK(prefixed.stacks[1].project() == "agent07-blog");

    const Config plain = parse_config("stacks:\n  - name: shop\n    dir: /srv/shop\n", "a.yaml");
    CHECK(plain.project_prefix.empty());
    CHECK(plain.stacks[0].project() == "shop");
    // An empty value is the default, not an error.
    CHECK(parse_config("project_prefix: \"\"\nstacks:\n  - name: shop\n    dir: /srv/shop\n",
                       "a.yaml")
              .stacks[0]
              .project() == "shop");
}

TEST_CASE("config: a full file reads to the values written", "[config]") {
    const Config c = parse_config(R"(state_dir: /srv/agentd
api:
  socket: /run/x/api.sock
defaults:
  poll_interval: 2m
  image_wait: 1h
  health: {timeout: 5m, stable: 20s}
  on_failure: stop
  compose_files: [base.yaml]
registries:
  - host: ghcr.io
    username: deploy-bot
    password_file: ghcr.token
    ca_file: /etc/ssl/ca.pem
  - host: 127.0.0.1:5000
    insecure_http: true
    max_concurrent_requests: 4
stacks:
  - name: shop
    git:
      url: https://github.com/acme/deploy.git
      path: shop
      branch: release/v2
      credentials:
        password_file: /etc/agentd/git.token
        ssh_key_file: id_ed25519
        known_hosts_file: /etc/agentd/known_hosts
    compose_files: [compose.yaml, compose.prod.yaml]
    env_file: /etc/agentd/shop.env
    poll_interval: 30s
    image_wait: 10m
    health:
      timeout: 1h30m
      stable: 500ms
      http:
        - url: http://127.0.0.1:8080/healthz
          status: 200
        - {url: "https://shop.example/"}
    on_failure: rollback
  - name: blog_2
    dir: /srv/blog
)",
                                  "agent.yaml");
    CHECK(c.source == "agent.yaml");
    CHECK(c.state_dir == "/srv/agentd");
    CHECK(c.api.socket == "/run/x/api.sock");

    REQUIRE(c.registries.size() == 2);
    CHECK(c.registries[0].host == "ghcr.io");
    CHECK(c.registries[0].username == "deploy-bot");
    CHECK(c.registries[0].password_file == "ghcr.token");
    CHECK(c.registries[0].ca_file == "/etc/ssl/ca.pem");
    CHECK_FALSE(c.registries[0].insecure_http);
    CHECK(c.registries[1].host == "127.0.0.1:5000");
    CHECK(c.registries[1].insecure_http);
    CHECK(c.registries[0].max_concurrent_requests == config::k_default_concurrent_requests);
    CHECK(c.registries[1].max_concurrent_requests == 4);

    REQUIRE(c.stacks.size() == 2);
    const Stack& shop = c.stacks[0];
    CHECK(shop.name == "shop");
    REQUIRE(shop.git);
    CHECK_FALSE(shop.dir);
    CHECK(shop.git->url == "https://github.com/acme/deploy.git");
    CHECK(shop.git->path == "shop");
    CHECK(shop.git->branch == "release/v2");
    CHECK(shop.git->credentials.username == "x-access-token");
    CHECK(shop.git->credentials.password_file == "/etc/agentd/git.token");
    CHECK(shop.git->credentials.ssh_key_file == "id_ed25519");
    CHECK(shop.git->credentials.known_hosts_file == "/etc/agentd/known_hosts");
    CHECK(shop.compose_files == std::vector<std::string>{"compose.yaml", "compose.prod.yaml"});
    CHECK(shop.env_file == std::filesystem::path("/etc/agentd/shop.env"));
    CHECK(shop.poll_interval == 30s);
    CHECK(shop.image_wait == 10min);
    CHECK(shop.health.timeout == 90min);
    CHECK(shop.health.stable == 500ms);
    REQUIRE(shop.health.http.size() == 2);
    CHECK(shop.health.http[0].url == "http://127.0.0.1:8080/healthz");
    CHECK(shop.health.http[0].status == 200);
    CHECK(shop.health.http[1].url == "https://shop.example/");
    CHECK(shop.health.http[1].status == 0);
    CHECK(shop.on_failure == OnFailure::Rollback);

    // Everything the second stack does not set comes from defaults.
    const Stack& blog = c.stacks[1];
    CHECK(blog.name == "blog_2");
    CHECK_FALSE(blog.git);
    CHECK(blog.dir == std::filesystem::path("/srv/blog"));
    CHECK(blog.compose_files == std::vector<std::string>{"base.yaml"});
    CHECK_FALSE(blog.env_file);
    CHECK(blog.poll_interval == 2min);
    CHECK(blog.image_wait == 1h);
    CHECK(blog.health.timeout == 5min);
    CHECK(blog.health.stable == 20s);
    CHECK(blog.health.http.empty());
    CHECK(blog.on_failure == OnFailure::Stop);
}

TEST_CASE("config: built-in defaults apply when nothing is set", "[config]") {
    const Config c = parse_config("stacks:\n  - name: a\n    git: {url: /srv/repo.git}\n", "f");
    CHECK(c.state_dir == "/var/lib/agentd");
    CHECK(c.api.socket == "/run/agentd/api.sock");
    CHECK(c.registries.empty());
    REQUIRE(c.stacks.size() == 1);
    const Stack& s = c.stacks[0];
    REQUIRE(s.git);
    CHECK(s.git->url == "/srv/repo.git");
    CHECK(s.git->path.empty());
    CHECK(s.git->branch == "main");
    CHECK(s.git->credentials.username.empty());
    CHECK(s.compose_files.empty());
    CHECK_FALSE(s.env_file);
    CHECK(s.poll_interval == 60s);
    CHECK(s.image_wait == 30min);
    CHECK(s.health.timeout == 180s);
    CHECK(s.health.stable == 10s);
    CHECK(s.health.http.empty());
    CHECK(s.on_failure == OnFailure::Rollback);
}

TEST_CASE("config: an empty file is a configuration without stacks", "[config]") {
    CHECK(parse_config("", "f").stacks.empty());
    CHECK(parse_config("# nothing yet\n", "f").stacks.empty());
    CHECK(parse_config("stacks:\nregistries:\n", "f").stacks.empty());
}

TEST_CASE("config: approval from defaults or the stack; hooks per stack, in order",
          "[config][approval][hooks]") {
    const Config c = parse_config(R"(defaults:
  approval: manual
stacks:
  - name: a
    dir: /srv/a
    hooks:
      pre_deploy: [{service: backup, timeout: 30m}, {service: migrate}]
      post_deploy: [{service: smoke, timeout: 2m}]
      on_rollback: [{service: restore}]
  - name: b
    dir: /srv/b
    approval: auto
)",
                                  "f");
    REQUIRE(c.stacks.size() == 2);
    CHECK(c.stacks[0].approval == Approval::Manual);
    CHECK(c.stacks[1].approval == Approval::Auto);
    const Hooks& h = c.stacks[0].hooks;
    CHECK(h.pre_deploy == std::vector<Hook>{{"backup", 30min}, {"migrate", 10min}});
    CHECK(h.post_deploy == std::vector<Hook>{{"smoke", 2min}});
    CHECK(h.on_rollback == std::vector<Hook>{{"restore", 10min}});
    CHECK(c.stacks[1].hooks == Hooks{});
}

TEST_CASE("config: min_age and window from defaults or the stack", "[config][timing]") {
    const Config c = parse_config(R"(defaults:
  min_age: 1h
  window: {days: [sat, sun], from: "02:00", to: "04:00", tz: Europe/Berlin}
stacks:
  - name: a
    dir: /srv/a
  - name: b
    dir: /srv/b
    min_age: 0s
    window: {from: "22:00", to: "02:00"}
)",
                                  "f");
    REQUIRE(c.stacks.size() == 2);
    CHECK(c.stacks[0].min_age == 1h);
    REQUIRE(c.stacks[0].window);
    CHECK(c.stacks[0].window->describe() == "sat,sun 02:00-04:00 Europe/Berlin");
    CHECK(c.stacks[1].min_age == 0s);
    REQUIRE(c.stacks[1].window);
    CHECK(c.stacks[1].window->describe() == "daily 22:00-02:00 UTC");  // days and tz defaulted
    CHECK_FALSE(parse_config("stacks: [{name: c, dir: /srv/c}]\n", "f").stacks[0].window);
}

TEST_CASE("config: drift and keep_releases from defaults or the stack", "[config]") {
    const Config c = parse_config(R"(defaults:
  drift: heal
  keep_releases: 5
stacks:
  - name: a
    dir: /srv/a
  - name: b
    dir: /srv/b
    drift: warn
    keep_releases: 1
)",
                                  "f");
    REQUIRE(c.stacks.size() == 2);
    CHECK(c.stacks[0].drift == Drift::Heal);
    CHECK(c.stacks[0].keep_releases == 5);
    CHECK(c.stacks[1].drift == Drift::Warn);
    CHECK(c.stacks[1].keep_releases == 1);
    const auto plain = parse_config("stacks: [{name: c, dir: /srv/c}]\n", "f").stacks[0];
    CHECK(plain.drift == Drift::Warn);
    CHECK(plain.keep_releases == 3);
}

TEST_CASE("config: strategy blue_green with its settings", "[config][blue_green]") {
    const Config c = parse_config(R"(stacks:
  - name: shop
    dir: /srv/shop
    strategy: blue_green
    blue_green:
      services: [web, "api:8080"]
      keep_old_for: 0s
      drain: 2s
      proxy:
        nginx: host
        upstream_file: /etc/nginx/agentd/shop.conf
        reload: [systemctl, reload, nginx]
  - name: blog
    dir: /srv/blog
    blue_green:
      services: [web]
      soak: 30s
      proxy: {nginx: host, upstream_file: /etc/nginx/agentd/blog.conf, pid_file: /run/n.pid,
              test: [/usr/sbin/nginx, -t, -q]}
    strategy: blue_green
  - name: plain
    dir: /srv/plain
  - name: cms
    dir: /srv/cms
    strategy: blue_green
    blue_green:
      services: [web]
      proxy: {nginx: service, service: front, upstream_file: /srv/nginx/agentd/cms.conf,
              test: [nginx, -t, -q]}
  - name: wiki
    dir: /srv/wiki
    strategy: blue_green
    blue_green: {services: [web], proxy: {nginx: service, upstream_file: /srv/n/wiki.conf}}
)",
                                  "f");
    REQUIRE(c.stacks.size() == 5);
    const auto& shop = c.stacks[0];
    CHECK(shop.strategy == Strategy::BlueGreen);
    REQUIRE(shop.blue_green);
    CHECK(shop.blue_green->services == std::vector<SlotService>{{"web", 80}, {"api", 8080}});
    CHECK(shop.blue_green->keep_old_for == std::chrono::seconds(0));
    CHECK(shop.blue_green->drain == std::chrono::seconds(2));
    CHECK(shop.blue_green->soak == std::chrono::seconds(10));
    CHECK(shop.blue_green->proxy.upstream_file == "/etc/nginx/agentd/shop.conf");
    CHECK(shop.blue_green->proxy.test == std::vector<std::string>{"nginx", "-t"});
    CHECK(shop.blue_green->proxy.reload ==
          std::vector<std::string>{"systemctl", "reload", "nginx"});
    CHECK(shop.blue_green->proxy.pid_file == "/run/nginx.pid");
    CHECK(shop.blue_green->is_slot_service("api"));
    CHECK_FALSE(shop.blue_green->is_slot_service("db"));
    const auto& blog = c.stacks[1];  // key order does not matter
    REQUIRE(blog.blue_green);
    CHECK(blog.blue_green->soak == std::chrono::seconds(30));
    CHECK(blog.blue_green->keep_old_for == std::chrono::minutes(10));
    CHECK(blog.blue_green->proxy.test == std::vector<std::string>{"/usr/sbin/nginx", "-t", "-q"});
    CHECK(blog.blue_green->proxy.pid_file == "/run/n.pid");
    CHECK(c.stacks[2].strategy == Strategy::Recreate);
    CHECK_FALSE(c.stacks[2].blue_green);
    CHECK(shop.blue_green->proxy.nginx == NginxKind::Host);
    const auto& cms = c.stacks[3];
    REQUIRE(cms.blue_green);
    CHECK(cms.blue_green->proxy.nginx == NginxKind::Service);
    CHECK(cms.blue_green->proxy.service == "front");
    CHECK(cms.blue_green->proxy.upstream_file == "/srv/nginx/agentd/cms.conf");
    CHECK(cms.blue_green->proxy.test == std::vector<std::string>{"nginx", "-t", "-q"});
    const auto& wiki = c.stacks[4];  // the service's default name, the test run inside it
    REQUIRE(wiki.blue_green);
    CHECK(wiki.blue_green->proxy.nginx == NginxKind::Service);
    CHECK(wiki.blue_green->proxy.service == "nginx");
    CHECK(wiki.blue_green->proxy.test == std::vector<std::string>{"nginx", "-t"});
}

TEST_CASE("config: defaults merge into stacks, health per field", "[config]") {
    const Config c = parse_config(R"(defaults:
  poll_interval: 5m
  health:
    timeout: 10m
    http: [{url: "http://127.0.0.1/health"}]
stacks:
  - name: a
    dir: /srv/a
    health: {stable: 1m}
  - name: b
    dir: /srv/b
    poll_interval: 15s
    health:
      http: [{url: "http://127.0.0.1:81/", status: 204}]
)",
                                  "f");
    REQUIRE(c.stacks.size() == 2);
    CHECK(c.stacks[0].poll_interval == 5min);
    CHECK(c.stacks[0].health.timeout == 10min);  // from defaults
    CHECK(c.stacks[0].health.stable == 1min);    // its own
    REQUIRE(c.stacks[0].health.http.size() == 1);
    CHECK(c.stacks[0].health.http[0].url == "http://127.0.0.1/health");
    CHECK(c.stacks[1].poll_interval == 15s);
    CHECK(c.stacks[1].health.timeout == 10min);
    CHECK(c.stacks[1].health.stable == 10s);       // built in
    REQUIRE(c.stacks[1].health.http.size() == 1);  // its own list replaces the default one
    CHECK(c.stacks[1].health.http[0].url == "http://127.0.0.1:81/");
    CHECK(c.stacks[1].health.http[0].status == 204);
}

TEST_CASE("config: stack names", "[config]") {
    for (const auto& name :
         std::vector<std::string>{"a", "shop", "shop-2", "my_stack", "0ad", std::string(63, 'x')}) {
        INFO(name);
        CHECK(valid_stack_name(name));
    }
    for (const auto& name : std::vector<std::string>{"", "Shop", "-a", "_a", "a.b", "a b", "ä",
                                                     std::string(64, 'x')}) {
        INFO(name);
        CHECK_FALSE(valid_stack_name(name));
    }
}

TEST_CASE("config: the example config/agent.yaml is valid", "[config]") {
    const std::filesystem::path example =
        std::filesystem::path(AGENTD_SOURCE_ROOT) / "config/agent.yaml";
    const Config c = load_config(example);
    REQUIRE(c.stacks.size() == 1);
    CHECK(c.stacks[0].name == "shop");
    CHECK(c.stacks[0].health.timeout == std::chrono::minutes(5));
    CHECK(c.stacks[0].health.stable == std::chrono::seconds(10));
    REQUIRE(c.find_registry("ghcr.io"));
}

TEST_CASE("config: tag policies for git tags and images are read", "[config]") {
    const auto config = config::parse_config(R"(defaults:
  no_downgrade: false
stacks:
  - name: shop
    git:
      url: https://example.com/deploy.git
      tags: {semver: "^2"}
    images:
      web: {semver: "~2.4"}
      worker: {regex: '^main-(?P<ts>\d+)$', order: numerical}
  - name: blog
    dir: /srv/blog
    no_downgrade: true
)",
                                             "agent.yaml");
    const auto& shop = config.stacks.at(0);
    REQUIRE(shop.git->tags.has_value());
    CHECK(shop.git->tags->semver == "^2");
    CHECK(shop.images.at("web").semver == "~2.4");
    CHECK(shop.images.at("worker").regex == "^main-(?P<ts>\\d+)$");
    CHECK(shop.images.at("worker").order == "numerical");
    CHECK_FALSE(shop.no_downgrade);
    CHECK(config.stacks.at(1).no_downgrade);
    CHECK(config.stacks.at(1).images.empty());
}

TEST_CASE("config: git.verify is read, its mode defaulting to what the stack follows", "[config]") {
    const auto config = config::parse_config(R"(stacks:
  - name: shop
    git:
      url: https://example.com/deploy.git
      tags: {semver: "^2"}
      verify: {allowed_signers: /dev/null}
  - name: blog
    git:
      url: https://example.com/blog.git
      verify: {gpg_keyring: release-keys.gpg}
  - name: api
    git:
      url: https://example.com/api.git
      tags: {semver: "^1"}
      verify: {mode: tag_and_head, allowed_signers: /dev/null, gpg_keyring: /dev/null}
  - name: plain
    git: {url: https://example.com/plain.git}
)",
                                             "agent.yaml");
    const auto& shop = *config.stacks.at(0).git->verify;
    CHECK(shop.mode == GitVerify::Mode::Tag);
    CHECK(shop.allowed_signers == "/dev/null");
    CHECK(shop.gpg_keyring.empty());
    const auto& blog = *config.stacks.at(1).git->verify;
    CHECK(blog.mode == GitVerify::Mode::Head);
    CHECK(blog.gpg_keyring == "release-keys.gpg");  // resolved in $CREDENTIALS_DIRECTORY
    const auto& api = *config.stacks.at(2).git->verify;
    CHECK(api.mode == GitVerify::Mode::TagAndHead);
    CHECK(api.gpg_keyring == "/dev/null");
    CHECK_FALSE(config.stacks.at(3).git->verify.has_value());
}

TEST_CASE("config: api.webhook_secret_file, absolute or in $CREDENTIALS_DIRECTORY", "[config]") {
    CHECK(parse_config("stacks: []\n", "agent.yaml").api.webhook_secret_file.empty());
    const Config absolute = parse_config(
        "api:\n  listen: 127.0.0.1:9465\n  webhook_secret_file: /etc/agentd/webhook.secret\n",
        "agent.yaml");
    CHECK(absolute.api.webhook_secret_file == "/etc/agentd/webhook.secret");
    const Config credential = parse_config(
        "api:\n  listen: 127.0.0.1:9465\n  webhook_secret_file: webhook-secret\n", "agent.yaml");
    CHECK(credential.api.webhook_secret_file == "webhook-secret");
}

TEST_CASE("config: api.listen and its TLS files", "[config]") {
    const Config off = parse_config("stacks: []\n", "agent.yaml");
    CHECK_FALSE(off.api.listen.has_value());
    const Config v4 = parse_config(R"(api:
  listen: 0.0.0.0:9465
  cert_file: /etc/agentd/tls.crt
  key_file: /etc/agentd/tls.key
)",
                                   "agent.yaml");
    REQUIRE(v4.api.listen.has_value());
    CHECK(v4.api.listen->host == "0.0.0.0");
    CHECK(v4.api.listen->port == 9465);
    CHECK(v4.api.cert_file == "/etc/agentd/tls.crt");
    CHECK(v4.api.key_file == "/etc/agentd/tls.key");
    const Config v6 = parse_config("api:\n  listen: \"[::1]:19465\"\n", "agent.yaml");
    REQUIRE(v6.api.listen.has_value());
    CHECK(v6.api.listen->host == "::1");
    CHECK(v6.api.listen->port == 19465);
    std::string why;
    CHECK(parse_listen("[fe80::1:2]:1", why)->host == "fe80::1:2");
    CHECK_FALSE(parse_listen("[nothex::]:1", why));
    CHECK_FALSE(parse_listen("1.2.3:80", why));
    CHECK_FALSE(parse_listen("01.2.3.4:80", why));
    CHECK_FALSE(parse_listen("1.2.3.4:", why));
    CHECK_FALSE(parse_listen("1.2.3.4:+80", why));
}

TEST_CASE("config: env_files and age_identity_file, from a stack or defaults", "[config]") {
    const Config c = parse_config(R"(age_identity_file: agent.key
defaults:
  env_files: [common.env, /etc/agentd/host.env.age]
stacks:
  - name: shop
    dir: /srv/shop
    env_file: /etc/agentd/shop.env
    env_files: [shop.env, secrets/shop.env.age]
  - name: blog
    dir: /srv/blog
)",
                                  "agent.yaml");
    CHECK(c.age_identity_file == "agent.key");
    REQUIRE(c.stacks.size() == 2);
    const Stack& shop = c.stacks[0];
    CHECK(shop.age_identity_file == "agent.key");
    // env_file first, then env_files (the stack's own list replaces the default one).
    CHECK(shop.all_env_files() == std::vector<std::filesystem::path>{
                                      "/etc/agentd/shop.env", "shop.env", "secrets/shop.env.age"});
    CHECK(c.stacks[1].all_env_files() ==
          std::vector<std::filesystem::path>{"common.env", "/etc/agentd/host.env.age"});
}

}  // namespace unit_config_config_test
