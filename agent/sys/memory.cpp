#include "agent/sys/memory.h"

#include <malloc.h>

namespace agentd::sys {

void limit_malloc_arenas(int arenas) {
    ::mallopt(M_ARENA_MAX, arenas);
}

void release_free_memory() {
    ::malloc_trim(0);
}

}  // namespace agentd::sys
