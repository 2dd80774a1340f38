#include "agent/runtime/compose_runner.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "agent/runtime/docker_engine.h"
#include "agent/sys/http.h"
#include "tests/unit/runtime/test_support.h"

namespace unit_runtime_compose_runner_test {

using namespace std::chrono_literals;
using namespace agentd;
using namespace agentd::runtime;
using namespace agentd::runtime::testing;

namespace {

void write(const std::filesystem::path& path, const std::string& text) {
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << text;
}

/// Records every spec; answers `docker compose version` as configured and everything else
/// with `next`.
class FakeRunner final : public sys::ProcessRunner {
public:
    bool has_v2 = false;
    sys::ProcessResult next{.exit_code = 0};
    std::vector<sys::ProcessSpec> specs;

    sys::Result<sys::ProcessResult> run(const sys::ProcessSpec& spec) override {
        specs.push_back(spec);
        if (spec.argv == std::vector<std::string>{"docker", "compose", "version"}) {
            return sys::ProcessResult{.exit_code = has_v2 ? 0 : 1};
        }
        return next;
    }
};

std::string joined(const std::vector<std::string>& argv) {
    std::string out;
    for (const auto& a : argv) {
        out += (out.empty() ? "" : " ") + a;
    }
    return out;
}

}  // namespace

TEST_CASE("compose: override pins each service image", "[runtime][compose]") {
    const auto text = override_yaml({{"web", "r.example/web@sha256:aa"}, {"db", "pg@sha256:bb"}});
    const auto doc = YAML::Load(text);
    CHECK_FALSE(doc["version"]);
    REQUIRE(doc["services"].size() == 2);
    CHECK(doc["services"]["web"]["image"].as<std::string>() == "r.example/web@sha256:aa");
    CHECK(doc["services"]["db"]["image"].as<std::string>() == "pg@sha256:bb");
}

TEST_CASE("compose: a blue-green project's override joins the shared network with aliases",
          "[runtime][compose][blue_green]") {
    ComposeProject project;
    project.network = "agentd-shop";
    project.aliases = {{"web", "web-green"}};
    const auto doc = YAML::Load(override_yaml({{"web", "r.example/web@sha256:aa"}}, project));
    CHECK(doc["networks"]["default"]["external"].as<bool>());
    CHECK(doc["networks"]["default"]["name"].as<std::string>() == "agentd-shop");
    CHECK(doc["services"]["web"]["image"].as<std::string>() == "r.example/web@sha256:aa");
    REQUIRE(doc["services"]["web"]["networks"]["default"]["aliases"].size() == 1);
    CHECK(doc["services"]["web"]["networks"]["default"]["aliases"][0].as<std::string>() ==
          "web-green");
    // A service with an alias but no pin (built locally) still gets its alias.
    const auto unpinned = YAML::Load(override_yaml({}, project));
    CHECK_FALSE(unpinned["services"]["web"]["image"]);
    CHECK(unpinned["services"]["web"]["networks"]["default"]["aliases"][0].as<std::string>() ==
          "web-green");
}

TEST_CASE("compose: config output says what two copies of a service could not share",
          "[runtime][compose][blue_green]") {
    auto r = parse_compose_config(R"(services:
  a:
    image: busybox:1
    container_name: fixed
  b:
    image: busybox:1
    ports:
    - 127.0.0.1:8080:80/tcp
  c:
    image: busybox:1
    ports:
    - published: 8081
      target: 80
  d:
    image: busybox:1
    ports:
    - 80/tcp
    network_mode: host
  e:
    image: busybox:1
)");
    REQUIRE(r.ok());
    REQUIRE(r->size() == 5);
    CHECK((*r)[0].container_name == "fixed");
    CHECK((*r)[1].publishes_ports);
    CHECK((*r)[2].publishes_ports);
    CHECK_FALSE((*r)[3].publishes_ports);  // the engine picks the host port: no clash
    CHECK((*r)[3].network_mode == "host");
    CHECK((*r)[4].container_name.empty());
    CHECK_FALSE((*r)[4].publishes_ports);
    CHECK((*r)[4].network_mode.empty());
}

TEST_CASE("compose: config output parses into services", "[runtime][compose]") {
    auto r = parse_compose_config(R"(services:
  builder:
    build:
      context: /tmp/x
  web:
    image: busybox:1
    restart: unless-stopped
  job:
    image: busybox:1
    restart: "no"
version: '3.9'
)");
    REQUIRE(r.ok());
    REQUIRE(r->size() == 3);
    CHECK((*r)[0].name == "builder");
    CHECK((*r)[0].build);
    CHECK((*r)[0].image.empty());
    CHECK((*r)[1].name == "job");
    CHECK((*r)[1].restart.empty());
    CHECK((*r)[2].name == "web");
    CHECK((*r)[2].image == "busybox:1");
    CHECK((*r)[2].restart == "unless-stopped");
    CHECK_FALSE((*r)[2].build);
    CHECK_FALSE(parse_compose_config("services: [a, b]").ok());
    CHECK_FALSE(parse_compose_config("services: {a: [").ok());
}

TEST_CASE("compose: a service named twice in config output is refused, not listed twice",
          "[runtime][compose]") {
    // Found by tests/fuzz/compose_config: yaml-cpp keeps both entries of a duplicated key, so
    // the service list held "web" twice with two images.
    const auto r = parse_compose_config("services:\n  web: {image: a:1}\n  web: {image: b:1}\n");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == sys::Error::Kind::InvalidInput);
    CHECK(r.error().message == "compose config: service \"web\" is defined twice");
}

