#include "agent/runtime/docker_engine.h"
#include "agent/sys/base64.h"

#include <catch2/catch.hpp>

#include <cstdint>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "agent/sys/files.h"
#include "agent/sys/http.h"
#include "agent/sys/url.h"
#include "tests/unit/runtime/test_support.h"

namespace unit_runtime_docker_engine_test {

using namespace agentd;
using namespace agentd::runtime;

namespace {

/// Answers by URL substring (first match wins) and records every request; bodies are given to
/// on_body in small chunks, as a stream would be.
class FakeHttp final : public sys::HttpClient {
public:
    struct Route {
        std::string url_part;
        sys::HttpResponse response;
    };
    std::vector<Route> routes;
    std::vector<sys::HttpRequest> requests;

    void add(std::string url_part, long status, std::string body,
             std::vector<std::pair<std::string, std::string>> headers = {}) {
        routes.push_back({std::move(url_part), {status, std::move(headers), std::move(body)}});
    }

    sys::Result<sys::HttpResponse> send(const sys::HttpRequest& request) override {
        requests.push_back(request);
        for (const auto& route : routes) {
            if (request.url.find(route.url_part) == std::string::npos) {
                continue;
            }
            auto response = route.response;
            if (request.on_body) {
                for (std::size_t i = 0; i < response.body.size(); i += 7) {
                    request.on_body(std::string_view(response.body).substr(i, 7));
                }
                response.body.clear();
            }
            return response;
        }
        return sys::Error::failed("fake: no route for " + request.url);
    }
};

FakeHttp engine_with_version(const std::string& version) {
    FakeHttp http;
    http.add("/_ping", 200, "OK", {{"api-version", version}});
    return http;
}

}  // namespace

TEST_CASE("engine: API version is the lower of 1.41 and the engine's", "[runtime][engine]") {
    {
        auto http = engine_with_version("1.43");
        DockerEngine engine(http);
        CHECK(engine.api_version().value() == "1.41");
    }
    {
        auto http = engine_with_version("1.40");
        DockerEngine engine(http);
        CHECK(engine.api_version().value() == "1.40");
    }
}

TEST_CASE("engine: version is negotiated once and used in every URL", "[runtime][engine]") {
    auto http = engine_with_version("1.40");
    http.add("/images/", 404, R"({"message":"no such image"})");
    DockerEngine engine(http, "/run/custom.sock");
    CHECK(engine.has_image("a/b:1").value() == false);
    CHECK(engine.has_image("a/b:2").value() == false);
    REQUIRE(http.requests.size() == 3);
    CHECK(http.requests[1].url == "http://localhost/v1.40/images/a/b:1/json");
    CHECK(http.requests[2].unix_socket == "/run/custom.sock");
}

TEST_CASE("engine: an unreachable engine is an error naming the socket", "[runtime][engine]") {
    FakeHttp http;  // no routes: every request fails
    DockerEngine engine(http, "/run/nowhere.sock");
    auto r = engine.has_image("x:1");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("/run/nowhere.sock") != std::string::npos);
}

TEST_CASE("engine: pull sends name and digest, and credentials as X-Registry-Auth",
          "[runtime][engine]") {
    auto http = engine_with_version("1.41");
    http.add("/images/create", 200, "{\"status\":\"Pulling\"}\n{\"status\":\"Done\"}\n");
    DockerEngine engine(http);
    const std::string digest = "sha256:" + std::string(64, 'a');
    auto r = engine.pull("ghcr.io:443/acme/web:2.3@" + digest,
                         RegistryCredentials{"bot", "s3cret", "ghcr.io"}, {});
    REQUIRE(r.ok());
    const auto& req = http.requests.back();
    CHECK(req.method == "POST");
    CHECK(req.url ==
          "http://localhost/v1.41/images/create?fromImage=ghcr.io%3A443%2Facme%2Fweb"
          "&tag=sha256%3A" +
              std::string(64, 'a'));
    REQUIRE(req.headers.size() == 1);
    CHECK(req.headers[0].first == "X-Registry-Auth");
    const auto expected = sys::base64url_encode(nlohmann::json{
        {"username", "bot"},
        {"password", "s3cret"},
        {"serveraddress", "ghcr.io"}}.dump());
    CHECK(req.headers[0].second == expected);
}

