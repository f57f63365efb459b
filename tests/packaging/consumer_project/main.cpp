// The public headers from C++17, each on its own and through the umbrella, linked against the
// installed library (docs/install.md).
#include <tensorpool/error.h>
#include <tensorpool/types.h>
#include <tensorpool/frame.h>
#include <tensorpool/context.h>
#include <tensorpool/client.h>
#include <tensorpool/driver_client.h>
#include <tensorpool/producer.h>
#include <tensorpool/consumer.h>
#include <tensorpool/tensorpool.h>

#include <cstdio>
#include <memory>
#include <string>

int main()
{
    std::unique_ptr<tp_context_t, decltype(&tp_context_close)> ctx(nullptr, &tp_context_close);
    tp_context_t *raw = nullptr;
    if (tp_context_init(&raw) != 0) return 1;
    ctx.reset(raw);

    const std::string version = tp_version_string();
    const std::string dtype = tp_dtype_name(TP_DTYPE_FLOAT32);
    if (tp_context_set_log_level(ctx.get(), "no-such-level") == 0) return 1;
    std::printf("cxx_version=%s dtype=%s unknown_level_error=%s\n", version.c_str(),
                dtype.c_str(), tp_errname(tp_errcode()));
    return 0;
}