TEST_CASE("compose: default file is found like compose finds it", "[runtime][compose]") {
    TempDir dir;
    ComposeProject project{.name = "p", .dir = dir.path()};
    CHECK(compose_files(project).error().kind == sys::Error::Kind::InvalidInput);
    write(dir.path() / "docker-compose.yaml", "services: {}\n");
    write(dir.path() / "docker-compose.yml", "services: {}\n");
    REQUIRE(compose_files(project).ok());
    CHECK(compose_files(project)->at(0) == dir.path() / "docker-compose.yml");
    write(dir.path() / "compose.yaml", "services: {}\n");
    write(dir.path() / "docker-compose.override.yml", "services: {}\n");
    auto files = compose_files(project);
    REQUIRE(files->size() == 2);
    CHECK(files->at(0) == dir.path() / "compose.yaml");
    CHECK(files->at(1) == dir.path() / "docker-compose.override.yml");

    project.files = {"compose.yaml", "missing.yaml"};
    CHECK(compose_files(project).error().kind == sys::Error::Kind::InvalidInput);
}

TEST_CASE("compose: v1 command line has project, directory, files, override and env",
          "[runtime][compose]") {
    TempDir dir;
    write(dir.path() / "a.yaml", "services: {}\n");
    write(dir.path() / "b.yaml", "services: {}\n");
    FakeRunner runner;
    ComposeRunner compose(runner);
    ComposeProject project{.name = "shop",
                           .dir = dir.path(),
                           .files = {"a.yaml", "b.yaml"},
                           .env = {{"TAG", "2"}},
                           .override_file = dir.path() / "state" / "pins.yaml"};
    REQUIRE(compose.up(project, {{"web", "w@sha256:1"}}).ok());
    REQUIRE(runner.specs.size() == 2);
    const auto& spec = runner.specs[1];
    const auto d = dir.path().string();
    CHECK(joined(spec.argv) == "docker-compose -p shop --project-directory " + d + " -f " + d +
                                   "/a.yaml -f " + d + "/b.yaml -f " + d +
                                   "/state/pins.yaml up -d --remove-orphans");
    CHECK(spec.cwd == dir.path());
    CHECK(spec.env == std::map<std::string, std::string>{{"TAG", "2"}});
    const auto pins = YAML::LoadFile((dir.path() / "state" / "pins.yaml").string());
    CHECK(pins["services"]["web"]["image"].as<std::string>() == "w@sha256:1");

    // Detection happens once.
    REQUIRE(compose.run_once(project, {{"web", "w@sha256:1"}}, "migrate", 1min).ok());
    REQUIRE(runner.specs.size() == 3);
    CHECK(joined(runner.specs[2].argv).ends_with("/state/pins.yaml run --rm -T migrate"));
}

