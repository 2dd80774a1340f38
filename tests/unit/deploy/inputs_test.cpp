#include "agent/deploy/inputs.h"

#include <catch2/catch.hpp>

#include <fstream>

#include "agent/runtime/compose_runner.h"
#include "tests/unit/temp_dir.h"

namespace unit_deploy_inputs_test {

using namespace agentd;
using deploy::StackInputs;
using Paths = std::set<std::string>;

namespace {

/// A checkout of a deploy repository: files written relative to its root.
struct Repo {
    testing::TempDir tmp;
    std::filesystem::path root = tmp.path() / "checkout";

    Repo() { std::filesystem::create_directories(root); }
    void write(const std::string& path, const std::string& text) const {
        std::filesystem::create_directories((root / path).parent_path());
        std::ofstream(root / path) << text;
    }
    void link(const std::string& path, const std::string& target) const {
        std::filesystem::create_directories((root / path).parent_path());
        std::filesystem::create_symlink(target, root / path);
    }
    /// The inputs of the stack in `dir`, with compose's normalised output given as YAML (as
    /// `compose config` prints it: paths absolute, so "@" stands for the project directory).
    StackInputs inputs(const std::string& dir, const std::string& config,
                       std::vector<std::string> files = {"compose.yaml"},
                       std::map<std::string, std::string> env = {}) const {
        std::string text = config;
        const auto project = (root / dir).lexically_normal().string();
        for (auto at = text.find('@'); at != std::string::npos; at = text.find('@', at)) {
            text.replace(at, 1, project);
            at += project.size();
        }
        auto services = runtime::parse_compose_config(text);
        REQUIRE(services.ok());
        deploy::InputsSource source;
        source.root = root;
        source.project_dir = root / dir;
        for (const auto& file : files) {
            source.compose_files.push_back(root / dir / file);
        }
        source.env = std::move(env);
        return deploy::collect_inputs(source, *services);
    }
};

/// A ChangedPaths answering as git would for a commit that changed `files`: a path changed
/// when a changed file is it or lies below it. Records what it was asked.
struct Commit {
    std::set<std::string> files;
    std::vector<std::string> asked;
    deploy::ChangedPaths fn() {
        return [this](const std::vector<std::string>& paths) -> sys::Result<Paths> {
            asked = paths;
            Paths out;
            for (const auto& path : paths) {
                for (const auto& file : files) {
                    if (path.empty() || file == path || file.rfind(path + "/", 0) == 0) {
                        out.insert(path);
                    }
                }
            }
            return out;
        };
    }
};

deploy::InputChanges compare(const StackInputs& inputs, std::set<std::string> files) {
    Commit commit{std::move(files), {}};
    auto r = deploy::compare_inputs(inputs, commit.fn());
    REQUIRE(r.ok());
    return *r;
}

bool noted(const StackInputs& inputs, const std::string& text) {
    for (const auto& note : inputs.notes) {
        if (note.find(text) != std::string::npos) {
            return true;
        }
    }
    return false;
}

}  // namespace

TEST_CASE("inputs: the stack's directory and compose files, nothing of other stacks",
          "[deploy][inputs]") {
    Repo repo;
    repo.write("shop/compose.yaml", "services: {web: {image: busybox}}\n");
    repo.write("blog/compose.yaml", "services: {web: {image: busybox}}\n");
    const auto inputs = repo.inputs("shop", "services:\n  web:\n    image: busybox\n");
    CHECK(inputs.paths == Paths{"shop", "shop/.env", "shop/compose.yaml"});
    CHECK(inputs.definitions == Paths{"shop/.env", "shop/compose.yaml"});
    CHECK(inputs.build.empty());
    CHECK(inputs.mounted.empty());

    CHECK_FALSE(compare(inputs, {"blog/compose.yaml", "README.md"}).changed);
    const auto changed = compare(inputs, {"shop/compose.yaml"});
    CHECK(changed.changed);
    CHECK(changed.paths == std::vector<std::string>{"shop", "shop/compose.yaml"});
    CHECK(compare(inputs, {"shop/notes.txt"}).changed);  // anything in its directory
}

TEST_CASE("inputs: a stack at the repository root reads the whole repository", "[deploy][inputs]") {
    Repo repo;
    repo.write("compose.yaml", "services: {web: {image: busybox}}\n");
    const auto inputs = repo.inputs("", "services:\n  web:\n    image: busybox\n");
    CHECK(inputs.paths.count(""));
    CHECK(compare(inputs, {"anything/else.txt"}).changed);
}

TEST_CASE("inputs: include and extends chains are followed, relative to each file",
          "[deploy][inputs]") {
    Repo repo;
    repo.write("shop/compose.yaml", R"(include:
  - ../common/db.yaml
  - path: [../common/cache/cache.yaml]
    env_file: ../common/cache/cache.env
services:
  web:
    extends: {file: ../common/base.yaml, service: base}
    env_file: [web.env, {path: ../common/shared.env, required: false}]
)");
    repo.write("common/db.yaml", "services:\n  db:\n    image: busybox\n    env_file: db.env\n");
    repo.write("common/cache/cache.yaml", "services: {cache: {image: busybox}}\n");
    // extends inside an extended file: relative to that file's directory
    repo.write("common/base.yaml",
               "services:\n  base:\n    extends: {file: deeper/root.yaml, service: root}\n"
               "    env_file: base.env\n");
    repo.write("common/deeper/root.yaml", "services: {root: {image: busybox}}\n");
    const auto inputs = repo.inputs("shop", "services:\n  web:\n    image: busybox\n");
    CHECK(inputs.definitions == Paths{"shop/.env", "shop/compose.yaml", "common/db.yaml",
                                      "common/cache/cache.yaml", "common/base.yaml",
                                      "common/deeper/root.yaml"});
    for (const auto* path : {"shop/web.env", "common/shared.env", "common/cache/cache.env",
                             "common/db.env", "common/base.env", "common/deeper/root.yaml"}) {
        INFO(path);
        CHECK(inputs.paths.count(path));
    }
    CHECK(compare(inputs, {"common/deeper/root.yaml"}).changed);
    CHECK(compare(inputs, {"common/db.env"}).changed);
    CHECK_FALSE(compare(inputs, {"common/other.yaml"}).changed);
}

TEST_CASE("inputs: include and extends cycles end, each file read once", "[deploy][inputs]") {
    Repo repo;
    repo.write("shop/compose.yaml", "include: [a.yaml]\nservices: {web: {image: busybox}}\n");
    repo.write("shop/a.yaml", "include: [b.yaml]\n");
    repo.write("shop/b.yaml",
               "include: [a.yaml, compose.yaml]\nservices:\n  x:\n"
               "    extends: {file: b.yaml, service: x}\n");
    const auto inputs = repo.inputs("shop", "services: {}\n");
    CHECK(inputs.definitions ==
          Paths{"shop/.env", "shop/compose.yaml", "shop/a.yaml", "shop/b.yaml"});
}

TEST_CASE("inputs: a chain deeper than the limit stops there", "[deploy][inputs]") {
    Repo repo;
    repo.write("shop/compose.yaml", "include: [f0.yaml]\n");
    for (int i = 0; i < deploy::k_max_depth + 5; ++i) {
        repo.write("shop/f" + std::to_string(i) + ".yaml",
                   "include: [f" + std::to_string(i + 1) + ".yaml]\n");
    }
    const auto inputs = repo.inputs("shop", "services: {}\n");
    CHECK(inputs.definitions.count("shop/f" + std::to_string(deploy::k_max_depth - 1) + ".yaml"));
    CHECK_FALSE(inputs.paths.count("shop/f" + std::to_string(deploy::k_max_depth + 1) + ".yaml"));
    CHECK(noted(inputs, "nested deeper"));
}

TEST_CASE("inputs: paths leaving the repository are not followed", "[deploy][inputs]") {
    Repo repo;
    // a file next to the checkout, which a `..` too many would reach
    std::ofstream(repo.tmp.path() / "outside.yaml")
        << "services: {x: {image: busybox, env_file: /etc/secret.env}}\ninclude: [x.yaml]\n";
    repo.write("shop/compose.yaml", R"(include: [../../outside.yaml]
services:
  web:
    extends: {file: ../../../etc/base.yaml, service: web}
    env_file: [/etc/agentd/shop.env, ../../host.env]
)");
    const auto inputs = repo.inputs("shop", R"(services:
  web:
    image: busybox
    volumes:
    - /var/run/docker.sock:/var/run/docker.sock:rw
    - /srv/data:/data:rw
    - ~/cache:/cache:rw
)");
    CHECK(inputs.paths == Paths{"shop", "shop/.env", "shop/compose.yaml"});
    CHECK(inputs.mounted.empty());
    CHECK(noted(inputs, "outside.yaml is a host path"));
    CHECK(noted(inputs, "/etc/agentd/shop.env is a host path"));
    CHECK(noted(inputs, "/var/run/docker.sock is a host path"));
    CHECK(noted(inputs, "~/cache is a host path"));
    CHECK_FALSE(noted(inputs, "secret.env"));  // outside.yaml was never read
}

TEST_CASE("inputs: env_file paths are interpolated as compose does", "[deploy][inputs]") {
    Repo repo;
    repo.write("shop/.env", "TIER=prod\nEMPTY=\n");
    repo.write("shop/compose.yaml", R"(services:
  web:
    env_file:
      - env/${TIER}.env
      - env/${REGION:-eu}.env
      - env/${EMPTY:-fallback}.env
      - env/${EMPTY-kept}x.env
      - env/$SITE.env
      - env/$${literal}.env
)");
    const auto inputs =
        repo.inputs("shop", "services: {web: {image: busybox}}\n", {"compose.yaml"},
                    {{"SITE", "shop1"}, {"TIER", "staging"}});  // the environment wins
    for (const auto* path : {"shop/env/staging.env", "shop/env/eu.env", "shop/env/fallback.env",
                             "shop/env/x.env", "shop/env/shop1.env", "shop/env/${literal}.env"}) {
        INFO(path);
        CHECK(inputs.paths.count(path));
    }
}

TEST_CASE("inputs: bind mounts of files and directories, and configs and secrets",
          "[deploy][inputs]") {
    Repo repo;
    repo.write("shop/compose.yaml", "services: {}\n");
    repo.write("shop/nginx.conf", "worker_processes 1;\n");
    // compose v1's normalised output for short and long volume syntax, configs, secrets
    const auto inputs = repo.inputs("shop", R"(configs:
  cfg:
    file: @/../common/cfg.txt
secrets:
  token:
    file: @/token.txt
  external_one:
    external: true
services:
  proxy:
    image: nginx
    configs:
    - source: cfg
    secrets:
    - token
    - external_one
    volumes:
    - @/nginx.conf:/etc/nginx/nginx.conf:ro
    - data:/data:rw
  app:
    image: busybox
    volumes:
    - @:/app:rw
    - type: bind
      source: @/../common/static
      target: /static
  db:
    image: busybox
    volumes:
    - dbdata:/var/lib/db:rw
)");
    CHECK(inputs.mounted.at("proxy") ==
          Paths{"shop/nginx.conf", "common/cfg.txt", "shop/token.txt"});
    CHECK(inputs.mounted.at("app") == Paths{"shop", "common/static"});
    CHECK_FALSE(inputs.mounted.count("db"));
    CHECK(inputs.paths.count("common/static"));
    CHECK(inputs.paths.count("common/cfg.txt"));

    const auto nginx = compare(inputs, {"shop/nginx.conf"});
    CHECK(nginx.changed);
    // the app mounts the whole directory, so it sees the change too; db never
    CHECK(nginx.recreate == std::vector<std::string>{"app", "proxy"});
    CHECK(nginx.rebuild.empty());
    CHECK(compare(inputs, {"common/static/logo.png"}).recreate == std::vector<std::string>{"app"});
    CHECK(compare(inputs, {"common/cfg.txt"}).recreate == std::vector<std::string>{"proxy"});
    CHECK_FALSE(compare(inputs, {"common/other.txt"}).changed);
}

TEST_CASE("inputs: build context and a Dockerfile outside it", "[deploy][inputs]") {
    Repo repo;
    repo.write("shop/compose.yaml", "services: {}\n");
    const auto inputs = repo.inputs("shop", R"(services:
  api:
    build:
      context: @/api
      dockerfile: ../docker/api.Dockerfile
      args: {A: '1'}
      target: prod
  web:
    build:
      context: @/../web
      additional_contexts:
        assets: @/../assets
        base: docker-image://busybox
  remote:
    build:
      context: https://github.com/acme/remote.git#main
  db:
    image: busybox
)");
    CHECK(inputs.build.at("api") == Paths{"shop/api", "shop/docker/api.Dockerfile"});
    CHECK(inputs.build.at("web") == Paths{"web", "web/Dockerfile", "assets"});
    CHECK(inputs.build.at("remote").empty());
    CHECK_FALSE(inputs.build.count("db"));

    const auto dockerfile = compare(inputs, {"shop/docker/api.Dockerfile"});
    CHECK(dockerfile.changed);
    CHECK(dockerfile.rebuild == std::vector<std::string>{"api"});
    CHECK(dockerfile.recreate.empty());  // compose recreates what the build gave a new image
    CHECK(compare(inputs, {"assets/logo.png"}).rebuild == std::vector<std::string>{"web"});
    CHECK(compare(inputs, {"web/main.go"}).rebuild == std::vector<std::string>{"web"});
    // a change to the compose file may change any build section (args, target)
    const auto definition = compare(inputs, {"shop/compose.yaml"});
    CHECK(definition.rebuild == std::vector<std::string>{"api", "remote", "web"});
    CHECK(definition.recreate.empty());
}

TEST_CASE("inputs: symlinks are resolved inside the checkout, and are inputs themselves",
          "[deploy][inputs]") {
    Repo repo;
    repo.write("shop/compose.yaml", "include: [linked.yaml, host.yaml]\n");
    repo.write("shared/conf/nginx.conf", "x\n");
    repo.write("shared/real.yaml", "services: {x: {image: busybox}}\n");
    repo.link("shop/conf", "../shared/conf");
    repo.link("shop/linked.yaml", "../shared/real.yaml");
    repo.link("shop/host.yaml", "/etc/passwd");
    repo.link("shop/escape", "../../../etc");
    repo.link("shop/loop", "loop");
    const auto inputs = repo.inputs("shop", R"(services:
  proxy:
    image: nginx
    volumes:
    - @/conf/nginx.conf:/etc/nginx/nginx.conf:ro
    - @/escape/hosts:/etc/hosts:ro
    - @/loop/x:/x:ro
)");
    CHECK(inputs.mounted.at("proxy") ==
          Paths{"shop/conf", "shared/conf/nginx.conf", "shop/escape", "shop/loop"});
    CHECK(inputs.definitions.count("shop/linked.yaml"));
    CHECK(inputs.definitions.count("shared/real.yaml"));
    CHECK(inputs.paths.count("shop/host.yaml"));
    CHECK(noted(inputs, "links to the host path /etc/passwd"));
    CHECK(noted(inputs, "leads out of the repository"));
    CHECK(noted(inputs, "too many levels"));
    CHECK(compare(inputs, {"shared/conf/nginx.conf"}).recreate ==
          std::vector<std::string>{"proxy"});
    CHECK(compare(inputs, {"shared/real.yaml"}).changed);
}

TEST_CASE("inputs: git is asked once, about every input", "[deploy][inputs]") {
    Repo repo;
    repo.write("shop/compose.yaml", "services: {}\n");
    const auto inputs =
        repo.inputs("shop", "services:\n  web:\n    image: b\n    volumes: ['@/../x:/x:ro']\n");
    Commit commit{{"x"}, {}};
    int calls = 0;
    auto counting = [&](const std::vector<std::string>& paths) {
        ++calls;
        return commit.fn()(paths);
    };
    const auto r = deploy::compare_inputs(inputs, counting);
    REQUIRE(r.ok());
    CHECK(calls == 1);
    CHECK(commit.asked == std::vector<std::string>{"shop", "shop/.env", "shop/compose.yaml", "x"});
    CHECK(r->recreate == std::vector<std::string>{"web"});
    CHECK(deploy::describe(*r) == "changed: x; recreate web");

    const auto failed = deploy::compare_inputs(
        inputs, [](const auto&) -> sys::Result<Paths> { return sys::Error::not_found("gone"); });
    CHECK(failed.error().is_not_found());
}

}  // namespace unit_deploy_inputs_test
