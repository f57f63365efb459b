#include "tensorpool/tensorpool.h"

#define TP_STR2(x) #x
#define TP_STR(x) TP_STR2(x)

const char *tp_version_string(void)
{
    return TP_STR(TP_VERSION_MAJOR) "." TP_STR(TP_VERSION_MINOR) "." TP_STR(TP_VERSION_PATCH);
}