TEST_CASE("engine: errors inside a 200 pull stream fail the pull", "[runtime][engine]") {
    auto http = engine_with_version("1.41");
    http.add("/images/create", 200,
             "{\"status\":\"Pulling fs layer\"}\n"
             "{\"errorDetail\":{\"message\":\"unexpected EOF\"},\"error\":\"unexpected EOF\"}\n");
    DockerEngine engine(http);
    auto r = engine.pull("r.example/app@sha256:" + std::string(64, 'b'), std::nullopt, {});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == sys::Error::Kind::Failed);
    CHECK(r.error().message.find("unexpected EOF") != std::string::npos);
    CHECK(r.error().message.find("r.example/app") != std::string::npos);
    CHECK(http.requests.back().headers.empty());
}

TEST_CASE("engine: a pull answered 404 is NotFound with the engine's message",
          "[runtime][engine]") {
    auto http = engine_with_version("1.41");
    http.add("/images/create", 404, R"({"message":"manifest unknown"})");
    DockerEngine engine(http);
    auto r = engine.pull("r.example/app:1", std::nullopt, {});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().is_not_found());
    CHECK(r.error().message.find("manifest unknown") != std::string::npos);
    CHECK(http.requests.back().url.find("fromImage=r.example%2Fapp&tag=1") != std::string::npos);
}

TEST_CASE("engine: refused registry credentials are Unauthorized", "[runtime][engine]") {
    auto http = engine_with_version("1.41");
    http.add("/images/create?fromImage=a", 500,
             R"({"message":"Get \"http://r/v2/a/manifests/x\": no basic auth credentials"})");
    http.add("/images/create?fromImage=b", 200,
             "{\"errorDetail\":{\"message\":\"unauthorized: authentication required\"}}\n");
    DockerEngine engine(http);
    auto missing = engine.pull("a:1", std::nullopt, {});
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().kind == sys::Error::Kind::Unauthorized);
    auto wrong = engine.pull("b:1", RegistryCredentials{"bot", "wrong-secret", "r"}, {});
    REQUIRE_FALSE(wrong.ok());
    CHECK(wrong.error().kind == sys::Error::Kind::Unauthorized);
    CHECK(wrong.error().message.find("wrong-secret") == std::string::npos);
}

TEST_CASE("engine: references that do not fit in a URL path are rejected", "[runtime][engine]") {
    auto http = engine_with_version("1.41");
    DockerEngine engine(http);
    CHECK(engine.has_image("a/../b?x=1").error().kind == sys::Error::Kind::InvalidInput);
    CHECK(engine.pull("", std::nullopt, {}).error().kind == sys::Error::Kind::InvalidInput);
}

TEST_CASE("engine: pull references split into fromImage and tag", "[runtime][engine]") {
    using P = std::pair<std::string, std::string>;
    CHECK(split_pull_reference("busybox") == P{"busybox", "latest"});
    CHECK(split_pull_reference("localhost:5000/a/b") == P{"localhost:5000/a/b", "latest"});
    CHECK(split_pull_reference("localhost:5000/a/b:v1") == P{"localhost:5000/a/b", "v1"});
    CHECK(split_pull_reference("a/b:v1@sha256:abc") == P{"a/b", "sha256:abc"});
    CHECK(split_pull_reference("h:1/a@sha256:abc") == P{"h:1/a", "sha256:abc"});
}

