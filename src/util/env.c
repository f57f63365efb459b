#include "util/env.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/log.h"

void tp_env_u64(const char *component, const char *name, uint64_t *v, uint64_t max)
{
    const char *s = getenv(name);
    char *end = NULL;
    unsigned long long x;
    if (s == NULL || *s == '\0')
        return;
    errno = 0;
    x = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || x > max) {
        tp_log_warn(component, "ignoring %s=%s: not a number up to %llu", name, s,
                    (unsigned long long)max);
        return;
    }
    *v = (uint64_t)x;
}

void tp_env_u32(const char *component, const char *name, uint32_t *v)
{
    uint64_t x = *v;
    tp_env_u64(component, name, &x, UINT32_MAX);
    *v = (uint32_t)x;
}

void tp_env_bool(const char *component, const char *name, int *v)
{
    const char *s = getenv(name);
    if (s == NULL || *s == '\0')
        return;
    if (!strcmp(s, "1") || !strcasecmp(s, "true") || !strcasecmp(s, "yes"))
        *v = 1;
    else if (!strcmp(s, "0") || !strcasecmp(s, "false") || !strcasecmp(s, "no"))
        *v = 0;
    else
        tp_log_warn(component, "ignoring %s=%s: not a boolean", name, s);
}

void tp_env_str(const char *component, const char *name, char *dst, size_t cap)
{
    const char *s = getenv(name);
    size_t n;
    if (s == NULL)
        return;
    n = strlen(s);
    if (n >= cap) {
        tp_log_warn(component, "ignoring %s: longer than %zu bytes", name, cap - 1);
        return;
    }
    memcpy(dst, s, n + 1);
}
