/* The thread-local error: codes from one table, messages that stack like a trace. */
#include "tp_test.h"
#include "util/error.h"

TP_TEST(test_util_error_set_and_push)
{
    tp_err_clear();
    TP_CHECK_EQ_I(tp_errcode(), TP_OK);
    TP_CHECK_STR(tp_errmsg(), "");
    TP_CHECK_EQ_I(tp_err_set(TP_EURI, "bad scheme '%s'", "file"), -1);
    TP_CHECK_EQ_I(tp_err_push("announce pool %d", 2), -1);
    TP_CHECK_EQ_I(tp_errcode(), TP_EURI);
    TP_CHECK_STR(tp_errmsg(), "announce pool 2: bad scheme 'file'");
}

TP_TEST(test_util_error_names_from_table)
{
    TP_CHECK_STR(tp_errname(TP_EPATH), "TP_EPATH");
    TP_CHECK_STR(tp_errname(9999), "TP_UNKNOWN");
    TP_CHECK_STR(tp_errdesc(TP_OK), "no error");
}

TP_TEST(test_util_error_errno_suffix)
{
    tp_err_set_errno(TP_EIO, 2, "open %s", "/x");
    TP_CHECK_STR(tp_errmsg(), "open /x: No such file or directory");
}