TEST_CASE("engine: project containers are listed by label and inspected", "[runtime][engine]") {
    auto http = engine_with_version("1.41");
    http.add("/containers/json", 200, R"([{"Id":"bbbb"},{"Id":"aaaa"},{"Id":"cccc"}])");
    http.add("/containers/aaaa/json", 200, R"({
      "Id":"aaaa","Name":"/shop_web_1","Image":"sha256:1111","RestartCount":2,
      "Config":{"Image":"web@sha256:22","Labels":{"com.docker.compose.service":"web"}},
      "State":{"Status":"running","ExitCode":0,"OOMKilled":false,
               "StartedAt":"2026-11-22T07:50:12.123456789Z",
               "Health":{"Status":"unhealthy","Log":[
                  {"ExitCode":1,"Output":"wget: server returned error 500\n"},
                  {"ExitCode":0,"Output":"ok"}]}},
      "HostConfig":{"RestartPolicy":{"Name":"unless-stopped"}}})");
    http.add("/containers/bbbb/json", 200, R"({
      "Id":"bbbb","Name":"/shop_migrate_run_1","Image":"sha256:3333",
      "Config":{"Image":"m:1","Labels":{"com.docker.compose.service":"migrate",
                                        "com.docker.compose.oneoff":"True"}},
      "State":{"Status":"exited","ExitCode":3,"OOMKilled":true,
               "StartedAt":"0001-01-01T00:00:00Z"},
      "HostConfig":{"RestartPolicy":{"Name":""}}})");
    http.add("/containers/cccc/json", 404, R"({"message":"No such container: cccc"})");
    DockerEngine engine(http);
    auto r = engine.project_containers("shop");
    REQUIRE(r.ok());
    const auto list_url = http.requests[1].url;
    CHECK(list_url.find("/containers/json?all=1&filters=") != std::string::npos);
    CHECK(list_url.find(sys::url_encode(R"({"label":["com.docker.compose.project=shop"]})")) !=
          std::string::npos);
    REQUIRE(r->size() == 2);  // cccc vanished in between
    const auto& migrate = (*r)[0];
    CHECK(migrate.service == "migrate");
    CHECK(migrate.one_off);
    CHECK(migrate.state == "exited");
    CHECK(migrate.exit_code == 3);
    CHECK(migrate.oom_killed);
    CHECK(migrate.health.empty());
    CHECK(migrate.restart_policy == "no");
    CHECK(migrate.started_at == sys::TimePoint{});
    const auto& web = (*r)[1];
    CHECK(web.id == "aaaa");
    CHECK(web.name == "shop_web_1");
    CHECK(web.service == "web");
    CHECK(web.image == "web@sha256:22");
    CHECK(web.image_id == "sha256:1111");
    CHECK(web.state == "running");
    CHECK(web.health == "unhealthy");
    CHECK(web.health_log == "wget: server returned error 500");
    CHECK(web.restart_count == 2);
    CHECK_FALSE(web.one_off);
    CHECK(web.restart_policy == "unless-stopped");
    CHECK(sys::format_rfc3339(web.started_at) == "2026-11-22T07:50:12Z");
}

TEST_CASE("engine: a failed listing is an error with the engine's message", "[runtime][engine]") {
    auto http = engine_with_version("1.41");
    http.add("/containers/json", 500, R"({"message":"daemon is shutting down"})");
    DockerEngine engine(http);
    auto r = engine.project_containers("shop");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("shop") != std::string::npos);
    CHECK(r.error().message.find("daemon is shutting down") != std::string::npos);
}

TEST_CASE("engine: fields of another type in the engine's answers count as absent, never throw",
          "[runtime][engine]") {
    // Found by tests/fuzz/engine_answers: nlohmann's value() throws when the field has another
    // type, and the exception left project_containers (and would have ended a worker).
    auto http = engine_with_version("1.41");
    http.add("/containers/json", 200, R"([{"Id":7},{"Id":"b\u00e9"},{"Id":"aaaa"}])");
    http.add("/containers/aaaa/json", 200, R"({
      "Id":["aaaa"],"Name":5,"Image":null,"RestartCount":"2",
      "Config":{"Image":"web:1","Labels":{"com.docker.compose.service":"web"}},
      "State":{"Status":"running","ExitCode":"3","Health":{"Status":"unhealthy","Log":[
                  {"ExitCode":1,"Output":["not text"]},{"ExitCode":"1","Output":"x"}]}}})");
    DockerEngine engine(http);
    const auto r = engine.project_containers("shop");
    REQUIRE(r.ok());
    REQUIRE(r->size() == 1);  // the number and the non-hex Id are not containers to inspect
    const auto& web = (*r)[0];
    CHECK(web.id.empty());
    CHECK(web.name.empty());
    CHECK(web.image_id.empty());
    CHECK(web.service == "web");
    CHECK(web.image == "web:1");
    CHECK(web.exit_code == 0);
    CHECK(web.restart_count == 0);
    CHECK(web.health_log.empty());
    CHECK(http.requests.size() == 3);  // ping, list, one inspect
}

// ---- against the real engine ----

using namespace agentd::runtime::testing;

TEST_CASE("engine: has_image sees a local image and not a missing one",
          "[runtime][engine][integration][docker]") {
    const auto image = ensure_test_image();
    sys::CurlHttpClient http;
    DockerEngine engine(http);
    CHECK(engine.api_version().ok());
    CHECK(engine.has_image(image).value() == true);
    CHECK(engine.has_image("agentd-runtime-test/absent:nope").value() == false);
}

