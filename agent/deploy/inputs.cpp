#include "agent/deploy/inputs.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <optional>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "agent/sys/files.h"

namespace agentd::deploy {
namespace {

namespace fs = std::filesystem;

constexpr int k_max_links = 40;  // as the kernel's ELOOP limit

/// Where a path of the checkout leads: the symlinks of the repository met on the way (each an
/// input itself) and the repository path it ends at, unless it leaves the repository.
struct Resolved {
    std::vector<std::string> links;
    std::optional<std::string> path;  ///< nullopt: outside the repository
    std::string why;                  ///< when outside
};

std::string join(const std::vector<std::string>& parts) {
    std::string out;
    for (const auto& part : parts) {
        out += (out.empty() ? "" : "/") + part;
    }
    return out;
}

std::vector<std::string> split(const fs::path& path) {
    std::vector<std::string> out;
    for (const auto& part : path) {
        const auto s = part.string();
        if (!s.empty() && s != "." && s != "/") {
            out.push_back(s);
        }
    }
    return out;
}

/// Resolves `absolute` inside the checkout at `root`, following the repository's symlinks
/// one component at a time and never reading anything outside root.
Resolved resolve(const fs::path& root, const fs::path& absolute) {
    Resolved r;
    const auto normal = absolute.lexically_normal();
    const auto relative = normal.lexically_relative(root.lexically_normal());
    const auto first = relative.begin();
    if (relative.empty() || (first != relative.end() && first->string() == "..")) {
        r.why = fmt::format("{} is a host path (outside the repository): not versioned",
                            absolute.string());
        return r;
    }
    std::vector<std::string> pending = split(relative);
    std::reverse(pending.begin(), pending.end());  // a stack: the next component at the back
    std::vector<std::string> current;
    int links = 0;
    while (!pending.empty()) {
        const auto name = pending.back();
        pending.pop_back();
        if (name == "..") {
            if (current.empty()) {
                r.why = fmt::format("{} leads out of the repository", absolute.string());
                return r;
            }
            current.pop_back();
            continue;
        }
        current.push_back(name);
        const auto candidate = join(current);
        struct stat st {};
        if (::lstat((root / candidate).c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) {
            continue;  // a plain entry, or absent (compose creates absent mount sources)
        }
        r.links.push_back(candidate);
        current.pop_back();
        if (++links > k_max_links) {
            r.why = fmt::format("{}: too many levels of symbolic links", absolute.string());
            return r;
        }
        std::string target(static_cast<std::size_t>(st.st_size) + 1, '\0');
        const auto n = ::readlink((root / candidate).c_str(), target.data(), target.size());
        if (n < 0) {
            r.why = fmt::format("{}: unreadable symbolic link", candidate);
            return r;
        }
        target.resize(static_cast<std::size_t>(n));
        if (!target.empty() && target[0] == '/') {
            r.why = fmt::format("{} links to the host path {}: not versioned", candidate, target);
            return r;
        }
        auto parts = split(target);
        for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
            pending.push_back(*it);
        }
    }
    r.path = join(current);
    return r;
}

/// compose's interpolation of ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error},
/// $VAR and $$ in a path of a raw file; unknown variables are empty, as in compose.
std::string interpolate(const std::string& text, const std::map<std::string, std::string>& env) {
    const auto value = [&](const std::string& name) -> std::optional<std::string> {
        const auto it = env.find(name);
        return it == env.end() ? std::nullopt : std::optional(it->second);
    };
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '$' || i + 1 == text.size()) {
            out += text[i];
            continue;
        }
        if (text[i + 1] == '$') {
            out += '$';
            ++i;
        } else if (text[i + 1] == '{') {
            const auto end = text.find('}', i + 2);
            if (end == std::string::npos) {
                out += text.substr(i);
                break;
            }
            const auto body = text.substr(i + 2, end - i - 2);
            const auto op = body.find_first_of(":-?");
            const auto name = body.substr(0, op);
            const auto v = value(name);
            if (op == std::string::npos || body[op] == '?' ||
                (body[op] == ':' && op + 1 < body.size() && body[op + 1] == '?')) {
                out += v.value_or("");
            } else if (body[op] == ':') {  // ":-": unset or empty takes the default
                const auto fallback = body.substr(std::min(body.size(), op + 2));
                out += v && !v->empty() ? *v : fallback;
            } else {  // "-": only unset takes the default
                out += v ? *v : body.substr(op + 1);
            }
            i = end;
        } else if (std::isalpha(static_cast<unsigned char>(text[i + 1])) || text[i + 1] == '_') {
            auto end = i + 1;
            while (end < text.size() &&
                   (std::isalnum(static_cast<unsigned char>(text[end])) || text[end] == '_')) {
                ++end;
            }
            out += value(text.substr(i + 1, end - i - 1)).value_or("");
            i = end - 1;
        } else {
            out += text[i];
        }
    }
    return out;
}

