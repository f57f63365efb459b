/*
 * Internals shared by uri.c, paths.c and region.c, and the test hook of tp_region_map.
 * Not part of any public API; tests include it to reach the seams.
 */
#ifndef TP_SHM_REGION_INTERNAL_H
#define TP_SHM_REGION_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "shm/region.h"

/* The `path` rule of a region URI (W-168, W-170): non-empty, absolute, shorter than
 * TP_REGION_PATH_MAX, bytes 0x21-0x7E except '?' and '|'. 0 or -1 (TP_EURI). */
int tp_region_path_check(const char *path, size_t len);

/* mkdir -p `dir` (absolute). Missing components are created with exactly `mode` (umask
 * does not apply). An existing component that is not a directory is an error; the last
 * component, and any component inside a world-writable directory (e.g. /dev/shm), is never
 * followed if it is a symlink, and there it must also be owned by us or by root.
 * Returns an O_DIRECTORY fd of `dir` (caller closes) or -1 (TP_EPATH / TP_EIO). */
int tp_shm_mkdirs(const char *dir, mode_t mode);

/* Called by tp_region_map_hooked after the metadata check of the canonical path and before
 * the open: tests swap the file here to prove the fstat identity check (W-178 step 6). */
typedef void (*tp_region_map_hook_fn)(const char *canon_path, void *arg);

struct stat;

/* W-178 steps 1-6 for `path`: absolute, realpath inside one of `allowed`, lstat of the
 * canonical path shows a regular file, `hook` (may be NULL), no-follow open (O_RDWR when
 * `writable`, else O_RDONLY), fstat of the descriptor is a regular file with the same
 * st_dev/st_ino. Returns the fd (caller closes) with its fstat in *st_out, or -1 (TP_EPATH). */
int tp_shm_open_contained(const char *path, const tp_allowed_dirs_t *allowed, bool writable,
                          tp_region_map_hook_fn hook, void *hook_arg, struct stat *st_out);

/* Tests only (not thread-safe): true makes the containment open skip openat2 and use the
 * O_NOFOLLOW + /proc/self/fd fallback that kernels before 5.6 get. */
extern bool tp_shm_test_no_openat2;

/* tp_region_map with a hook (NULL: none). */
int tp_region_map_hooked(tp_region_t *out, const char *uri, size_t uri_len,
                         const tp_allowed_dirs_t *allowed, const tp_region_expect_t *expect,
                         bool writable, tp_region_map_hook_fn hook, void *hook_arg);

#endif