TEST_CASE("compose: services come from one `config` run", "[runtime][compose]") {
    TempDir dir;
    write(dir.path() / "compose.yaml", "services: {}\n");
    FakeRunner runner;
    runner.next = {.exit_code = 0, .out = "services:\n  web:\n    image: w:1\n"};
    ComposeRunner compose(runner);
    const ComposeProject project{.name = "shop", .dir = dir.path()};
    auto services = compose.services(project);
    REQUIRE(services.ok());
    REQUIRE(services->size() == 1);
    CHECK((*services)[0].image == "w:1");
    // `docker compose version` (detection), then `config` once.
    REQUIRE(runner.specs.size() == 2);
    CHECK(joined(runner.specs[1].argv).ends_with(" config"));

    runner.next = {.exit_code = 1, .err = "ERROR: The Compose file is invalid: bogus_key\n"};
    auto refused = compose.services(project);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().kind == sys::Error::Kind::InvalidInput);
    CHECK(refused.error().message ==
          "compose config shop: ERROR: The Compose file is invalid: bogus_key");
    CHECK(runner.specs.size() == 3);
}

TEST_CASE("compose: v2 is used when `docker compose version` works", "[runtime][compose]") {
    TempDir dir;
    write(dir.path() / "compose.yaml", "services: {}\n");
    FakeRunner runner;
    runner.has_v2 = true;
    ComposeRunner compose(runner);
    REQUIRE(compose.up({.name = "shop", .dir = dir.path()}, {}).ok());
    const auto& argv = runner.specs.back().argv;
    CHECK(joined(argv) == "docker compose -p shop --project-directory " + dir.path().string() +
                              " -f " + (dir.path() / "compose.yaml").string() +
                              " up -d --remove-orphans");
}

TEST_CASE("compose: a failed up returns compose's last stderr lines", "[runtime][compose]") {
    TempDir dir;
    write(dir.path() / "compose.yaml", "services: {}\n");
    FakeRunner runner;
    runner.next = {.exit_code = 1, .err = "Creating web ...\n\nERROR: pull access denied\n"};
    ComposeRunner compose(runner);
    auto r = compose.up({.name = "shop", .dir = dir.path()}, {});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == sys::Error::Kind::InvalidInput);  // compose refused: a verdict
    CHECK(r.error().message ==
          "compose up shop: exit 1: Creating web ...\nERROR: pull access denied");
}

TEST_CASE("compose: a killed or timed-out run is transient, not a verdict on the files",
          "[runtime][compose]") {
    TempDir dir;
    write(dir.path() / "compose.yaml", "services: {}\n");
    FakeRunner runner;
    ComposeRunner compose(runner);
    const ComposeProject project{.name = "shop", .dir = dir.path()};

    runner.next = {.exit_code = -1, .err = "Traceback (most recent call last):\n"};
    auto killed = compose.services(project);
    REQUIRE_FALSE(killed.ok());
    CHECK(killed.error().kind == sys::Error::Kind::Failed);
    CHECK(killed.error().message == "compose config shop: killed by a signal");

    runner.next = {.exit_code = -1, .timed_out = true};
    auto slow = compose.services(project);
    REQUIRE_FALSE(slow.ok());
    CHECK(slow.error().kind == sys::Error::Kind::Failed);
    CHECK(slow.error().message == "compose config shop: timed out");

    runner.next = {.exit_code = -1};
    auto up = compose.up(project, {});
    REQUIRE_FALSE(up.ok());
    CHECK(up.error().kind == sys::Error::Kind::Failed);
    CHECK(up.error().message == "compose up shop: killed by a signal");
}

