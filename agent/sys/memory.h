#pragma once
// glibc malloc settings for a process that is idle most of its life: memory freed after a
// cycle goes back to the kernel instead of staying in the heap as resident free space.

namespace agentd::sys {

/// At most `arenas` malloc arenas. glibc gives threads their own arena (up to 8 per core), and
/// each keeps its free memory to itself; agentd's few threads rarely allocate at once, so
/// sharing one or two costs no waiting. Call before threads start.
void limit_malloc_arenas(int arenas);

/// Hands free heap pages back to the kernel (malloc_trim): after start-up and after each cycle,
/// so that a cycle's transient allocations do not stay resident while agentd idles.
void release_free_memory();

}  // namespace agentd::sys
