/*
 * replay_main.c -- a plain main() around a harness's LLVMFuzzerTestOneInput, so that CI can
 * replay tests/fuzz/regressions/ and the seed corpus with gcc + ASan/UBSan and no libFuzzer.
 *
 * Usage: replay_<harness> FILE|DIR...   (directories: every regular file below them, sorted).
 * Each input is read into an exact-size heap buffer (ASan catches reads past its end).
 * Exit status: 0 when every input ran (a sanitizer report or FUZZ_CHECK aborts), 2 on I/O errors.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_common.h"

static int run_file(const char *path, size_t *count)
{
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); return 2; }
    if (fseek(f, 0, SEEK_END) != 0) { fclose(f); return 2; }
    long length = ftell(f);
    if (length < 0) { fclose(f); return 2; }
    rewind(f);
    uint8_t *data = malloc(length ? (size_t)length : 1);
    if (!data) { fclose(f); return 2; }
    size_t got = fread(data, 1, (size_t)length, f);
    fclose(f);
    if (got != (size_t)length) { free(data); fprintf(stderr, "%s: short read\n", path); return 2; }
    if (getenv("REPLAY_VERBOSE")) fprintf(stderr, "replay %s (%ld bytes)\n", path, length);
    /* the harness gets exactly the file's bytes; length 0 passes a valid pointer */
    LLVMFuzzerTestOneInput(data, (size_t)length);
    free(data);
    (*count)++;
    return 0;
}

static int compare(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_path(const char *path, size_t *count)
{
    struct stat st;
    if (stat(path, &st) != 0) { perror(path); return 2; }
    if (!S_ISDIR(st.st_mode)) return run_file(path, count);
    DIR *dir = opendir(path);
    if (!dir) { perror(path); return 2; }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **grown = realloc(names, cap * sizeof *names);
            if (!grown) break;
            names = grown;
        }
        size_t len = strlen(path) + strlen(e->d_name) + 2;
        names[n] = malloc(len);
        if (!names[n]) break;
        snprintf(names[n], len, "%s/%s", path, e->d_name);
        n++;
    }
    closedir(dir);
    qsort(names, n, sizeof *names, compare);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        struct stat s2;
        if (stat(names[i], &s2) == 0 && (S_ISREG(s2.st_mode) || S_ISDIR(s2.st_mode))) {
            int r = run_path(names[i], count);   /* directories recursively */
            if (r) rc = r;
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    size_t count = 0;
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        int r = run_path(argv[i], &count);
        if (r) rc = r;
    }
    fprintf(stderr, "%s: %zu inputs replayed\n", argv[0], count);
    return rc;
}