TEST_CASE("compose: names that could become options are rejected", "[runtime][compose]") {
    TempDir dir;
    write(dir.path() / "compose.yaml", "services: {}\n");
    FakeRunner runner;
    ComposeRunner compose(runner);
    CHECK(compose.up({.name = "-x", .dir = dir.path()}, {}).error().kind ==
          sys::Error::Kind::InvalidInput);
    CHECK(compose.run_once({.name = "shop", .dir = dir.path()}, {}, "--rm", 1min).error().kind ==
          sys::Error::Kind::InvalidInput);
    CHECK(runner.specs.empty());
}

TEST_CASE("compose: rebuild and recreate run build, up, then up --force-recreate of those only",
          "[runtime][compose]") {
    TempDir dir;
    write(dir.path() / "compose.yaml", "services: {}\n");
    FakeRunner runner;
    ComposeRunner compose(runner);
    const ComposeProject project{
        .name = "shop", .dir = dir.path(), .override_file = dir.path() / "pins.yaml"};
    const std::string prefix = "docker-compose -p shop --project-directory " + dir.path().string() +
                               " -f " + (dir.path() / "compose.yaml").string() + " -f " +
                               (dir.path() / "pins.yaml").string();
    REQUIRE(compose
                .up(project, {{"web", "w@sha256:1"}},
                    {.rebuild = {"api", "worker"}, .recreate = {"proxy", "api"}})
                .ok());
    REQUIRE(runner.specs.size() == 4);  // detection, then three runs
    CHECK(joined(runner.specs[1].argv) == prefix + " build api worker");
    CHECK(joined(runner.specs[2].argv) == prefix + " up -d --remove-orphans");
    CHECK(joined(runner.specs[3].argv) == prefix + " up -d --no-deps --force-recreate proxy api");
    for (std::size_t i = 1; i < runner.specs.size(); ++i) {
        CHECK(runner.specs[i].cwd == dir.path());
    }

    // nothing to rebuild or recreate: one `up`, as before
    runner.specs.clear();
    REQUIRE(compose.up(project, {{"web", "w@sha256:1"}}, {}).ok());
    REQUIRE(runner.specs.size() == 1);
    CHECK(joined(runner.specs[0].argv) == prefix + " up -d --remove-orphans");
}

TEST_CASE("compose: a failed build stops before up and says which step failed",
          "[runtime][compose]") {
    TempDir dir;
    write(dir.path() / "compose.yaml", "services: {}\n");
    FakeRunner runner;
    runner.next = {.exit_code = 1, .err = "ERROR: Service 'api' failed to build\n"};
    ComposeRunner compose(runner);
    auto r = compose.up({.name = "shop", .dir = dir.path()}, {}, {.rebuild = {"api"}});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "compose build shop: exit 1: ERROR: Service 'api' failed to build");
    CHECK(runner.specs.size() == 2);  // detection and the build: no up after it
}

TEST_CASE("compose: service names to rebuild or recreate that could be options are refused",
          "[runtime][compose]") {
    TempDir dir;
    write(dir.path() / "compose.yaml", "services: {}\n");
    FakeRunner runner;
    ComposeRunner compose(runner);
    const ComposeProject project{.name = "shop", .dir = dir.path()};
    CHECK(compose.up(project, {}, {.rebuild = {"--no-cache"}}).error().kind ==
          sys::Error::Kind::InvalidInput);
    CHECK(compose.up(project, {}, {.recreate = {"-v"}}).error().kind ==
          sys::Error::Kind::InvalidInput);
    CHECK(compose.up(project, {}, {.recreate = {"a b"}}).error().kind ==
          sys::Error::Kind::InvalidInput);
    CHECK(runner.specs.empty());
}

