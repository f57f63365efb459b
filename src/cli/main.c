/* The tensorpool executable: one thin main per subcommand over the library (DESIGN.md §5). */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "codec/codec.h"
#include "shm/layout.h"
#include "tensorpool/tensorpool.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} commands[] = {
    TP_CLI_COMMANDS(TP_CLI_ENTRY)
};

static int usage(FILE *out)
{
    fprintf(out, "usage: tensorpool <command> [args]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(out, "  %-10s %s\n", "version", "version and wire schema versions (also --version)");
    return out == stdout ? 0 : 2;
}

/* `tensorpool --version`: the release, then what it speaks on the wire and in shared memory,
 * as key=value lines (one per SBE schema, in the `decode` field names). */
static int version(void)
{
    printf("tensorpool %s\n", tp_version_string());
    printf("version=%s\n", tp_version_string());
    printf("layout_version=%u\n", (unsigned)TP_LAYOUT_VERSION);
    for (size_t i = 0; i < tp_codec_schema_count(); i++) {
        const tp_sbe_schema_meta_t *s = tp_codec_schema_at(i);
        printf("schema=%u name=%s version=%u\n", (unsigned)s->id, s->package, (unsigned)s->version);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) return usage(stderr);
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help"))
        return usage(stdout);
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) return version();
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "error=unknown command '%s'\n", argv[1]);
    return usage(stderr);
}
