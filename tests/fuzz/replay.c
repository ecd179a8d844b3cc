/*
 * replay.c - runs a libFuzzer driver over every file of a corpus directory, so that the
 * corpora (seeds and past findings) are replayed as ordinary CTest tests in every build,
 * including the ASan+UBSan one (SQLite's fuzzcheck habit).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX_INPUT (1u << 20)

static int replay_file(const char *path)
{
    struct stat st;
    uint8_t *data = NULL;
    size_t got = 0;
    int fd, rc = -1;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        goto out;
    if ((size_t)st.st_size > REPLAY_MAX_INPUT) {
        fprintf(stderr, "replay: %s is over %u bytes\n", path, REPLAY_MAX_INPUT);
        goto out;
    }
    data = malloc((size_t)st.st_size + 1);
    if (!data)
        goto out;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, data + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            goto out;
        got += (size_t)n;
    }
    LLVMFuzzerTestOneInput(data, got);
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    free(data);
    return rc;
}

int main(int argc, char **argv)
{
    DIR *dir;
    struct dirent *de;
    char path[4096];
    int count = 0, failed = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    dir = opendir(argv[1]);
    if (!dir) {
        fprintf(stderr, "replay: cannot open corpus directory %s\n", argv[1]);
        return 1;
    }
    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", argv[1], de->d_name) >= sizeof(path)) {
            failed++;
            continue;
        }
        if (replay_file(path) != 0) {
            fprintf(stderr, "replay: cannot read %s\n", path);
            failed++;
            continue;
        }
        count++;
    }
    closedir(dir);
    if (count == 0) {
        fprintf(stderr, "replay: corpus %s is empty\n", argv[1]);
        return 1;
    }
    printf("%d passed, %d failed\n", count, failed);
    return failed ? 1 : 0;
}
