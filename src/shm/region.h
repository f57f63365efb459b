/*
 * SHM regions: URIs, canonical paths, creation (driver side) and validated mapping
 * (client side). WIRE §3-§4, §12, §26-§29; LAYOUT §4.1, §4.5.
 *
 * Threading: none of these functions touch shared state; a tp_region_t is owned by the
 * caller and must not be used by two threads while one of them maps/unmaps it. URI parse and
 * format are pure. tp_shm_user_dir_name (and tp_shm_epoch_dir) read $USER/$USERNAME with
 * getenv: do not call them while another thread changes the environment.
 * None of this is on a hot path: every function here may allocate and make system calls.
 */
#ifndef TP_SHM_REGION_H
#define TP_SHM_REGION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "shm/layout.h"

#define TP_REGION_PATH_MAX 4096u /* DRIVER D-94: no URI longer than 4096 bytes */
#define TP_ALLOWED_DIRS_MAX 8u

/* ---- Region URIs (W-168 .. W-171) ------------------------------------------------------ */

typedef struct tp_region_uri {
    char path[TP_REGION_PATH_MAX]; /* absolute, bytes 0x21-0x7E except '?' and '|' */
    bool require_hugepages;
} tp_region_uri_t;

/* Parse `shm:file?path=<abs>[|require_hugepages=true|false]` (len bytes, not necessarily
 * NUL-terminated). Returns 0, or -1 with TP_EURI and the reason. */
int tp_region_uri_parse(const char *uri, size_t len, tp_region_uri_t *out);

/* Write the canonical form `shm:file?path=<p>` plus `|require_hugepages=true` when set.
 * Returns the length written (excluding NUL), or -1 (TP_EURI bad path, TP_ETOOBIG no room). */
int tp_region_uri_format(char *out, size_t cap, const char *path, bool require_hugepages);

/* ---- Canonical directory layout (W-173, W-174) ---------------------------------------- */

/* "tensorpool-<user>" with $USER, else $USERNAME, else "unknown"; every byte outside
 * [A-Za-z0-9._-] replaced by '_'; "." and ".." refused. Returns length or -1. */
int tp_shm_user_dir_name(char *out, size_t cap);

/* <base>/tensorpool-<user>/<namespace>/<stream_id>/<epoch> ; returns length or -1. */
int tp_shm_epoch_dir(char *out, size_t cap, const char *base_dir, const char *ns,
                     uint32_t stream_id, uint64_t epoch);

/* <epoch_dir>/header.ring and <epoch_dir>/<pool_id>.pool ; return length or -1. */
int tp_shm_header_path(char *out, size_t cap, const char *epoch_dir);
int tp_shm_pool_path(char *out, size_t cap, const char *epoch_dir, uint16_t pool_id);

/* ---- A mapped region ------------------------------------------------------------------- */

/* A mapping of one region file. Plain value owned by the caller (no heap, no fd: the file
 * descriptor is closed once mapped, the mapping keeps the file alive). `base` stays valid
 * until tp_region_unmap; other threads may read/write through it concurrently (that is
 * what the ring/seqlock code is for), but unmapping while they do is the caller's bug. */
typedef struct tp_region {
    uint8_t *base;   /* mapping; NULL when unmapped; page aligned */
    size_t size;     /* geometry size (64 + nslots * slot size); valid bytes from base */
    size_t map_size; /* length actually mapped (size rounded up to huge pages on hugetlbfs) */
    bool writable;
    bool hugetlbfs;  /* file is on hugetlbfs (fstatfs of the opened fd): lets a consumer
                      * apply its own hugepage policy on top of the URI flag (W-171) */
    dev_t dev;       /* identity of the mapped file */
    ino_t ino;
} tp_region_t;

static inline tp_superblock_t *tp_region_superblock(const tp_region_t *r)
{
    return (tp_superblock_t *)(void *)r->base;
}

/* Unmap; idempotent; leaves *r zeroed. */
void tp_region_unmap(tp_region_t *r);

/* ---- Driver side: create (W-17, W-18, W-23, W-166) ------------------------------------- */

typedef struct tp_region_create_opts {
    mode_t dir_mode;        /* directories created with this mode (default 0770) */
    mode_t file_mode;       /* files opened 0600, then chmod'ed to this (default 0660) */
    bool prefault;          /* reserve + fault in every page after sizing (fallocate) */
    bool mlock;             /* mlock the mapping; failure is an error */
    bool require_hugepages; /* verify hugetlbfs backing with fstatfs; failure is an error */
} tp_region_create_opts_t;

void tp_region_create_opts_init(tp_region_create_opts_t *o);

