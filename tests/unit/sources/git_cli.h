#pragma once
// Real git repositories for tests, made with the git command line as a user makes them.

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "agent/sys/process.h"

namespace agentd::testing {

/// Runs git with `args` (and `env` added to its environment); the test fails when it does.
inline std::string run_git(const std::vector<std::string>& args,
                           const std::map<std::string, std::string>& env = {}) {
    agentd::sys::PosixProcessRunner runner;
    agentd::sys::ProcessSpec spec;
    spec.argv = {"git", "-c", "user.name=Test", "-c", "user.email=test@example.com"};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.env = {{"GIT_CONFIG_NOSYSTEM", "1"}, {"HOME", "/nonexistent"}};
    spec.env.insert(env.begin(), env.end());
    auto result = runner.run(spec);
    REQUIRE(result.ok());
    INFO(fmt::format("git {}: {}", fmt::join(args, " "), result->err));
    REQUIRE(result->success());
    std::string out = result->out;
    while (!out.empty() && out.back() == '\n') {
        out.pop_back();
    }
    return out;
}

/// A bare repository pushed to from a work tree with the git command line, as a user does.
class GitCliRemote {
public:
    explicit GitCliRemote(const std::filesystem::path& root)
        : m_bare(root / "remote.git"), m_work(root / "work") {
        run_git({"init", "-q", "--bare", "-b", "main", m_bare.string()});
        run_git({"init", "-q", "-b", "main", m_work.string()});
    }
    const std::filesystem::path& dir() const { return m_bare; }
    /// Commits a change on main, tags it `tag` (if not empty) and pushes both.
    std::string release(int n, const std::string& tag = "") {
        std::ofstream(m_work / "compose.yaml") << "# release " << n << "\n";
        run_git({"-C", m_work.string(), "add", "compose.yaml"});
        run_git({"-C", m_work.string(), "commit", "-q", "-m", fmt::format("release {}", n)});
        if (!tag.empty()) {
            run_git({"-C", m_work.string(), "tag", tag});
        }
        run_git({"-C", m_work.string(), "push", "-q", "--tags", m_bare.string(), "main"});
        return run_git({"-C", m_work.string(), "rev-parse", "HEAD"});
    }

    /// Makes the bare repository advertise `ref` at `commit` by writing packed-refs directly,
    /// as a hostile or broken server could: no name check of git's own is involved.
    void add_packed_ref(const std::string& ref, const std::string& commit) {
        const auto file = m_bare / "packed-refs";
        const bool fresh = !std::filesystem::exists(file);
        std::ofstream out(file, std::ios::app | std::ios::binary);
        if (fresh) {
            out << "# pack-refs with: peeled \n";
        }
        out << commit << " " << ref << "\n";
    }

private:
    std::filesystem::path m_bare;
    std::filesystem::path m_work;
};

}  // namespace agentd::testing