TEST_CASE("compose: v1 config output gives each service's file inputs", "[runtime][compose]") {
    // docker-compose 1.29's own output for a project with every kind of input
    auto r = parse_compose_config(R"(configs:
  cfg:
    file: /repo/common/cfg.txt
secrets:
  token:
    file: /repo/stack/token.txt
services:
  app:
    build:
      args:
        A: '1'
      context: /repo/stack/app
      dockerfile: ../Dockerfile.app
      target: prod
  ext:
    environment:
      B: '2'
    image: busybox
    volumes:
    - /repo/common/basevol:/bv:rw
  web:
    configs:
    - source: cfg
    environment:
      X: '1'
    image: busybox
    secrets:
    - source: token
    volumes:
    - /repo/stack/conf/nginx.conf:/etc/nginx.conf:ro
    - /repo/stack:/app:rw
    - data:/data:rw
    - /etc/hostname:/h:ro
    - source: /repo/common
      target: /common
      type: bind
    - source: logs
      target: /logs
      type: volume
version: '3.8'
volumes:
  data: {}
)");
    REQUIRE(r.ok());
    REQUIRE(r->size() == 3);
    const auto& app = (*r)[0];
    CHECK(app.build);
    CHECK(app.build_context == "/repo/stack/app");
    CHECK(app.build_dockerfile == "../Dockerfile.app");
    const auto& ext = (*r)[1];
    CHECK(ext.bind_sources == std::vector<std::string>{"/repo/common/basevol"});
    const auto& web = (*r)[2];
    CHECK(web.bind_sources == std::vector<std::string>{"/repo/stack/conf/nginx.conf", "/repo/stack",
                                                       "/etc/hostname", "/repo/common"});
    CHECK(web.files == std::vector<std::string>{"/repo/common/cfg.txt", "/repo/stack/token.txt"});
    CHECK(web.env_files.empty());  // v1 folds env_file into environment
}

TEST_CASE("compose: v2 config output gives env files, additional contexts, short forms",
          "[runtime][compose]") {
    auto r = parse_compose_config(R"(name: shop
services:
  api:
    build:
      context: /repo/api
      dockerfile: Dockerfile
      additional_contexts:
        assets: /repo/assets
        base: docker-image://busybox:1
    env_file:
    - path: /repo/stack/api.env
      required: true
    - /repo/stack/extra.env
    secrets: [token, ghost]
  remote:
    build:
      context: https://github.com/acme/remote.git#main
  short:
    build: /repo/short
    env_file: /repo/stack/one.env
    volumes:
    - type: bind
      source: /repo/stack/site
      target: /site
      bind:
        create_host_path: true
secrets:
  token:
    file: /repo/stack/token
  ghost:
    environment: GHOST
)");
    REQUIRE(r.ok());
    const auto& api = (*r)[0];
    CHECK(api.build_context == "/repo/api");
    CHECK(api.build_contexts == std::vector<std::string>{"/repo/assets"});
    CHECK(api.env_files ==
          std::vector<std::string>{"/repo/stack/api.env", "/repo/stack/extra.env"});
    CHECK(api.files == std::vector<std::string>{"/repo/stack/token"});
    CHECK((*r)[1].build);
    CHECK((*r)[1].build_context.empty());  // a URL is no path of the repository
    CHECK((*r)[2].build_context == "/repo/short");
    CHECK((*r)[2].env_files == std::vector<std::string>{"/repo/stack/one.env"});
    CHECK((*r)[2].bind_sources == std::vector<std::string>{"/repo/stack/site"});
}

// ---- with the real docker-compose and Docker engine ----

namespace {

/// A compose project in a temporary directory, taken down (with volumes) at scope exit.
struct LiveProject {
    TempDir dir;
    ComposeProject project;
    sys::PosixProcessRunner runner;
    ComposeRunner compose{runner};