TEST_CASE("engine: project containers reflect the real containers' state",
          "[runtime][engine][integration][docker]") {
    const auto image = ensure_test_image();
    const auto project = unique_name("agentdrt");
    const auto web = project + "-web";
    const auto job = project + "-job";
    const auto other = project + "-other";
    Cleanup cleanup([&] { run({"docker", "rm", "-f", web, job, other}); });

    run_ok({"docker",
            "run",
            "-d",
            "--name",
            web,
            "--label",
            "com.docker.compose.project=" + project,
            "--label",
            "com.docker.compose.service=web",
            "--restart",
            "unless-stopped",
            "--health-cmd",
            "echo sick; exit 1",
            "--health-interval",
            "1s",
            "--health-retries",
            "1",
            image,
            "sleep",
            "300"});
    run({"docker", "run", "--name", job, "--label", "com.docker.compose.project=" + project,
         "--label", "com.docker.compose.service=migrate", "--label",
         "com.docker.compose.oneoff=True", image, "sh", "-c", "exit 3"});
    run_ok({"docker", "create", "--name", other, "--label",
            "com.docker.compose.project=" + project + "x", image});

    sys::CurlHttpClient http;
    DockerEngine engine(http);
    std::vector<ContainerState> containers;
    REQUIRE(eventually([&] {
        auto r = engine.project_containers(project);
        REQUIRE(r.ok());
        containers = *r;
        return containers.size() == 2 && containers[1].health == "unhealthy";
    }));
    const auto& migrate = containers[0];
    CHECK(migrate.name == job);
    CHECK(migrate.service == "migrate");
    CHECK(migrate.one_off);
    CHECK(migrate.state == "exited");
    CHECK(migrate.exit_code == 3);
    CHECK(migrate.health.empty());
    CHECK(migrate.restart_policy == "no");
    const auto& w = containers[1];
    CHECK(w.name == web);
    CHECK(w.service == "web");
    CHECK(w.state == "running");
    CHECK(w.health_log == "sick");
    CHECK(w.restart_policy == "unless-stopped");
    CHECK(w.image == image);
    CHECK(w.image_id.rfind("sha256:", 0) == 0);
    CHECK(w.id.size() == 64);
    CHECK(std::chrono::system_clock::now() - w.started_at < std::chrono::minutes(5));
}

TEST_CASE("engine: pull by digest from a registry, and a missing digest fails clearly",
          "[runtime][engine][integration][docker][registry]") {
    const auto registry = test_registry();
    const auto image = ensure_test_image();
    const auto repo = registry + "/" + unique_name("agentd-runtime-pull");
    const auto tagged = repo + ":1";
    Cleanup cleanup([&] {
        run({"docker", "rmi", tagged});
        remove_digests_of(repo);
    });
    run_ok({"docker", "tag", image, tagged});
    run_ok({"docker", "push", tagged});
    const auto pinned =
        run_ok({"docker", "image", "inspect", "--format", "{{index .RepoDigests 0}}", tagged});
    REQUIRE(pinned.rfind(repo + "@sha256:", 0) == 0);
    run_ok({"docker", "rmi", tagged});

    sys::CurlHttpClient http;
    DockerEngine engine(http);
    CHECK(engine.has_image(pinned).value() == false);
    auto pulled = engine.pull(pinned, std::nullopt, {});
    INFO((pulled.ok() ? std::string() : pulled.error().message));
    REQUIRE(pulled.ok());
    CHECK(engine.has_image(pinned).value() == true);

    const auto missing = repo + "@sha256:" + std::string(64, '0');
    auto r = engine.pull(missing, std::nullopt, {});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().is_not_found());
    CHECK(r.error().message.find(missing) != std::string::npos);
    CHECK(r.error().message.find("not found") != std::string::npos);
}

