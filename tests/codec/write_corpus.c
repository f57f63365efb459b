/*
 * Writes the seed corpus of tests/fuzz/fuzz_sbe_decode.c: the LAYOUT §6 golden vectors and one
 * populated random message per template of every schema (raw bytes, one file each).
 * Not part of the build; regenerate with
 *   cc -std=c11 -D_GNU_SOURCE -Iinclude -Isrc -Itests/codec tests/codec/write_corpus.c \
 *      src/codec/codec.c src/util/error.c -o /tmp/write_corpus && /tmp/write_corpus tests/fuzz/corpus/sbe_decode
 */
#include <stdio.h>

#include "msggen.h"
#include "vectors.h"

static int write_file(const char *dir, const char *name, const uint8_t *p, size_t n)
{
    char path[4096];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (!(f = fopen(path, "wb")) || fwrite(p, 1, n, f) != n) { perror(path); return 1; }
    return fclose(f) != 0;
}

int main(int argc, char **argv)
{
    static const struct { const char *name, *hex; size_t offset; } vecs[] = {
        { "vec_frame_descriptor", VEC_FRAME_DESCRIPTOR, 0 },
        { "vec_frame_descriptor_nulls", VEC_FRAME_DESCRIPTOR_NULLS, 0 },
        { "vec_frame_progress", VEC_FRAME_PROGRESS, 0 },
        { "vec_shm_pool_announce", VEC_SHM_POOL_ANNOUNCE, 0 },
        { "vec_consumer_hello", VEC_CONSUMER_HELLO, 0 },
        { "vec_header_slot_tensor_header", VEC_HEADER_SLOT, 64 },
        { "vec_shm_attach_request", VEC_SHM_ATTACH_REQUEST, 0 },
        { "vec_shm_lease_keepalive", VEC_SHM_LEASE_KEEPALIVE, 0 },
        { "vec_shm_attach_response_rejected", VEC_SHM_ATTACH_RESPONSE_REJECTED, 0 },
    };
    static uint8_t buf[1 << 16];
    int errors = 0;
    if (argc != 2) { fprintf(stderr, "usage: write_corpus DIR\n"); return 2; }
    for (size_t i = 0; i < sizeof vecs / sizeof vecs[0]; i++) {
        size_t n = vec_bytes(vecs[i].hex, buf, sizeof buf);
        errors += write_file(argv[1], vecs[i].name, buf + vecs[i].offset, n - vecs[i].offset);
    }
    MSGGEN_FOR_EACH_MESSAGE(m) {
        char name[128];
        msggen_t g;
        size_t n;
        msggen_init(&g, buf, sizeof buf, 1000 + m->template_id, m);
        g.populate = 1;
        n = msggen_message(&g, m);
        snprintf(name, sizeof name, "msg_%u_%u_%s", m->schema_id, m->template_id, m->body.name);
        errors += write_file(argv[1], name, buf, n);
    }
    return errors != 0;
}