    LiveProject() {
        project.name = unique_name("agentdrtc");
        project.dir = dir.path();
        project.override_file = dir.path() / ".agentd" / "override.yaml";
    }
    ~LiveProject() {
        auto files = compose_files(project);
        if (!files) {
            return;
        }
        std::vector<std::string> argv = *compose.command();
        argv.insert(argv.end(), {"-p", project.name, "--project-directory", dir.path().string()});
        for (const auto& f : *files) {
            argv.insert(argv.end(), {"-f", f.string()});
        }
        argv.insert(argv.end(), {"down", "-v", "--remove-orphans", "-t", "1"});
        (void)runner.run({.argv = argv, .cwd = dir.path()});
    }
};

}  // namespace

TEST_CASE("compose: services interpolate from env over the project's .env",
          "[runtime][compose][integration][docker]") {
    LiveProject live;
    write(live.dir.path() / "compose.yaml", R"(services:
  web:
    image: agentd-runtime-test/busybox:${TAG:-latest}
    restart: unless-stopped
  builder:
    build: .
)");
    auto r = live.compose.services(live.project);
    REQUIRE(r.ok());
    REQUIRE(r->size() == 2);
    CHECK((*r)[0].name == "builder");
    CHECK((*r)[0].build);
    CHECK((*r)[1].image == "agentd-runtime-test/busybox:latest");
    CHECK((*r)[1].restart == "unless-stopped");

    write(live.dir.path() / ".env", "TAG=from-dotenv\n");
    CHECK(live.compose.services(live.project)->at(1).image ==
          "agentd-runtime-test/busybox:from-dotenv");

    live.project.env = {{"TAG", "from-env"}};
    CHECK(live.compose.services(live.project)->at(1).image ==
          "agentd-runtime-test/busybox:from-env");
}

TEST_CASE("compose: several files and extends are merged",
          "[runtime][compose][integration][docker]") {
    LiveProject live;
    write(live.dir.path() / "common.yaml", R"(services:
  base:
    image: agentd-runtime-test/busybox:base
    restart: always
)");
    write(live.dir.path() / "compose.yaml", R"(services:
  web:
    extends: {file: common.yaml, service: base}
  worker:
    image: agentd-runtime-test/busybox:worker
)");
    write(live.dir.path() / "compose.prod.yaml", R"(services:
  worker:
    image: agentd-runtime-test/busybox:prod
    restart: on-failure
)");
    live.project.files = {"compose.yaml", "compose.prod.yaml"};
    auto r = live.compose.services(live.project);
    INFO((r.ok() ? std::string() : r.error().message));
    REQUIRE(r.ok());
    REQUIRE(r->size() == 2);
    CHECK((*r)[0].name == "web");
    CHECK((*r)[0].image == "agentd-runtime-test/busybox:base");
    CHECK((*r)[0].restart == "always");
    CHECK((*r)[1].name == "worker");
    CHECK((*r)[1].image == "agentd-runtime-test/busybox:prod");
    CHECK((*r)[1].restart == "on-failure");
}

TEST_CASE("compose: an invalid project is InvalidInput with compose's message",
          "[runtime][compose][integration][docker]") {
    LiveProject live;
    write(live.dir.path() / "compose.yaml", "services:\n  web:\n    image: x\n    bogus_key: 1\n");
    auto r = live.compose.services(live.project);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == sys::Error::Kind::InvalidInput);
    CHECK(r.error().message.find("bogus_key") != std::string::npos);
}