TEST_CASE("engine: pulling a multi-platform index digest runs the host's platform",
          "[runtime][engine][integration][docker][registry]") {
    const auto registry = test_registry();
    const auto base = ensure_test_image();
    const auto repo = registry + "/" + unique_name("agentd-runtime-index");
    const auto host_arch = run_ok({"docker", "version", "--format", "{{.Server.Arch}}"});
    const std::string other_arch = host_arch == "arm64" ? "amd64" : "arm64";
    // Two images with the same layer and different configs, so different manifests and IDs:
    // one stands for the host's platform, the other for a foreign one.
    const auto host_tag = repo + ":host";
    const auto other_tag = repo + ":other";
    Cleanup cleanup([&] {
        run({"docker", "rmi", host_tag, other_tag});
        remove_digests_of(repo);
    });
    run_ok({"docker", "tag", base, host_tag});
    const auto container = run_ok({"docker", "create", base});
    const auto saved = run({"docker", "export", container});
    run({"docker", "rm", container});
    REQUIRE(saved.success());
    run_ok({"docker", "import", "-c", R"(CMD ["/bin/true"])", "-", other_tag}, saved.out);
    const auto host_id = run_ok({"docker", "image", "inspect", "--format", "{{.Id}}", host_tag});
    const auto other_id = run_ok({"docker", "image", "inspect", "--format", "{{.Id}}", other_tag});
    REQUIRE(host_id != other_id);
    run_ok({"docker", "push", host_tag});
    run_ok({"docker", "push", other_tag});

    // The index, as buildx pushes it: one manifest per platform, the foreign one first.
    sys::CurlHttpClient http;
    auto manifest_of = [&](const std::string& tag) {
        sys::HttpRequest get;
        get.url =
            "http://" + registry + "/v2/" + repo.substr(registry.size() + 1) + "/manifests/" + tag;
        get.headers = {{"Accept", "application/vnd.docker.distribution.manifest.v2+json"}};
        auto r = http.send(get);
        REQUIRE(r.ok());
        REQUIRE(r->status == 200);
        return nlohmann::json{{"mediaType", "application/vnd.docker.distribution.manifest.v2+json"},
                              {"digest", r->header("docker-content-digest").value()},
                              {"size", r->body.size()}};
    };
    auto foreign = manifest_of("other");
    foreign["platform"] = {{"architecture", other_arch}, {"os", "linux"}};
    auto native = manifest_of("host");
    native["platform"] = {{"architecture", host_arch}, {"os", "linux"}};
    const std::string index = nlohmann::json{
        {"schemaVersion", 2},
        {"mediaType", "application/vnd.oci.image.index.v1+json"},
        {"manifests",
         {foreign, native}}}.dump();
    sys::HttpRequest put;
    put.method = "PUT";
    put.url = "http://" + registry + "/v2/" + repo.substr(registry.size() + 1) + "/manifests/multi";
    put.headers = {{"Content-Type", "application/vnd.oci.image.index.v1+json"}};
    put.body = index;
    const auto stored = http.send(put);
    REQUIRE(stored.ok());
    REQUIRE(stored->status == 201);
    const std::string index_ref = repo + "@" + stored->header("docker-content-digest").value();

    run_ok({"docker", "rmi", host_tag, other_tag});
    DockerEngine engine(http);
    auto pulled = engine.pull(index_ref, std::nullopt, {});
    INFO((pulled.ok() ? std::string() : pulled.error().message));
    REQUIRE(pulled.ok());
    CHECK(run_ok({"docker", "image", "inspect", "--format", "{{.Id}}", index_ref}) == host_id);
}

TEST_CASE("engine: pull reports the stream's progress per image, and the end as done",
          "[runtime][engine]") {
    auto http = engine_with_version("1.41");
    // Lines as docker 20.10 sends them (see pull_progress_test.cpp), cut into 7-byte chunks.
    http.add("/images/create", 200,
             R"({"status":"Pulling from app","id":"1"})"
             "\n"
             R"({"status":"Pulling fs layer","progressDetail":{},"id":"a1"})"
             "\n"
             R"({"status":"Downloading","progressDetail":{"current":300,"total":1000},"id":"a1"})"
             "\n"
             R"({"status":"Download complete","progressDetail":{},"id":"a1"})"
             "\n"
             R"({"status":"Pull complete","progressDetail":{},"id":"a1"})"
             "\n"
             R"({"status":"Status: Downloaded newer image for r.example/app@sha256:aa"})"
             "\n");
    DockerEngine engine(http);
    std::vector<PullProgress> seen;
    const std::string reference = "r.example/app@sha256:" + std::string(64, 'c');
    REQUIRE(engine.pull(reference, std::nullopt, [&](const PullProgress& p) { seen.push_back(p); })
                .ok());
    REQUIRE(seen.size() == 5);
    CHECK(seen[0].reference == reference);
    CHECK(seen[0].layers == 1);
    CHECK(seen[1].current == 300);
    CHECK(seen[1].total == 1000);
    CHECK(seen[2].current == 1000);
    CHECK(seen[3].layers_done == 1);
    CHECK_FALSE(seen[3].done);
    CHECK(seen[4].done);
    CHECK(seen[4].current == 1000);
    // A failed pull ends without a "done".
    auto failing = engine_with_version("1.41");
    failing.add("/images/create", 200,
                R"({"status":"Pulling fs layer","progressDetail":{},"id":"a1"})"
                "\n"
                R"({"errorDetail":{"message":"unexpected EOF"},"error":"unexpected EOF"})"
                "\n");
    DockerEngine broken(failing);
    seen.clear();
    REQUIRE_FALSE(
        broken.pull(reference, std::nullopt, [&](const PullProgress& p) { seen.push_back(p); })
            .ok());
    REQUIRE(seen.size() == 1);
    CHECK_FALSE(seen.back().done);
}

