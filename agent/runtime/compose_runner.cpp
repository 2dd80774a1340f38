#include "agent/runtime/compose_runner.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>

#include "agent/sys/files.h"

namespace agentd::runtime {

namespace {

constexpr auto k_config_timeout = std::chrono::minutes(2);
// up may create many containers and run long healthcheck-free starts (run_once: the hook's
// own timeout).
constexpr auto k_up_timeout = std::chrono::minutes(30);

/// Compose project names: what compose itself accepts, and never an option.
bool valid_project_name(const std::string& name) {
    return !name.empty() && name.size() <= 63 &&
           std::isalnum(static_cast<unsigned char>(name[0])) &&
           std::all_of(name.begin(), name.end(), [](unsigned char c) {
               return (std::islower(c) || std::isdigit(c) || c == '-' || c == '_');
           });
}

bool valid_service_name(const std::string& name) {
    return !name.empty() && name[0] != '-' && name.size() <= 255 &&
           std::all_of(name.begin(), name.end(), [](unsigned char c) {
               return std::isalnum(c) || c == '-' || c == '_' || c == '.';
           });
}

std::string scalar(const YAML::Node& node) {
    return node && node.IsScalar() ? node.as<std::string>() : std::string();
}

/// A build context or volume source that names a path, not a URL or a named volume.
bool is_path(const std::string& source) {
    return !source.empty() && (source[0] == '/' || source[0] == '.' || source[0] == '~');
}

bool is_url(const std::string& context) {
    return context.find("://") != std::string::npos || context.rfind("git@", 0) == 0 ||
           context.rfind("github.com/", 0) == 0;
}

/// `env_file` as a string, a list of strings, or (v2) a list of {path, required}.
std::vector<std::string> env_file_paths(const YAML::Node& node) {
    std::vector<std::string> out;
    if (node && node.IsScalar()) {
        out.push_back(node.as<std::string>());
    } else if (node && node.IsSequence()) {
        for (const auto& item : node) {
            const auto path = item.IsMap() ? scalar(item["path"]) : scalar(item);
            if (!path.empty()) {
                out.push_back(path);
            }
        }
    }
    return out;
}

/// The file inputs of one service of compose's normalised output: build context and
/// Dockerfile, bind-mount sources, env files, and the files of its configs and secrets.
void read_inputs(const YAML::Node& root, const YAML::Node& body, ComposeService& s) {
    if (const auto build = body["build"]; build && build.IsMap()) {
        const auto context = scalar(build["context"]);
        if (!context.empty() && !is_url(context)) {
            s.build_context = context;
        }
        s.build_dockerfile = scalar(build["dockerfile"]);
        if (const auto extra = build["additional_contexts"]; extra && extra.IsMap()) {
            for (const auto& item : extra) {
                if (const auto path = scalar(item.second); is_path(path)) {
                    s.build_contexts.push_back(path);
                }
            }
        }
    } else if (const auto path = scalar(body["build"]); !path.empty() && !is_url(path)) {
        s.build_context = path;
    }
    if (const auto volumes = body["volumes"]; volumes && volumes.IsSequence()) {
        for (const auto& volume : volumes) {
            if (volume.IsScalar()) {
                // "SOURCE:TARGET[:MODE]": a source that is a path is a bind mount.
                const auto text = volume.as<std::string>();
                const auto colon = text.find(':');
                if (const auto source = text.substr(0, colon);
                    colon != std::string::npos && is_path(source)) {
                    s.bind_sources.push_back(source);
                }
            } else if (volume.IsMap() && scalar(volume["type"]) == "bind") {
                if (const auto source = scalar(volume["source"]); !source.empty()) {
                    s.bind_sources.push_back(source);
                }
            }
        }
    }
    s.env_files = env_file_paths(body["env_file"]);
    for (const char* kind : {"configs", "secrets"}) {
        const auto used = body[kind];
        if (!used || !used.IsSequence()) {
            continue;
        }
        for (const auto& item : used) {
            const auto name = item.IsMap() ? scalar(item["source"]) : scalar(item);
            const auto declared = root[kind];
            if (name.empty() || !declared || !declared.IsMap() || !declared[name] ||
                !declared[name].IsMap()) {
                continue;
            }
            if (const auto file = scalar(declared[name]["file"]); !file.empty()) {
                s.files.push_back(file);
            }
        }
    }
}

}  // namespace

sys::Result<std::vector<std::filesystem::path>> compose_files(const ComposeProject& project) {
    std::vector<std::filesystem::path> out;
    if (!project.files.empty()) {
        for (const auto& file : project.files) {
            const auto path = project.dir / file;
            if (!std::filesystem::is_regular_file(path)) {
                return sys::Error::invalid(
                    fmt::format("compose file {} does not exist", path.string()));
            }
            out.push_back(path);
        }
        return out;
    }
    for (const char* name :
         {"compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"}) {
        if (std::filesystem::is_regular_file(project.dir / name)) {
            out.push_back(project.dir / name);
            break;
        }
    }
    if (out.empty()) {
        return sys::Error::invalid(fmt::format(
            "no compose file in {} (looked for compose.yaml, compose.yml, docker-compose.yml, "
            "docker-compose.yaml)",
            project.dir.string()));
    }
    for (const char* name : {"compose.override.yaml", "compose.override.yml",
                             "docker-compose.override.yml", "docker-compose.override.yaml"}) {
        if (std::filesystem::is_regular_file(project.dir / name)) {
            out.push_back(project.dir / name);
            break;
        }
    }
    return out;
}

std::string override_yaml(const std::map<std::string, std::string>& pins,
                          const ComposeProject& project) {
    // No `version:` key: compose 1.27+ merges an unversioned file with versioned ones (checked
    // with 1.29 against "2.4", "3.8" and unversioned main files), and v2 ignores the key.
    YAML::Emitter out;
    out << YAML::Comment("Written by agentd: pins every service image to its digest.");
    out << YAML::BeginMap;
    if (!project.network.empty()) {
        out << YAML::Key << "networks" << YAML::Value << YAML::BeginMap << YAML::Key << "default"
            << YAML::Value << YAML::BeginMap << YAML::Key << "external" << YAML::Value << true
            << YAML::Key << "name" << YAML::Value << project.network << YAML::EndMap
            << YAML::EndMap;
    }
    std::set<std::string> services;
    for (const auto& [service, image] : pins) {
        services.insert(service);
    }
    for (const auto& [service, alias] : project.aliases) {
        services.insert(service);
    }
    out << YAML::Key << "services" << YAML::Value << YAML::BeginMap;
    for (const auto& service : services) {
        out << YAML::Key << service << YAML::Value << YAML::BeginMap;
        if (const auto pin = pins.find(service); pin != pins.end()) {
            out << YAML::Key << "image" << YAML::Value << pin->second;
        }
        if (const auto alias = project.aliases.find(service); alias != project.aliases.end()) {
            out << YAML::Key << "networks" << YAML::Value << YAML::BeginMap << YAML::Key
                << "default" << YAML::Value << YAML::BeginMap << YAML::Key << "aliases"
                << YAML::Value << YAML::Flow << YAML::BeginSeq << alias->second << YAML::EndSeq
                << YAML::EndMap << YAML::EndMap;
        }
        out << YAML::EndMap;
    }
    out << YAML::EndMap << YAML::EndMap;
    return std::string(out.c_str()) + "\n";
}

sys::Result<std::vector<ComposeService>> parse_compose_config(const std::string& yaml) {
    std::vector<ComposeService> out;
    try {
        const auto root = YAML::Load(yaml);
        const auto services = root["services"];
        if (!services || services.IsNull()) {
            return out;
        }
        if (!services.IsMap()) {
            return sys::Error::invalid("compose config: `services` is not a mapping");
        }
        for (const auto& entry : services) {
            ComposeService s;
            s.name = entry.first.as<std::string>();
            const auto& body = entry.second;
            if (body.IsMap()) {
                if (body["image"] && body["image"].IsScalar()) {
                    s.image = body["image"].as<std::string>();
                }
                s.build = static_cast<bool>(body["build"]);
                if (body["restart"] && body["restart"].IsScalar()) {
                    s.restart = body["restart"].as<std::string>();
                }
                if (const auto profiles = body["profiles"]; profiles && profiles.IsSequence()) {
                    for (const auto& profile : profiles) {
                        if (const auto name = scalar(profile); !name.empty()) {
                            s.profiles.push_back(name);
                        }
                    }
                }
                s.container_name = scalar(body["container_name"]);
                s.network_mode = scalar(body["network_mode"]);
                if (const auto ports = body["ports"]; ports && ports.IsSequence()) {
                    // "8080:80/tcp" or {published: 8080, target: 80}; a bare "80" lets the
                    // engine choose the host port, which two copies can both do.
                    for (const auto& port : ports) {
                        s.publishes_ports = s.publishes_ports ||
                                            scalar(port).find(':') != std::string::npos ||
                                            (port.IsMap() && port["published"]);
                    }
                }
                read_inputs(root, body, s);
            }
            if (s.restart == "no") {
                s.restart.clear();
            }
            out.push_back(std::move(s));
        }
    } catch (const YAML::Exception& e) {
        return sys::Error::invalid(fmt::format("compose config: {}", e.what()));
    }
    std::sort(out.begin(), out.end(),
              [](const ComposeService& a, const ComposeService& b) { return a.name < b.name; });
    // Compose prints each service once (v1 keeps the last of a duplicated key, v2 refuses it);
    // yaml-cpp would keep both, so output with one twice did not come from compose.
    const auto twice = std::adjacent_find(
        out.begin(), out.end(),
        [](const ComposeService& a, const ComposeService& b) { return a.name == b.name; });
    if (twice != out.end()) {
        return sys::Error::invalid(
            fmt::format("compose config: service \"{}\" is defined twice", twice->name));
    }
    return out;
}

ComposeRunner::ComposeRunner(sys::ProcessRunner& runner) : m_runner(runner) {}

sys::Result<std::vector<std::string>> ComposeRunner::command() {
    if (m_command) {
        return *m_command;
    }
    auto v2 = m_runner.run(
        {.argv = {"docker", "compose", "version"}, .timeout = std::chrono::seconds(30)});
    if (v2 && v2->success()) {
        m_command = std::vector<std::string>{"docker", "compose"};
    } else if (sys::find_program("docker-compose")) {
        m_command = std::vector<std::string>{"docker-compose"};
    } else {
        return sys::Error::not_found(
            "compose: neither `docker compose` (v2) nor `docker-compose` (v1) is installed");
    }
    spdlog::debug("compose: using `{}`", fmt::join(*m_command, " "));
    return *m_command;
}

sys::Result<sys::ProcessResult> ComposeRunner::compose(
    const ComposeProject& project, const std::vector<std::string>& args,
    const std::map<std::string, std::string>* pins, sys::Duration timeout) {
    if (!valid_project_name(project.name)) {
        return sys::Error::invalid(
            fmt::format("compose: invalid project name \"{}\"", project.name));
    }
    auto prefix = command();
    if (!prefix) {
        return prefix.error();
    }
    auto files = compose_files(project);
    if (!files) {
        return files.error();
    }
    std::vector<std::string> argv = *prefix;
    argv.insert(argv.end(), {"-p", project.name, "--project-directory", project.dir.string()});
    for (const auto& file : *files) {
        argv.insert(argv.end(), {"-f", file.string()});
    }
    if (pins != nullptr && (!pins->empty() || !project.network.empty())) {
        if (project.override_file.empty()) {
            return sys::Error::invalid(
                fmt::format("compose {}: no override file set", project.name));
        }
        for (const auto& [service, image] : *pins) {
            if (!valid_service_name(service)) {
                return sys::Error::invalid(
                    fmt::format("compose {}: invalid service name \"{}\"", project.name, service));
            }
        }
        const auto path = project.dir / project.override_file;
        std::error_code ec;
        std::filesystem::create_directories(path.parent_path(), ec);
        if (ec) {
            return sys::Error::failed(fmt::format("compose {}: {}: {}", project.name,
                                                  path.parent_path().string(), ec.message()));
        }
        if (auto written = sys::write_file_atomic(path, override_yaml(*pins, project)); !written) {
            return sys::Error::failed(
                fmt::format("compose {}: {}", project.name, written.error().message));
        }
        argv.insert(argv.end(), {"-f", path.string()});
    }
    argv.insert(argv.end(), args.begin(), args.end());
    return m_runner.run({.argv = argv, .cwd = project.dir, .env = project.env, .timeout = timeout});
}

sys::Result<std::vector<ComposeService>> ComposeRunner::services(const ComposeProject& project) {
    // One run both validates (a refusal is InvalidInput with compose's own message) and prints
    // the merged project: compose v1 spends most of a run starting Python, and this run is on
    // the path from a git push to the deployment (docs/benchmarks.md, reaction).
    auto config = compose(project, {"config"}, nullptr, k_config_timeout);
    if (!config) {
        return config.error();
    }
    if (!config->success()) {
        // Only compose's own refusal is a verdict on the files; a run that was killed (timeout,
        // signal, out of memory) said nothing about them and is asked again at the next poll.
        if (!sys::exited(*config)) {
            return sys::Error::failed(
                fmt::format("compose config {}: {}", project.name, sys::describe_exit(*config)));
        }
        return sys::Error::invalid(
            fmt::format("compose config {}: {}", project.name, sys::output_tail(config->err)));
    }
    auto parsed = parse_compose_config(config->out);
    if (!parsed) {
        return sys::Error::failed(
            fmt::format("compose config {}: {}", project.name, parsed.error().message));
    }
    return parsed;
}

sys::Result<void> ComposeRunner::up(const ComposeProject& project,
                                    const std::map<std::string, std::string>& pins,
                                    const UpOptions& options) {
    for (const auto* names : {&options.rebuild, &options.recreate}) {
        for (const auto& service : *names) {
            if (!valid_service_name(service)) {
                return sys::Error::invalid(fmt::format("compose up {}: invalid service name \"{}\"",
                                                       project.name, service));
            }
        }
    }
    // The steps, each its own compose run; the first failure ends the apply.
    std::vector<std::pair<std::string, std::vector<std::string>>> steps;
    if (!options.rebuild.empty()) {
        std::vector<std::string> args{"build"};
        args.insert(args.end(), options.rebuild.begin(), options.rebuild.end());
        steps.emplace_back("build", std::move(args));
    }
    for (const auto& service : project.only) {
        if (!valid_service_name(service)) {
            return sys::Error::invalid(
                fmt::format("compose up {}: invalid service name \"{}\"", project.name, service));
        }
    }
    std::vector<std::string> up{"up", "-d", "--remove-orphans"};
    if (!project.only.empty()) {
        // A blue-green project: its own services only, not what they depend on (the shared
        // project runs that).
        up.push_back("--no-deps");
        up.insert(up.end(), project.only.begin(), project.only.end());
    }
    steps.emplace_back("up", std::move(up));
    if (!options.recreate.empty()) {
        std::vector<std::string> args{"up", "-d", "--no-deps", "--force-recreate"};
        args.insert(args.end(), options.recreate.begin(), options.recreate.end());
        steps.emplace_back("up --force-recreate", std::move(args));
    }
    for (const auto& [what, args] : steps) {
        auto r = compose(project, args, &pins, k_up_timeout);
        if (!r) {
            return r.error();
        }
        if (!r->success()) {
            // compose refused the release (exit status): a verdict; killed or timed out:
            // transient.
            auto message =
                fmt::format("compose {} {}: {}", what, project.name, sys::describe_exit(*r));
            return sys::exited(*r) ? sys::Error::invalid(std::move(message))
                                   : sys::Error::failed(std::move(message));
        }
    }
    return {};
}

sys::Result<std::string> ComposeRunner::run_once(const ComposeProject& project,
                                                 const std::map<std::string, std::string>& pins,
                                                 const std::string& service,
                                                 sys::Duration timeout) {
    if (!valid_service_name(service)) {
        return sys::Error::invalid(
            fmt::format("compose run {}: invalid service name \"{}\"", project.name, service));
    }
    // -T: no pseudo-terminal, agentd has none to give.
    auto r = compose(project, {"run", "--rm", "-T", service}, &pins, timeout);
    if (!r) {
        return r.error();
    }
    if (r->timed_out) {
        return sys::Error::failed(
            fmt::format("timed out after {}", sys::format_duration(timeout)));
    }
    // The hook's own output is on stdout and stderr, compose's on stderr: the last lines of
    // both say what happened.
    const auto output = sys::output_tail(r->out + "\n" + r->err);
    if (r->exit_code < 0) {
        return sys::Error::failed("killed by a signal");
    }
    if (!r->success()) {
        return sys::Error::failed(fmt::format("exit {}{}{}", r->exit_code,
                                              output.empty() ? "" : ": ", output));
    }
    return output;
}

}  // namespace agentd::runtime