/* Create the directories of `path` (mkdir -p with dir_mode), create/truncate the file with
 * O_CREAT|O_NOFOLLOW|O_CLOEXEC mode 0600, fchmod to file_mode, size it for the geometry in
 * *sb (ring: 64 + nslots*256; pool: 64 + nslots*stride), map it read-write, write the
 * superblock *sb (magic/layout_version filled if zero) and msync it (W-18).
 * On success *out holds the read-write mapping (caller unmaps).
 *  * `path` must be a valid region-URI path (absolute, 0x21-0x7E, no '?'/'|') without "..".
 *  * Zero fields of *sb are filled with the W-23 values: magic, layout_version 1, ring
 *    slot_bytes 256 (stride 0), pool slot_bytes = stride_bytes, pid = getpid(),
 *    start_timestamp_ns = now (CLOCK_MONOTONIC), activity = start. Non-zero fields must be
 *    consistent with that (checked with tp_superblock_validate) or nothing is created.
 *  * Directories: missing components are created with exactly dir_mode (umask ignored); an
 *    existing component that is not a directory fails (TP_EPATH); the last component, and
 *    any entry of a world-writable directory such as /dev/shm, must not be a symlink, and
 *    an entry of a world-writable directory must be owned by us or by root.
 *  * The file: an existing symlink/FIFO/device/socket at `path` is refused and never
 *    followed (TP_EPATH); an existing regular file owned by us with one link is reused and
 *    zeroed. Every byte is zero except the superblock. The magic is stored last (release).
 *  * prefault: reserve the pages now (fallocate + MAP_POPULATE) so a full tmpfs fails here
 *    with TP_EIO instead of SIGBUS later. mlock: failure is TP_EIO. require_hugepages: the
 *    file must be on hugetlbfs (fstatfs), else TP_EHUGEPAGES; the file is then sized in
 *    whole huge pages.
 *  * On failure nothing is mapped and a file this call opened is unlinked; *out is zeroed. */
int tp_region_create(tp_region_t *out, const char *path, const tp_superblock_t *sb,
                     const tp_region_create_opts_t *opts);

/* ---- Client side: containment + validated map (W-94 .. W-99, W-178, W-179) ------------ */

typedef struct tp_allowed_dirs {
    char canon[TP_ALLOWED_DIRS_MAX][TP_REGION_PATH_MAX];
    uint32_t count;
} tp_allowed_dirs_t;

void tp_allowed_dirs_init(tp_allowed_dirs_t *a);

/* realpath() `dir` now (W-178 step 3) and remember the canonical form. The directory must
 * exist. Returns 0 or -1 (TP_EPATH; TP_ETOOBIG when TP_ALLOWED_DIRS_MAX are already set).
 * The set is plain data: fill it at configuration time, then share it read-only. */
int tp_allowed_dirs_add(tp_allowed_dirs_t *a, const char *dir);

/* What the announce/attach said the region must be (W-94). */
typedef struct tp_region_expect {
    int16_t region_type;    /* TP_REGION_HEADER_RING or TP_REGION_PAYLOAD_POOL */
    uint32_t layout_version;
    uint64_t epoch;
    uint32_t stream_id;
    uint16_t pool_id;       /* 0 for the header ring */
    uint32_t nslots;        /* power of two */
    uint32_t stride_bytes;  /* pools: power of two >= 64; ignored for the ring */
} tp_region_expect_t;

/* Parse `uri`, apply path containment (absolute, realpath inside an allowed dir, regular
 * file, O_NOFOLLOW open, fstat identity equal to stat of the canonical path), check the file
 * is large enough for the expected geometry, verify hugetlbfs when the URI requires it,
 * mmap exactly the geometry's size (read-only unless `writable`), then validate the
 * superblock against *expect. Nothing is left mapped on failure.
 * Errors: TP_EURI (URI), TP_EVERSION (layout_version other than 1), TP_EREGION (announced
 * geometry invalid, file too small, superblock mismatch), TP_EPATH (containment, not a
 * regular file, swapped between check and open), TP_EHUGEPAGES, TP_EIO. The geometry in
 * *expect is checked before any file is touched. The activity timestamp is NOT checked
 * (W-95: callers mapping from an announce call tp_superblock_is_fresh). *out is zeroed on
 * failure; on success the caller owns the mapping and releases it with tp_region_unmap. */
int tp_region_map(tp_region_t *out, const char *uri, size_t uri_len,
                  const tp_allowed_dirs_t *allowed, const tp_region_expect_t *expect,
                  bool writable);

/* Superblock checks against *expect (W-94, W-16, W-21, W-23, W-26, W-53, W-54): magic,
 * layout_version, epoch, stream_id, region_type, pool_id, nslots (power of two),
 * slot_bytes (256 / stride) and stride_bytes (0 / stride, the W-23 values; stricter than the
 * reference, which skips it). -1 with TP_EREGION naming the first mismatching field, its
 * value and the expected one: "superblock epoch 4 != expected 3". Reads the superblock once
 * (memcpy snapshot); safe on a live mapping. */
int tp_superblock_validate(const tp_superblock_t *sb, const tp_region_expect_t *expect);

/* Activity freshness (W-95): 1 if activity_timestamp_ns != 0 and now <= ts + window. */
int tp_superblock_is_fresh(const tp_superblock_t *sb, uint64_t now_ns, uint64_t window_ns);

/* Refresh activity_timestamp_ns with a release store (W-19): readers that see the new
 * timestamp also see everything the owner wrote before. */
void tp_superblock_touch(tp_superblock_t *sb, uint64_t now_ns);

#endif
