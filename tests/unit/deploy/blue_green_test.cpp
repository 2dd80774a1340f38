// Blue-green's pure parts: project and network names, what verify refuses, the probes of a
// slot's own gate and the proxy's routes to a slot.

#include <catch2/catch.hpp>

#include "agent/deploy/blue_green.h"
#include "agent/model/deployment.h"

namespace unit_deploy_blue_green_test {

using namespace agentd;

namespace {

config::BlueGreen web_and_api() {
    config::BlueGreen bg;
    bg.services = {{"web", 80}, {"api", 8080}};
    return bg;
}

runtime::ComposeService service(const std::string& name) {
    runtime::ComposeService s;
    s.name = name;
    s.image = "example/" + name;
    return s;
}

runtime::ContainerSummary container(const std::string& service, const std::string& ip,
                                    const std::string& state = "running") {
    runtime::ContainerSummary c;
    c.id = "id-" + service + ip;
    c.service = service;
    c.state = state;
    if (!ip.empty()) {
        c.addresses["agentd-shop"] = ip;
    }
    c.addresses["bridge"] = "10.9.9.9";  // another network's address is never used
    return c;
}

}  // namespace

TEST_CASE("blue-green: project and network names", "[blue_green]") {
    CHECK(deploy::slot_project("shop", "blue") == "shop-blue");
    CHECK(deploy::slot_project("shop", "green") == "shop-green");
    CHECK(deploy::shared_project("shop") == "shop-shared");
    CHECK(deploy::slot_network("shop") == "agentd-shop");
    CHECK(model::other_slot("blue") == "green");
    CHECK(model::other_slot("green") == "blue");
}

TEST_CASE("blue-green: names derive from the project, project_prefix and the stack's name",
          "[blue_green]") {
    config::Stack stack;
    stack.name = "shop";
    stack.project_prefix = "a1-";
    CHECK(deploy::slot_project(stack.project(), "blue") == "a1-shop-blue");
    CHECK(deploy::slot_project(stack.project(), "green") == "a1-shop-green");
    CHECK(deploy::shared_project(stack.project()) == "a1-shop-shared");
    CHECK(deploy::slot_network(stack.project()) == "agentd-a1-shop");
}

TEST_CASE("blue-green: verify refuses what two slots cannot share", "[blue_green]") {
    const auto bg = web_and_api();
    std::vector<runtime::ComposeService> services{service("web"), service("api"), service("db")};
    CHECK_FALSE(deploy::refuse_slots(bg, services));

    SECTION("a shared service may have all of it") {
        services[2].container_name = "db";
        services[2].publishes_ports = true;
        services[2].network_mode = "host";
        CHECK_FALSE(deploy::refuse_slots(bg, services));
    }
    SECTION("container_name") {
        services[0].container_name = "shop-web";
        const auto why = deploy::refuse_slots(bg, services);
        REQUIRE(why);
        CHECK(*why ==
              "blue_green: service web sets container_name \"shop-web\", which its blue and green "
              "copies cannot both have; remove it (the proxy is how traffic reaches a slot)");
    }
    SECTION("a published port") {
        services[1].publishes_ports = true;
        const auto why = deploy::refuse_slots(bg, services);
        REQUIRE(why);
        CHECK_THAT(*why, Catch::Contains("service api publishes a host port"));
    }
    SECTION("host networking, or another container's") {
        for (const std::string mode : {"host", "service:db", "container:abc"}) {
            services[0].network_mode = mode;
            const auto why = deploy::refuse_slots(bg, services);
            REQUIRE(why);
            CHECK_THAT(*why, Catch::Contains("uses network_mode \"" + mode + "\""));
        }
        services[0].network_mode = "bridge";
        CHECK_FALSE(deploy::refuse_slots(bg, services));
    }
    SECTION("a slot service the compose file does not have") {
        services.erase(services.begin());
        const auto why = deploy::refuse_slots(bg, services);
        REQUIRE(why);
        CHECK(*why == "blue_green: service web is not in the compose file");
    }
}

TEST_CASE("blue-green: the shared project's services", "[blue_green]") {
    std::vector<runtime::ComposeService> services{service("api"), service("db"), service("migrate"),
                                                  service("web"), service("worker")};
    services[2].profiles = {"hooks"};  // run by hooks, never by up
    CHECK(deploy::shared_services(web_and_api(), services) ==
          std::vector<std::string>{"db", "worker"});
}

TEST_CASE("blue-green: verify refuses an nginx service that cannot see the upstream file",
          "[blue_green]") {
    auto bg = web_and_api();
    bg.proxy.upstream_file = "/srv/nginx/agentd/shop.conf";
    std::vector<runtime::ComposeService> services{service("web"), service("api"), service("nginx")};
    auto& nginx = services[2];
    nginx.bind_sources = {"/srv/nginx/conf.d", "/srv/nginx/agentd"};
    CHECK_FALSE(deploy::refuse_proxy(bg, services));  // nginx: host checks nothing here
    services.pop_back();
    CHECK_FALSE(deploy::refuse_proxy(bg, services));
    services.push_back(service("nginx"));
    bg.proxy.nginx = config::NginxKind::Service;
    auto& proxy = services[2];
    proxy.bind_sources = {"/srv/nginx/conf.d", "/srv/nginx/agentd"};
    CHECK_FALSE(deploy::refuse_proxy(bg, services));

    SECTION("a mount of a directory above it, however written") {
        for (const std::string source : {"/srv/nginx", "/srv/nginx/", "/srv", "/",
                                         "/srv/./nginx/agentd/", "/srv/x/../nginx/agentd"}) {
            INFO(source);
            proxy.bind_sources = {source};
            CHECK_FALSE(deploy::refuse_proxy(bg, services));
        }
    }
    SECTION("the file itself: a rename never reaches the container") {
        proxy.bind_sources = {"/srv/nginx/conf.d", "/srv/nginx/agentd/shop.conf"};
        const auto why = deploy::refuse_proxy(bg, services);
        REQUIRE(why);
        CHECK(*why ==
              "blue_green.proxy: service nginx (nginx) bind-mounts the upstream file "
              "/srv/nginx/agentd/shop.conf itself; agentd replaces that file by a rename at each "
              "switch, and a mount of a single file keeps showing the container the file it was "
              "started with: bind-mount its directory /srv/nginx/agentd instead");
    }
    SECTION("no mount of its directory") {
        for (const std::string source :
             {"/srv/nginx/agentd/sub", "/srv/nginx/agent", "/srv/ngin", "relative/agentd"}) {
            INFO(source);
            proxy.bind_sources = {"/srv/nginx/conf.d", source};
            const auto why = deploy::refuse_proxy(bg, services);
            REQUIRE(why);
            CHECK(*why ==
                  "blue_green.proxy: service nginx (nginx) does not bind-mount the upstream "
                  "file's directory /srv/nginx/agentd (or one above it), so nginx cannot read "
                  "the file agentd writes there");
        }
    }
    SECTION("another service's name") {
        bg.proxy.service = "front";
        CHECK(deploy::refuse_proxy(bg, services) ==
              "blue_green.proxy: service front (nginx) is not in the compose file");
    }
    SECTION("a slot service") {
        bg.proxy.service = "web";
        services[0].bind_sources = {"/srv/nginx/agentd"};
        CHECK_THAT(deploy::refuse_proxy(bg, services).value_or(""),
                   Catch::Contains("service web (nginx) is a slot service"));
    }
    SECTION("a profile") {
        proxy.profiles = {"edge"};
        CHECK(deploy::refuse_proxy(bg, services) ==
              "blue_green.proxy: service nginx (nginx) has a profile, so compose up does not "
              "start it");
    }
}

TEST_CASE("blue-green: a slot's own gate asks each container, not the proxy", "[blue_green]") {
    const std::vector<config::HttpProbe> probes{{"http://127.0.0.1:8080/healthz?deep=1", 204},
                                                {"http://proxy.example", 0}};
    const std::vector<runtime::ContainerSummary> slot{
        container("web", "172.18.0.5"), container("web", "172.18.0.6"),
        container("api", "172.18.0.7"), container("api", ""),  // not on the network (yet)
        container("db", "172.18.0.9")};
    const auto out = deploy::slot_probes(web_and_api(), probes, slot, "agentd-shop");
    std::vector<std::string> urls;
    for (const auto& p : out) {
        urls.push_back(p.url + " " + std::to_string(p.status));
    }
    CHECK(urls == std::vector<std::string>{
                      "http://172.18.0.5:80/healthz?deep=1 204",
                      "http://172.18.0.6:80/healthz?deep=1 204",
                      "http://172.18.0.7:8080/healthz?deep=1 204",
                      "http://172.18.0.5:80/ 0",
                      "http://172.18.0.6:80/ 0",
                      "http://172.18.0.7:8080/ 0",
                  });
    CHECK(deploy::slot_probes(web_and_api(), {}, slot, "agentd-shop").empty());
}

TEST_CASE("blue-green: the proxy's routes to a slot", "[blue_green]") {
    const std::vector<runtime::ContainerSummary> slot{
        container("web", "172.18.0.5"), container("web", "172.18.0.6", "exited"),
        container("api", "172.18.0.7"), container("worker", "172.18.0.8")};
    const auto routes =
        deploy::slot_routes("shop", web_and_api(), "green", 12, slot, "agentd-shop");
    REQUIRE(routes);
    CHECK(routes->stack == "shop");
    CHECK(routes->slot == "green");
    CHECK(routes->deployment == 12);
    CHECK(routes->upstreams ==
          std::map<std::string, std::vector<std::string>>{{"shop_api", {"172.18.0.7:8080"}},
                                                          {"shop_web", {"172.18.0.5:80"}}});
    CHECK(runtime::check_routes(*routes));

    SECTION("a slot service without a running container on the network is an error") {
        const std::vector<runtime::ContainerSummary> broken{
            container("web", "172.18.0.5"), container("api", "172.18.0.7", "restarting")};
        const auto none =
            deploy::slot_routes("shop", web_and_api(), "blue", 3, broken, "agentd-shop");
        REQUIRE_FALSE(none);
        CHECK(none.error().message ==
              "slot blue: service api has no running container on network agentd-shop");
    }
}

}  // namespace unit_deploy_blue_green_test
