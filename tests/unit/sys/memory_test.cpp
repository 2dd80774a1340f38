#include "agent/sys/memory.h"

#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace unit_sys_memory_test {

// ASan and TSan replace glibc's malloc with allocators of their own, which malloc_trim does not
// reach: the test has nothing to measure there, so sanitizer builds leave it out.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define AGENTD_SANITIZER_ALLOCATOR 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define AGENTD_SANITIZER_ALLOCATOR 1
#endif
#endif

#ifndef AGENTD_SANITIZER_ALLOCATOR

namespace {

/// RssAnon of this process in kB.
long rss_anon_kb() {
    std::ifstream status("/proc/self/status");
    std::string key;
    while (status >> key) {
        if (key == "RssAnon:") {
            long kb = 0;
            status >> kb;
            return kb;
        }
        status.ignore(1 << 16, '\n');
    }
    return -1;
}

}  // namespace

TEST_CASE("memory: freed heap pages go back to the kernel", "[sys]") {
    // 16 MB in small blocks (below the mmap threshold: they live in the heap), touched, then
    // freed except the last, which keeps the heap's top in place so that free() alone cannot
    // shrink it: only release_free_memory() can return the pages in the middle.
    std::vector<char*> blocks;
    for (int i = 0; i < 32 * 1024; ++i) {
        blocks.push_back(new char[512]);
        std::memset(blocks.back(), 1, 512);
    }
    for (std::size_t i = 0; i + 1 < blocks.size(); ++i) {
        delete[] blocks[i];
    }
    const long before = rss_anon_kb();
    agentd::sys::release_free_memory();
    const long after = rss_anon_kb();
    delete[] blocks.back();
    CHECK(before - after > 8 * 1024);
}
#endif

}  // namespace unit_sys_memory_test
