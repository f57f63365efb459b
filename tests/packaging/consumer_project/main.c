/*
 * A program outside the tensorpool tree, built against the installed package: with CMake
 * (CMakeLists.txt, find_package(tensorpool)) or with pkg-config (Makefile). docs/install.md.
 *
 * usage: consumer DIR   (DIR: a private transport directory; created if needed)
 *
 * It opens a context, a client and a driver client on DIR without a driver running, and prints
 * key=value lines the packaging tests check: the version, a few pure functions, the lease state
 * and the error a frozen context answers with.
 */
#include <stdio.h>

#include <tensorpool/tensorpool.h>

static int fail(const char *what)
{
    fprintf(stderr, "error=%s: %s (%s)\n", what, tp_errmsg(), tp_errname(tp_errcode()));
    return 1;
}

int main(int argc, char **argv)
{
    tp_context_t *ctx = NULL;
    tp_client_t *client = NULL;
    tp_driver_client_t *dc = NULL;
    tp_tensor_desc_t desc;
    const int32_t dims[2] = {480, 640};
    int rc = 1;

    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    printf("version=%s\n", tp_version_string());

    tp_tensor_desc_contiguous(&desc, TP_DTYPE_UINT16, TP_MAJOR_ROW, 2, dims);
    if (tp_tensor_desc_check(&desc) != 0) return fail("tp_tensor_desc_check");
    printf("dtype=%s extent_bytes=%llu\n", tp_dtype_name(desc.dtype),
           (unsigned long long)tp_tensor_extent_bytes(&desc));

    if (tp_context_init(&ctx) != 0) return fail("tp_context_init");
    if (tp_context_set_dir(ctx, argv[1]) != 0) {
        fail("tp_context_set_dir");
        goto out;
    }
    if (tp_client_init(&client, ctx) != 0) {
        fail("tp_client_init");
        goto out;
    }
    if (tp_driver_client_init(&dc, client, "aeron:ipc", 15000, 0, TP_ROLE_CONSUMER) != 0) {
        fail("tp_driver_client_init");
        goto out;
    }
    if (tp_client_do_work(client, tp_client_now_ns(client)) < 0) {
        fail("tp_client_do_work");
        goto out;
    }
    printf("lease_state=%s\n", tp_lease_state_name(tp_driver_client_state(dc)));

    /* The context froze at tp_client_init: setters refuse now. */
    if (tp_context_set_dir(ctx, argv[1]) == 0) {
        fprintf(stderr, "error=a frozen context accepted a setter\n");
        goto out;
    }
    printf("frozen_context_error=%s\n", tp_errname(tp_errcode()));
    rc = 0;
out:
    tp_driver_client_close(dc);
    tp_client_close(client);
    tp_context_close(ctx);
    return rc;
}