TEST_CASE("compose: up runs the pinned image and run_once reports the exit",
          "[runtime][compose][integration][docker]") {
    const auto image = ensure_test_image();
    LiveProject live;
    // The compose file names an image that does not exist: only the pin makes `up` work.
    write(live.dir.path() / "compose.yaml", R"(services:
  web:
    image: agentd-runtime-test/absent:never
    command: ["sleep", "300"]
    restart: unless-stopped
  job:
    image: agentd-runtime-test/absent:never
    command: ["sh", "-c", "echo job says hello; sleep ${JOB_SLEEP:-0}; exit ${JOB_EXIT:-0}"]
    restart: "no"
    profiles: [hooks]
)");
    const std::map<std::string, std::string> pins = {{"web", image}, {"job", image}};
    auto up = live.compose.up(live.project, pins);
    INFO((up.ok() ? std::string() : up.error().message));
    REQUIRE(up.ok());
    CHECK(std::filesystem::exists(live.project.override_file));

    sys::CurlHttpClient http;
    DockerEngine engine(http);
    std::vector<ContainerState> containers;
    REQUIRE(eventually([&] {
        containers = engine.project_containers(live.project.name).value();
        return containers.size() == 1 && containers[0].state == "running";
    }));
    CHECK(containers[0].service == "web");
    CHECK(containers[0].image == image);
    CHECK(containers[0].restart_policy == "unless-stopped");

    // A service with a profile: listed by config with it, never started by up, run by run.
    const auto services = live.compose.services(live.project).value();
    REQUIRE(services.size() == 2);
    CHECK(services[0].name == "job");
    CHECK(services[0].profiles == std::vector<std::string>{"hooks"});
    CHECK(services[1].profiles.empty());
    const auto ran = live.compose.run_once(live.project, pins, "job", 1min);
    REQUIRE(ran.ok());
    CHECK(ran->find("job says hello") != std::string::npos);  // its output, for the events
    live.project.env = {{"JOB_EXIT", "4"}};
    auto failed = live.compose.run_once(live.project, pins, "job", 1min);
    REQUIRE_FALSE(failed.ok());
    CHECK(failed.error().kind == sys::Error::Kind::Failed);
    CHECK(failed.error().message.find("exit 4") != std::string::npos);
    CHECK(failed.error().message.find("job says hello") != std::string::npos);
    live.project.env = {{"JOB_SLEEP", "60"}};
    auto slow = live.compose.run_once(live.project, pins, "job", 2s);
    REQUIRE_FALSE(slow.ok());
    CHECK(slow.error().message == "timed out after 2s");
    // Killed at its timeout, compose leaves the one-off container: the Engine removes it.
    int one_offs = 0;
    const auto after_timeout = engine.project_containers(live.project.name).value();
    for (const auto& c : after_timeout) {
        if (c.one_off) {
            ++one_offs;
            CHECK(c.service == "job");
            REQUIRE(engine.remove_container(c.id).ok());
            CHECK(engine.remove_container(c.id).ok());  // already gone: fine
        }
    }
    CHECK(one_offs <= 1);
    CHECK(engine.remove_container("../x").error().kind == sys::Error::Kind::InvalidInput);
    // --rm, or removed above: no one-off container is left behind.
    containers = engine.project_containers(live.project.name).value();
    CHECK(containers.size() == 1);
}

TEST_CASE("compose: up runs a service pinned to a registry digest",
          "[runtime][compose][integration][docker][registry]") {
    const auto registry = test_registry();
    const auto image = ensure_test_image();
    const auto repo = registry + "/" + unique_name("agentd-runtime-compose");
    const auto tagged = repo + ":1";
    // Declared before the project, so it runs after `down` removed the containers.
    Cleanup images([&] { remove_digests_of(repo); });
    LiveProject live;
    run_ok({"docker", "tag", image, tagged});
    run_ok({"docker", "push", tagged});
    // The image may also be pushed to other repositories (other tests share it): take the
    // digest of this repository's name.
    std::string pinned;
    std::istringstream digests(run_ok(
        {"docker", "image", "inspect", "--format", "{{range .RepoDigests}}{{println .}}{{end}}",
         tagged}));
    for (std::string line; std::getline(digests, line);) {
        if (line.rfind(repo + "@sha256:", 0) == 0) {
            pinned = line;
        }
    }
    REQUIRE(pinned.rfind(repo + "@sha256:", 0) == 0);
    run_ok({"docker", "rmi", tagged});

    sys::CurlHttpClient http;
    DockerEngine engine(http);
    REQUIRE(engine.pull(pinned, std::nullopt, {}).ok());

    // The file tracks a tag; the pin replaces it with the digest that was resolved and pulled.
    write(live.dir.path() / "compose.yaml",
          "services:\n  web:\n    image: " + tagged + "\n    command: [\"sleep\", \"300\"]\n");
    auto up = live.compose.up(live.project, {{"web", pinned}});
    INFO((up.ok() ? std::string() : up.error().message));
    REQUIRE(up.ok());
    std::vector<ContainerState> containers;
    REQUIRE(eventually([&] {
        containers = engine.project_containers(live.project.name).value();
        return containers.size() == 1 && containers[0].state == "running";
    }));
    CHECK(containers[0].image == pinned);
    CHECK(containers[0].one_off == false);
}