TEST_CASE("engine: a blue-green network, a container's address on it, and stopping it",
          "[runtime][engine][integration][docker][blue_green]") {
    const auto image = ensure_test_image();
    const auto project = unique_name("agentdbg");
    const auto network = "agentd-" + project;
    const auto web = project + "-web";
    Cleanup cleanup([&] {
        run({"docker", "rm", "-f", web});
        run({"docker", "network", "rm", network});
    });
    sys::CurlHttpClient http;
    DockerEngine engine(http);
    REQUIRE(engine.ensure_network(network).ok());
    REQUIRE(engine.ensure_network(network).ok());  // there already: fine
    const auto labels = run_ok({"docker", "network", "inspect", "-f",
                                "{{.Driver}} {{index .Labels \"io.agentd.network\"}}", network});
    CHECK(labels.find("bridge blue-green") != std::string::npos);
    CHECK(engine.ensure_network("bad name;rm").error().kind == sys::Error::Kind::InvalidInput);

    run_ok({"docker", "run", "-d", "--name", web, "--network", network, "--label",
            "com.docker.compose.project=" + project, "--label", "com.docker.compose.service=web",
            image, "sleep", "300"});
    auto listed = engine.list_containers(project);
    REQUIRE(listed.ok());
    REQUIRE(listed->size() == 1);
    const auto c = listed->front();
    REQUIRE(c.addresses.count(network) == 1);
    auto ip = run_ok({"docker", "inspect", "-f",
                      "{{(index .NetworkSettings.Networks \"" + network + "\").IPAddress}}", web});
    ip.erase(ip.find_last_not_of(" \n") + 1);
    CHECK(c.addresses.at(network) == ip);

    REQUIRE(engine.stop_container(c.id, std::chrono::seconds(1)).ok());
    listed = engine.list_containers(project);
    REQUIRE(listed.ok());
    CHECK(listed->front().state == "exited");
    CHECK(engine.stop_container(c.id, std::chrono::seconds(1)).ok());  // stopped: fine
    run({"docker", "rm", "-f", web});
    CHECK(engine.stop_container(c.id, std::chrono::seconds(1)).ok());  // gone: fine
    CHECK(engine.stop_container("nope", std::chrono::seconds(1)).error().kind ==
          sys::Error::Kind::InvalidInput);
}

TEST_CASE("engine: list_containers reads the listing alone, without an inspect",
          "[runtime][engine][drift]") {
    auto http = engine_with_version("1.41");
    http.add("/containers/json", 200, R"([
      {"Id":"bbbb","Names":["/shop_web_1"],"Image":"web@sha256:22","State":"running",
       "Status":"Up 2 minutes","Labels":{"com.docker.compose.service":"web",
       "com.docker.compose.config-hash":"abc"}},
      {"Id":"aaaa","Names":["/shop_migrate_run_1"],"Image":"m:1","State":"exited",
       "Status":"Exited (137) 5 seconds ago","Labels":{"com.docker.compose.service":"migrate",
       "com.docker.compose.oneoff":"True"}},
      {"Id":"cccc","Names":"not a list","Image":7,"State":"created","Labels":null}])");
    DockerEngine engine(http);
    auto r = engine.list_containers("shop");
    REQUIRE(r.ok());
    CHECK(http.requests.size() == 2);  // the version, then the one listing
    REQUIRE(r->size() == 3);
    const auto& odd = (*r)[0];  // no service label: sorted first, fields of the wrong type absent
    CHECK(odd.id == "cccc");
    CHECK(odd.name.empty());
    CHECK(odd.image.empty());
    CHECK(odd.state == "created");
    const auto& migrate = (*r)[1];
    CHECK(migrate.one_off);
    CHECK(migrate.exit_code == 137);
    const auto& web = (*r)[2];
    CHECK(web.name == "shop_web_1");
    CHECK(web.service == "web");
    CHECK(web.image == "web@sha256:22");
    CHECK(web.state == "running");
    CHECK(web.config_hash == "abc");
    CHECK_FALSE(web.one_off);
}

