#pragma once
// The configuration in force, replaced as a whole on reload; readers keep the copy they took
// for as long as they use it.

#include <cstdint>
#include <memory>
#include <mutex>

#include "agent/config/config.h"

namespace agentd::daemon {

/// One configuration and the generation it was set as, read together.
struct ConfigSnapshot {
    std::shared_ptr<const config::Config> config;
    /// Increases with every SharedConfig::set(): workers rebuild their context when it changed.
    std::uint64_t generation = 0;
};

class SharedConfig {
public:
    explicit SharedConfig(config::Config config)
        : m_config(std::make_shared<const config::Config>(std::move(config))) {}

    std::shared_ptr<const config::Config> get() const { return snapshot().config; }
    /// The configuration and its generation under one lock: a reload between two separate reads
    /// would pair the old configuration with the new generation, and a worker comparing
    /// generations would then keep the old configuration until the next reload.
    ConfigSnapshot snapshot() const {
        std::lock_guard lock(m_mutex);
        return {m_config, m_generation};
    }
    void set(config::Config config) {
        auto next = std::make_shared<const config::Config>(std::move(config));
        std::lock_guard lock(m_mutex);
        m_config = std::move(next);
        ++m_generation;
    }

private:
    mutable std::mutex m_mutex;
    std::shared_ptr<const config::Config> m_config;
    std::uint64_t m_generation = 0;
};

}  // namespace agentd::daemon
