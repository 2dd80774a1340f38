#pragma once
// Semaphore: at most N holders at once, shared by threads; unlike std::counting_semaphore, a
// wait also ends when the process stops. The daemon's workers poll many stacks side by side
// but pull, apply and gate at most so many deployments at once.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>

namespace agentd::sys {

class Semaphore {
public:
    explicit Semaphore(std::size_t count) : m_free(count), m_count(count) {}
    Semaphore(const Semaphore&) = delete;
    Semaphore& operator=(const Semaphore&) = delete;

    /// Takes a free place, waiting for one; false when `stop` became true first.
    bool acquire(const std::atomic<bool>& stop) {
        std::unique_lock lock(m_mutex);
        while (m_free == 0) {
            if (stop.load())
                return false;
            m_freed.wait_for(lock, k_stop_check);
        }
        --m_free;
        return true;
    }
    /// Takes a free place if there is one now.
    bool try_acquire() {
        const std::lock_guard lock(m_mutex);
        if (m_free == 0)
            return false;
        --m_free;
        return true;
    }
    /// Gives back a place taken by acquire or try_acquire.
    void release() {
        {
            const std::lock_guard lock(m_mutex);
            ++m_free;
        }
        m_freed.notify_one();
    }

    std::size_t count() const { return m_count; }
    /// Places taken now.
    std::size_t held() const {
        const std::lock_guard lock(m_mutex);
        return m_count - m_free;
    }

private:
    // `stop` is a flag nobody notifies about: a waiter looks at it this often.
    static constexpr auto k_stop_check = std::chrono::milliseconds(200);

    mutable std::mutex m_mutex;
    std::condition_variable m_freed;
    std::size_t m_free;
    std::size_t m_count;
};

}  // namespace agentd::sys