std::vector<std::string> strings(const YAML::Node& node) {
    std::vector<std::string> out;
    if (node && node.IsScalar()) {
        out.push_back(node.as<std::string>());
    } else if (node && node.IsSequence()) {
        for (const auto& item : node) {
            if (item.IsScalar()) {
                out.push_back(item.as<std::string>());
            } else if (item.IsMap() && item["path"] && item["path"].IsScalar()) {
                out.push_back(item["path"].as<std::string>());  // env_file: [{path, required}]
            }
        }
    }
    return out;
}

/// Walks one revision's files and collects its inputs.
class Collector {
public:
    Collector(const InputsSource& source, StackInputs& out)
        : m_root(source.root), m_project_dir(source.project_dir), m_out(out) {
        // compose reads the project's .env for interpolation; its environment wins.
        if (auto text = read(source.project_dir / ".env")) {
            if (auto values = sys::parse_env_file(*text)) {
                for (auto& [name, value] : *values) {
                    m_env[name] = value;
                }
            }
        }
        for (const auto& [name, value] : source.env) {
            m_env[name] = value;
        }
    }

    /// Adds the repository paths `absolute` stands for to the stack's inputs (and to `also`),
    /// and returns the repository path it ends at, if inside.
    std::optional<std::string> add(const fs::path& absolute,
                                   std::set<std::string>* also = nullptr) {
        auto r = resolve(m_root, absolute);
        for (const auto& link : r.links) {
            m_out.paths.insert(link);
            if (also) {
                also->insert(link);
            }
        }
        if (!r.path) {
            note(r.why);
            return std::nullopt;
        }
        m_out.paths.insert(*r.path);
        if (also) {
            also->insert(*r.path);
        }
        return r.path;
    }

    /// A raw compose file: itself, and what its include, extends and env_file name.
    /// `base` is the directory its relative paths start from.
    void walk(const fs::path& file, const fs::path& base, int depth) {
        const auto path = add(file, &m_out.definitions);
        if (!path) {
            return;
        }
        if (depth > k_max_depth) {
            note(fmt::format("{}: include/extends nested deeper than {}: not followed", *path,
                             k_max_depth));
            return;
        }
        if (!m_seen.insert(*path).second) {
            return;  // read already (a cycle, or a file named twice)
        }
        if (m_seen.size() > k_max_files) {
            note(fmt::format("{}: more than {} compose files: not followed", *path, k_max_files));
            return;
        }
        const auto text = read(m_root / *path);
        if (!text) {
            return;
        }
        YAML::Node doc;
        try {
            doc = YAML::Load(*text);
        } catch (const YAML::Exception& e) {
            note(fmt::format("{}: not YAML ({}): not followed", *path, e.what()));
            return;
        }
        if (!doc.IsMap()) {
            return;
        }
        const auto here = (m_root / *path).parent_path();
        if (const auto include = doc["include"]; include && include.IsSequence()) {
            for (const auto& item : include) {
                const auto node = item.IsMap() ? item["path"] : item;
                for (const auto& included : strings(node)) {
                    const auto target = here / interpolate(included, m_env);
                    auto project = target.parent_path();
                    if (item.IsMap() && item["project_directory"] &&
                        item["project_directory"].IsScalar()) {
                        project =
                            here / interpolate(item["project_directory"].as<std::string>(), m_env);
                    }
                    walk(target, project, depth + 1);
                }
                if (item.IsMap()) {
                    for (const auto& env_file : strings(item["env_file"])) {
                        add(here / interpolate(env_file, m_env));
                    }
                }
            }
        }
        const auto services = doc["services"];
        if (!services || !services.IsMap()) {
            return;
        }
        for (const auto& service : services) {
            const auto& body = service.second;
            if (!body.IsMap()) {
                continue;
            }
            for (const auto& env_file : strings(body["env_file"])) {
                add(base / interpolate(env_file, m_env));
            }
            if (const auto extends = body["extends"];
                extends && extends.IsMap() && extends["file"] && extends["file"].IsScalar()) {
                const auto target = here / interpolate(extends["file"].as<std::string>(), m_env);
                walk(target, target.parent_path(), depth + 1);
            }
        }
    }

