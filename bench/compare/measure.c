/* measure FILE PROGRAM [ARG]...
 *
 * Runs PROGRAM, waits for it and writes its own resource usage to FILE as one line:
 * "maxrss_kib user_seconds system_seconds". Exits with PROGRAM's exit status (128 + signal
 * when it was killed).
 *
 * Why not wait4 from the harness directly: Linux carries a process's peak RSS across exec,
 * and a child forked (or vforked) from the harness's Python process starts with the
 * harness's RSS, so ru_maxrss would be at least the harness's size. Forked from this small
 * program, the child's peak RSS is its own. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: measure FILE PROGRAM [ARG]...\n");
        return 2;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("measure: fork");
        return 2;
    }
    if (pid == 0) {
        execvp(argv[2], argv + 2);
        fprintf(stderr, "measure: cannot run %s: %s\n", argv[2], strerror(errno));
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0) {
        if (errno != EINTR) {
            perror("measure: wait4");
            return 2;
        }
    }
    FILE *f = fopen(argv[1], "w");
    if (!f || fprintf(f, "%ld %ld.%06ld %ld.%06ld\n", ru.ru_maxrss, (long)ru.ru_utime.tv_sec,
                      (long)ru.ru_utime.tv_usec, (long)ru.ru_stime.tv_sec, (long)ru.ru_stime.tv_usec) < 0 ||
        fclose(f) != 0) {
        fprintf(stderr, "measure: cannot write %s\n", argv[1]);
        return 2;
    }
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}
