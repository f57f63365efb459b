/*
 * TP_API: the mark of every function of the public API.
 *
 * libtensorpool.so is compiled with -fvisibility=hidden, so a function is exported only when
 * its declaration carries TP_API and the defining file sees that declaration (it includes the
 * public header). Internal cross-module functions (tp_ring_*, tp_shmlog_*, ...) stay hidden:
 * applications cannot bind to them, and calls inside the library are direct. The packaging
 * test test_packaging_exports checks that the exported symbols are exactly the functions
 * declared in the public headers, so a declaration without TP_API fails it.
 *
 * For an application TP_API is a plain declaration (default visibility is what it gets
 * anyway); nothing needs defining to use either the shared or the static library.
 */
#ifndef TENSORPOOL_EXPORT_H
#define TENSORPOOL_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define TP_API __attribute__((visibility("default")))
#else
#define TP_API
#endif

#endif