    void note(const std::string& line) {
        if (std::find(m_out.notes.begin(), m_out.notes.end(), line) == m_out.notes.end()) {
            m_out.notes.push_back(line);
        }
    }

private:
    /// A regular file of the checkout (after resolve()), at most k_max_file_size bytes.
    std::optional<std::string> read(const fs::path& file) {
        struct stat st {};
        if (::lstat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
            return std::nullopt;
        }
        if (static_cast<std::size_t>(st.st_size) > k_max_file_size) {
            note(fmt::format("{}: larger than {} bytes: not read", file.string(), k_max_file_size));
            return std::nullopt;
        }
        auto text = sys::read_file(file);
        return text ? std::optional(std::move(*text)) : std::nullopt;
    }

    fs::path m_root;
    fs::path m_project_dir;
    StackInputs& m_out;
    std::map<std::string, std::string> m_env;
    std::set<std::string> m_seen;
};

/// A path compose printed: absolute already, else relative to `base`.
fs::path absolute_from(const fs::path& base, const std::string& path) {
    const fs::path p(path);
    return p.is_absolute() ? p : base / p;
}

}  // namespace

StackInputs collect_inputs(const InputsSource& source,
                           const std::vector<runtime::ComposeService>& services) {
    StackInputs out;
    Collector c(source, out);
    c.add(source.project_dir);
    c.add(source.project_dir / ".env", &out.definitions);  // interpolated into build sections
    for (const auto& file : source.compose_files) {
        c.walk(file, source.project_dir, 0);
    }
    for (const auto& s : services) {
        if (s.build) {
            auto& build = out.build[s.name];
            if (!s.build_context.empty()) {
                const auto context = absolute_from(source.project_dir, s.build_context);
                c.add(context, &build);
                c.add(absolute_from(context,
                                    s.build_dockerfile.empty() ? "Dockerfile" : s.build_dockerfile),
                      &build);
            }
            for (const auto& extra : s.build_contexts) {
                c.add(absolute_from(source.project_dir, extra), &build);
            }
        }
        for (const auto& bind : s.bind_sources) {
            if (bind.rfind("~", 0) == 0) {
                c.note(
                    fmt::format("{} is a host path (outside the repository): not versioned", bind));
                continue;
            }
            c.add(absolute_from(source.project_dir, bind), &out.mounted[s.name]);
        }
        for (const auto& file : s.files) {
            c.add(absolute_from(source.project_dir, file), &out.mounted[s.name]);
        }
        for (const auto& env_file : s.env_files) {
            c.add(absolute_from(source.project_dir, env_file));
        }
    }
    // Services that mount nothing of the repository need no entry.
    std::erase_if(out.mounted, [](const auto& entry) { return entry.second.empty(); });
    return out;
}

sys::Result<InputChanges> compare_inputs(const StackInputs& inputs, const ChangedPaths& changed) {
    InputChanges out;
    const std::vector<std::string> paths(inputs.paths.begin(), inputs.paths.end());
    auto answer = changed(paths);
    if (!answer) {
        return answer.error();
    }
    const auto& differ = *answer;
    const auto any = [&](const std::set<std::string>& set) {
        return std::any_of(set.begin(), set.end(),
                           [&](const std::string& p) { return differ.count(p) > 0; });
    };
    for (const auto& path : paths) {
        if (differ.count(path)) {
            out.paths.push_back(path);
        }
    }
    out.changed = !out.paths.empty();
    const bool definitions = any(inputs.definitions);
    for (const auto& [service, build] : inputs.build) {
        if (definitions || any(build)) {
            out.rebuild.push_back(service);
        }
    }
    for (const auto& [service, mounted] : inputs.mounted) {
        if (any(mounted)) {
            out.recreate.push_back(service);
        }
    }
    return out;
}

std::string describe(const InputChanges& changes) {
    if (!changes.changed) {
        return "no input of the stack changed";
    }
    constexpr std::size_t k_shown = 5;
    std::vector<std::string> shown;
    for (std::size_t i = 0; i < changes.paths.size() && i < k_shown; ++i) {
        shown.push_back(changes.paths[i].empty() ? "(repository root)" : changes.paths[i]);
    }
    std::string out = fmt::format("changed: {}", fmt::join(shown, ", "));
    if (changes.paths.size() > k_shown) {
        out += fmt::format(" and {} more", changes.paths.size() - k_shown);
    }
    if (!changes.rebuild.empty()) {
        out += fmt::format("; rebuild {}", fmt::join(changes.rebuild, ", "));
    }
    if (!changes.recreate.empty()) {
        out += fmt::format("; recreate {}", fmt::join(changes.recreate, ", "));
    }
    return out;
}

}  // namespace agentd::deploy
