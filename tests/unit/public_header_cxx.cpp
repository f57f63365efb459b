// The public header must compile as C++ (STYLE.md rule 12) and link against the C library.
#include "tensorpool/tensorpool.h"

#include <cstdio>
#include <cstring>

int main()
{
    if (std::strcmp(tp_version_string(), "0.1.0") != 0) return 1;
    if (std::strcmp(tp_errname(TP_EINVAL), "TP_EINVAL") != 0) return 1;
    std::printf("1 passed, 0 failed\n");
    return 0;
}