TEST_CASE("engine: remove_image removes a reference, never one in use, never forced",
          "[runtime][engine][integration][docker][registry][retention]") {
    const auto registry = test_registry();
    const auto image = ensure_test_image();
    const auto repo = registry + "/" + unique_name("agentd-runtime-retain");
    const auto tagged = repo + ":1";
    const auto hand = unique_name("agentd-runtime-hand") + ":1";
    const auto user = unique_name("agentdrt-user");
    Cleanup cleanup([&] {
        run({"docker", "rm", "-f", user});
        run({"docker", "rmi", tagged, hand});
        remove_digests_of(repo);
    });
    // An image of its own: containers of other tests use the shared test image.
    run_ok({"docker", "build", "-q", "-t", tagged, "-"},
           "FROM " + image + "\nLABEL agentd.test=\"" + repo + "\"\n");
    run_ok({"docker", "push", tagged});
    const auto pinned =
        run_ok({"docker", "image", "inspect", "--format", "{{index .RepoDigests 0}}", tagged});
    run_ok({"docker", "rmi", tagged});
    sys::CurlHttpClient http;
    DockerEngine engine(http);
    REQUIRE(engine.pull(pinned, std::nullopt, {}).ok());

    // a container (even a stopped one) uses it: kept
    run_ok({"docker", "create", "--name", user, pinned});
    CHECK(engine.remove_image(pinned).value() == ImageRemoval::InUse);
    CHECK(engine.has_image(pinned).value());
    run_ok({"docker", "rm", user});
    // another name for the same image (a hand-made tag) keeps the image under that name
    run_ok({"docker", "tag", pinned, hand});
    CHECK(engine.remove_image(pinned).value() == ImageRemoval::Removed);
    CHECK_FALSE(engine.has_image(pinned).value());
    CHECK(engine.has_image(hand).value());
    CHECK(engine.remove_image(pinned).value() == ImageRemoval::Gone);
    CHECK_FALSE(engine.remove_image("bad ref").ok());
}

namespace {

/// One frame of an attached exec's output: stream (1 stdout, 2 stderr), 0 0 0, size (big
/// endian), payload.
std::string frame(char stream, const std::string& payload) {
    std::string out{stream, '\0', '\0', '\0'};
    const auto size = static_cast<std::uint32_t>(payload.size());
    for (int shift = 24; shift >= 0; shift -= 8) {
        out.push_back(static_cast<char>((size >> shift) & 0xff));
    }
    return out + payload;
}

const std::string k_container(64, 'c');
const std::string k_exec(64, 'e');

}  // namespace

TEST_CASE("engine: exec reads the output out of its frames, then the exit code",
          "[runtime][engine][proxy]") {
    auto http = engine_with_version("1.41");
    http.add("/containers/" + k_container + "/exec", 201, R"({"Id":")" + k_exec + R"("})");
    // A frame larger than a chunk, one of 0 bytes, and a stderr frame between stdout ones: the
    // fake hands the body over 7 bytes at a time.
    const std::string long_line(300, 'x');
    http.add("/exec/" + k_exec + "/start", 200,
             frame(2, "nginx: [emerg] unknown directive\n") + frame(1, "") +
                 frame(1, long_line + "\n") + frame(2, "test failed\n"));
    http.add("/exec/" + k_exec + "/json", 200, R"({"Running":false,"ExitCode":1,"Pid":4242})");
    DockerEngine engine(http);
    const auto ran = engine.exec(k_container, {"nginx", "-t"}, std::chrono::seconds(30));
    REQUIRE(ran.ok());
    CHECK(ran->exit_code == 1);
    CHECK(ran->output == "nginx: [emerg] unknown directive\n" + long_line + "\ntest failed\n");
    REQUIRE(http.requests.size() == 4);
    CHECK(http.requests[1].method == "POST");
    const auto create = nlohmann::json::parse(http.requests[1].body);
    CHECK(create["Cmd"] == nlohmann::json::array({"nginx", "-t"}));
    CHECK(create["AttachStdout"] == true);
    CHECK(create["AttachStderr"] == true);
    CHECK(create["Tty"] == false);
    CHECK(nlohmann::json::parse(http.requests[2].body) ==
          nlohmann::json{{"Detach", false}, {"Tty", false}});
    CHECK(http.requests[2].timeout == std::chrono::seconds(30));
}

TEST_CASE("engine: exec, signal and main_pid refuse ids and names that are not one",
          "[runtime][engine][proxy]") {
    auto http = engine_with_version("1.41");
    DockerEngine engine(http);
    for (const std::string& id :
         std::vector<std::string>{"", "abc", std::string(64, 'C'), std::string(63, 'c') + "/",
                                  std::string(64, 'c') + "/../x"}) {
        INFO(id);
        CHECK(engine.exec(id, {"true"}, std::chrono::seconds(1)).error().kind ==
              sys::Error::Kind::InvalidInput);
        CHECK(engine.signal(id, "HUP").error().kind == sys::Error::Kind::InvalidInput);
        CHECK(engine.main_pid(id).error().kind == sys::Error::Kind::InvalidInput);
    }
    for (const std::string signal : {"", "hup", "HUP&x=1", "SIG HUP", "SIGHUPSIGHUPSIGHUP"}) {
        INFO(signal);
        CHECK(engine.signal(k_container, signal).error().kind == sys::Error::Kind::InvalidInput);
    }
    CHECK(engine.exec(k_container, {}, std::chrono::seconds(1)).error().kind ==
          sys::Error::Kind::InvalidInput);
    CHECK(http.requests.empty());

    // An exec id that is not one is never put in a URL.
    http.add("/exec", 201, R"({"Id":"../../containers/x"})");
    const auto odd = engine.exec(k_container, {"true"}, std::chrono::seconds(1));
    REQUIRE_FALSE(odd.ok());
    CHECK_THAT(odd.error().message, Catch::Contains("no usable exec id"));
}

