/*
 * Minimal test harness. A test file defines tests with TP_TEST(name) { ... } and links
 * tests/support/tp_test.c, which provides main(): it runs every test (or those whose name
 * contains argv[1]), prints "ok/FAIL/skip <name>" per test and a closing line
 * "N passed, N failed, N skipped", and exits 0 (all passed), 1 (any failed) or 77 (all skipped).
 *
 * TP_CHECK* record a failure and continue; TP_ASSERT* record and return from the test.
 * Test names cite the rule they check: test_wire_w067_drop_when_commit_changes.
 */
#ifndef TP_TEST_H
#define TP_TEST_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef void (*tp_test_fn)(void);
void tp_test_register(const char *name, tp_test_fn fn);
void tp_test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void tp_test_skip(const char *why);
int tp_test_failed_now(void);

#define TP_TEST(name)                                                              \
    static void name(void);                                                        \
    __attribute__((constructor)) static void tp_reg_##name(void)                   \
    {                                                                              \
        tp_test_register(#name, name);                                             \
    }                                                                              \
    static void name(void)

#define TP_CHECK(c)                                                                \
    do { if (!(c)) tp_test_fail(__FILE__, __LINE__, "%s", #c); } while (0)
#define TP_ASSERT(c)                                                               \
    do { if (!(c)) { tp_test_fail(__FILE__, __LINE__, "%s", #c); return; } } while (0)
#define TP_CHECK_EQ_U(a, b)                                                        \
    do { uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                          \
         if (a_ != b_) tp_test_fail(__FILE__, __LINE__, "%s == %s (%" PRIu64 " != %" PRIu64 ")", \
                                    #a, #b, a_, b_); } while (0)
#define TP_CHECK_EQ_I(a, b)                                                        \
    do { int64_t a_ = (int64_t)(a), b_ = (int64_t)(b);                             \
         if (a_ != b_) tp_test_fail(__FILE__, __LINE__, "%s == %s (%" PRId64 " != %" PRId64 ")", \
                                    #a, #b, a_, b_); } while (0)
#define TP_CHECK_STR(a, b)                                                         \
    do { const char *a_ = (a), *b_ = (b);                                          \
         if (strcmp(a_, b_) != 0) tp_test_fail(__FILE__, __LINE__, "%s == %s (\"%s\" != \"%s\")", \
                                               #a, #b, a_, b_); } while (0)
#define TP_CHECK_MEM(a, b, n)                                                      \
    do { if (memcmp((a), (b), (n)) != 0) tp_test_fail(__FILE__, __LINE__, "memcmp(%s, %s, %s)", \
                                                      #a, #b, #n); } while (0)
#define TP_SKIP(why) do { tp_test_skip(why); return; } while (0)

/* A private directory (mode 0700) under $TMPDIR or /tmp, created on first call and removed
 * recursively at exit (also when a test fails). Same path for the whole process. */
const char *tp_test_tmpdir(void);

/* Remove a directory tree (no symlink following). Returns 0 or -1. */
int tp_test_rmtree(const char *path);

/* Fork bookkeeping: children registered here are SIGKILLed and reaped at exit. */
void tp_test_track_child(int pid);

/* The pid of a process that has exited and been reaped (a child forked and waited for): for
 * files and table entries that must look like a dead owner's. */
int tp_test_dead_pid(void);

/* Path of ../shared relative to the source tree, or NULL when it is absent
 * (tests that need it skip with a message). */
const char *tp_test_shared_dir(void);

#endif
