#include "tp_test.h"

#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_TESTS 1024
#define MAX_CHILDREN 256

static struct { const char *name; tp_test_fn fn; } tests[MAX_TESTS];
static int ntests;
static int cur_failed, cur_skipped;
static char tmpdir[512];
static int children[MAX_CHILDREN];
static int nchildren;
static pid_t main_pid;

void tp_test_register(const char *name, tp_test_fn fn)
{
    if (ntests < MAX_TESTS) {
        tests[ntests].name = name;
        tests[ntests].fn = fn;
        ntests++;
    }
}

void tp_test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "  %s:%d: check failed: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    cur_failed++;
}

void tp_test_skip(const char *why)
{
    fprintf(stderr, "  skipped: %s\n", why);
    cur_skipped = 1;
}

int tp_test_failed_now(void) { return cur_failed; }

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb; (void)flag; (void)f;
    return remove(p) == 0 || errno == ENOENT ? 0 : -1;
}

int tp_test_rmtree(const char *path)
{
    return nftw(path, rm_cb, 32, FTW_DEPTH | FTW_PHYS) == 0 || errno == ENOENT ? 0 : -1;
}

void tp_test_track_child(int pid)
{
    if (nchildren < MAX_CHILDREN) children[nchildren++] = pid;
}

static void cleanup(void)
{
    if (getpid() != main_pid) return; /* forked children must not clean the parent's state */
    for (int i = 0; i < nchildren; i++) {
        kill(children[i], SIGKILL);
        waitpid(children[i], NULL, 0);
    }
    nchildren = 0;
    if (tmpdir[0]) tp_test_rmtree(tmpdir);
    tmpdir[0] = '\0';
}

static void on_signal(int sig)
{
    cleanup();
    signal(sig, SIG_DFL);
    raise(sig);
}

const char *tp_test_tmpdir(void)
{
    if (!tmpdir[0]) {
        const char *base = getenv("TMPDIR");
        if (!base || !*base) base = "/tmp";
        snprintf(tmpdir, sizeof tmpdir, "%s/tp-test-XXXXXX", base);
        if (!mkdtemp(tmpdir)) {
            perror("mkdtemp");
            exit(1);
        }
    }
    return tmpdir;
}

const char *tp_test_shared_dir(void)
{
#ifdef TP_SOURCE_DIR
    static char path[1024];
    struct stat st;
    snprintf(path, sizeof path, "%s/../shared", TP_SOURCE_DIR);
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) return path;
#endif
    return NULL;
}

int main(int argc, char **argv)
{
    int passed = 0, failed = 0, skipped = 0;
    const char *filter = argc > 1 ? argv[1] : NULL;
    main_pid = getpid();
    atexit(cleanup);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);
    for (int i = 0; i < ntests; i++) {
        if (filter && !strstr(tests[i].name, filter)) continue;
        cur_failed = 0;
        cur_skipped = 0;
        tests[i].fn();
        if (cur_failed) {
            failed++;
            printf("FAIL %s\n", tests[i].name);
        } else if (cur_skipped) {
            skipped++;
            printf("skip %s\n", tests[i].name);
        } else {
            passed++;
            printf("ok   %s\n", tests[i].name);
        }
        fflush(stdout);
    }
    printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    if (failed) return 1;
    if (passed == 0 && skipped > 0) return 77;
    return 0;
}

int tp_test_dead_pid(void)
{
    pid_t p = fork();
    if (p == 0)
        _exit(0);
    waitpid(p, NULL, 0);
    return (int)p;
}