TEST_CASE("engine: exec, signal and main_pid in a real container",
          "[runtime][engine][proxy][integration][docker]") {
    const auto image = ensure_test_image();
    const auto name = unique_name("agentdexec");
    Cleanup cleanup([&] { run({"docker", "rm", "-f", name}); });
    // PID 1 writes "hup" to /hup for every SIGHUP.
    const auto id = run_ok({"docker", "run", "-d", "--name", name, image, "sh", "-c",
                            "trap 'echo hup >>/hup' HUP; while true; do sleep 0.1; done"});
    REQUIRE(id.size() == 64);
    sys::CurlHttpClient http;
    DockerEngine engine(http);

    const auto echoed = engine.exec(id, {"echo", "hello", "there"}, std::chrono::seconds(30));
    REQUIRE(echoed.ok());
    CHECK(echoed->exit_code == 0);
    CHECK(echoed->output == "hello there\n");
    const auto both =
        engine.exec(id, {"sh", "-c", "echo out; echo err >&2; exit 3"}, std::chrono::seconds(30));
    REQUIRE(both.ok());
    CHECK(both->exit_code == 3);
    CHECK_THAT(both->output, Catch::Contains("out\n") && Catch::Contains("err\n"));
    const auto absent = engine.exec(id, {"/no/such/program"}, std::chrono::seconds(30));
    REQUIRE(absent.ok());
    CHECK((absent->exit_code == 126 || absent->exit_code == 127));
    CHECK_THAT(absent->output, Catch::Contains("no such file or directory"));
    const auto slow = engine.exec(id, {"sleep", "5"}, std::chrono::seconds(1));
    REQUIRE_FALSE(slow.ok());
    CHECK(slow.error().kind == sys::Error::Kind::Failed);

    // The main process, as the host sees it.
    const auto pid = engine.main_pid(id);
    REQUIRE(pid.ok());
    CHECK(*pid == std::stoi(run_ok({"docker", "inspect", "-f", "{{.State.Pid}}", id})));
    const auto cmdline = sys::read_file(fmt::format("/proc/{}/cmdline", *pid));
    REQUIRE(cmdline.ok());
    CHECK_THAT(*cmdline, Catch::StartsWith(std::string("sh\0-c\0", 6)));

    REQUIRE(engine.signal(id, "HUP").ok());
    REQUIRE(eventually(
        [&] {
            const auto log = engine.exec(id, {"cat", "/hup"}, std::chrono::seconds(10));
            return log.ok() && log->output == "hup\n";
        },
        std::chrono::seconds(20)));
    REQUIRE(engine.signal(id, "SIGHUP").ok());
    REQUIRE(eventually(
        [&] {
            const auto log = engine.exec(id, {"cat", "/hup"}, std::chrono::seconds(10));
            return log.ok() && log->output == "hup\nhup\n";
        },
        std::chrono::seconds(20)));

    // Stopped: nothing runs to exec in, signal or name.
    run_ok({"docker", "stop", "-t", "0", id});
    CHECK(engine.exec(id, {"true"}, std::chrono::seconds(5)).error().kind ==
          sys::Error::Kind::Failed);
    CHECK(engine.signal(id, "HUP").error().kind == sys::Error::Kind::Failed);
    const auto stopped = engine.main_pid(id);
    REQUIRE_FALSE(stopped.ok());
    CHECK(stopped.error().kind == sys::Error::Kind::Failed);
    CHECK_THAT(stopped.error().message, Catch::Contains("does not run (state exited)"));
    // Gone.
    run_ok({"docker", "rm", "-f", id});
    CHECK(engine.exec(id, {"true"}, std::chrono::seconds(5)).error().kind ==
          sys::Error::Kind::NotFound);
    CHECK(engine.signal(id, "HUP").error().kind == sys::Error::Kind::NotFound);
    CHECK(engine.main_pid(id).error().kind == sys::Error::Kind::NotFound);
}

}  // namespace unit_runtime_docker_engine_test