TEST_CASE(
    "compose: recreate picks up a replaced bind-mounted file, rebuild a changed context, "
    "and nothing else restarts",
    "[runtime][compose][integration][docker]") {
    const auto image = ensure_test_image();
    LiveProject live;
    Cleanup built([&] { run({"docker", "rmi", "-f", live.project.name + "_app"}); });
    write(live.dir.path() / "compose.yaml", R"(services:
  web:
    image: agentd-runtime-test/busybox:1
    command: ["sleep", "300"]
    volumes: ["./page.txt:/page.txt:ro"]
  db:
    image: agentd-runtime-test/busybox:1
    command: ["sleep", "300"]
  app:
    build: ./app
    command: ["sleep", "300"]
)");
    write(live.dir.path() / "page.txt", "release 1\n");
    write(live.dir.path() / "app" / "Dockerfile",
          "FROM agentd-runtime-test/busybox:1\nCOPY v.txt /v.txt\n");
    write(live.dir.path() / "app" / "v.txt", "app 1\n");
    REQUIRE(live.compose.up(live.project, {}).ok());

    sys::CurlHttpClient http;
    DockerEngine engine(http);
    const auto ids = [&] {
        std::map<std::string, std::string> out;
        auto containers = engine.project_containers(live.project.name);
        INFO((containers ? std::string() : containers.error().message));
        REQUIRE(containers.ok());
        for (const auto& c : *containers) {
            out[c.service] = c.id;
        }
        return out;
    };
    const auto cat = [&](const std::string& service, const std::string& file) {
        return run_ok({"docker", "exec", ids().at(service), "cat", file});
    };
    REQUIRE(eventually([&] { return ids().size() == 3; }));
    const auto before = ids();
    CHECK(cat("web", "/page.txt") == "release 1");

    // A checkout replaces files (a new inode): the running container keeps the old one, and a
    // plain `up` sees no configuration change.
    write(live.dir.path() / "page.new", "release 2\n");
    std::filesystem::rename(live.dir.path() / "page.new", live.dir.path() / "page.txt");
    write(live.dir.path() / "app" / "v.txt", "app 2\n");
    REQUIRE(live.compose.up(live.project, {}).ok());
    CHECK(ids() == before);
    CHECK(cat("web", "/page.txt") == "release 1");
    CHECK(cat("app", "/v.txt") == "app 1");

    auto up = live.compose.up(live.project, {}, {.rebuild = {"app"}, .recreate = {"web"}});
    INFO((up.ok() ? std::string() : up.error().message));
    REQUIRE(up.ok());
    const auto after = ids();
    CHECK(after.at("db") == before.at("db"));
    CHECK(after.at("web") != before.at("web"));
    CHECK(after.at("app") != before.at("app"));  // compose recreates it: its image changed
    CHECK(cat("web", "/page.txt") == "release 2");
    CHECK(cat("app", "/v.txt") == "app 2");
    (void)image;
}

}  // namespace unit_runtime_compose_runner_test
