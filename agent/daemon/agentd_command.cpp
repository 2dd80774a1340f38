#include "agent/daemon/agentd_command.h"

#include <CLI/CLI.hpp>

#include <iostream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "agent/config/config.h"
#include "agent/daemon/agentd_metrics.h"
#include "agent/daemon/daemon.h"
#include "agent/daemon/notifier.h"
#include "agent/daemon/wiring.h"
#include "agent/state/state_lock.h"
#include "agent/sys/log.h"
#include "agent/sys/memory.h"
#include "agent/sys/process_groups.h"
#include "agent/sys/version.h"

namespace agentd::daemon {
namespace {

constexpr int k_exit_usage = 2;

struct Options {
    std::string config_path = "/etc/agentd/agent.yaml";
    bool once = false;
    bool check_config = false;
    std::string log_level = "info";
};

}  // namespace

int run_agentd(int argc, char** argv) {
    Options o;
    CLI::App app{"agentd: keeps docker compose stacks at their newest verified release"};
    app.set_version_flag("--version", std::string("agentd ") + sys::k_version);
    app.add_option("--config", o.config_path,
                   "configuration file (default /etc/agentd/agent.yaml)");
    app.add_flag("--once", o.once, "run one cycle per stack, then exit");
    app.add_flag("--check-config", o.check_config, "validate the configuration and exit");
    app.add_option("--log-level", o.log_level,
                   "least severe records logged: debug, info (default), warning (or warn), "
                   "error; to the journal with AGENTD_STACK= fields under systemd")
        ->check(CLI::IsMember({"debug", "info", "warn", "warning", "error"}));
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e);
        return code == 0 ? 0 : k_exit_usage;
    }

    // Under systemd stderr goes to the journal: send it entries with fields instead.
    sys::init_logging(sys::detect_log_target(), o.log_level);

    config::Config config;
    try {
        config = config::load_config(o.config_path);
    } catch (const config::ConfigError& e) {
        for (const auto& issue : e.issues()) {
            std::cerr << issue.to_string() << "\n";
        }
        return k_exit_usage;
    }
    if (o.check_config) {
        std::cout << fmt::format("config OK: {} stacks\n", config.stacks.size());
        return 0;
    }

    // Before any thread exists, so that every thread inherits the blocked mask.
    block_signals();
    // Workers, the API's threads and libcurl's resolver threads would each get an arena.
    sys::limit_malloc_arenas(1);
    // Creates state_dir (0700) too; held until exit.
    auto lock = state::StateLock::acquire(config.state_dir);
    if (!lock) {
        std::cerr << "agentd: " << lock.error().message << "\n";
        return 1;
    }
    // What a killed agentd left running (compose in the middle of `up`, what it started) is
    // killed before anything else runs; then recovery finishes the deployment it was part of.
    auto groups = std::make_shared<sys::ProcessGroups>(config.state_dir / "children");
    for (const auto& left : groups->kill_leftovers()) {
        spdlog::warn("killed process group {} left running by a previous agentd ({} processes)",
                     left.group.pgid, left.members.size());
    }
    sys::SystemClock clock;
    AgentdMetrics metrics(clock.now());
    ProgressHub progress;
    auto wiring = make_real_wiring(groups, &metrics, &progress);
    SystemdNotifier notifier;
    Daemon daemon(std::move(config), o.config_path, *wiring, notifier, clock, &metrics, &progress);
    try {
        return o.once ? daemon.run_once() : daemon.serve();
    } catch (const std::exception& e) {
        spdlog::critical("agentd: {}", e.what());
        return 1;
    }
}

}  // namespace agentd::daemon
