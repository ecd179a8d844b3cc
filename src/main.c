/* main.c - the sesame executable: a thin dispatcher over the subcommands in src/cli/. */
#include <malloc.h>

#include "cli/cli.h"
#include "common/limits.h"

int main(int argc, char **argv)
{
    /*
     * glibc gives each thread that contends for the heap an arena of its own (up to eight per
     * core) and keeps the free memory of each: under endless polling the servers' resident
     * memory crept up by a few MiB that was free but fragmented over arenas (the soak,
     * docs/reliability.md). Two arenas are plenty for a handful of threads on a few cores.
     * Blocks from PROCESS_MALLOC_MMAP_BYTES up are mapped on their own and unmapped when
     * freed: glibc otherwise raises that threshold after the first such free, and the 1 MB
     * file buffers of concurrent downloads then stay in the heap (the api's RSS in
     * docs/benchmarks.md).
     */
    (void)mallopt(M_ARENA_MAX, PROCESS_MALLOC_ARENAS);
    (void)mallopt(M_MMAP_THRESHOLD, PROCESS_MALLOC_MMAP_BYTES);
    return cli_main(argc, argv);
}
