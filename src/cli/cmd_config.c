/*
 * tensorpool config check|dump CONFIG.toml — the driver configuration (DRIVER §18, issue 4).
 *
 * Both load the file exactly as `tensorpool driver` does (TOML, then the environment
 * overrides of D-89, then validation) and print key=value lines (DESIGN.md §5):
 *   check: `warning=<text>` per warning, then `ok` (exit 0) — or `error=<text>` per error
 *          (exit 1);
 *   dump:  the effective configuration, one `key=value` line per scalar
 *          (tp_driver_config_dump), exit 0, with the `warning=` lines on stderr — or the
 *          `error=` lines (exit 1).
 * Usage errors print one `error=<reason>` line and exit 2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "driver/config.h"

static int usage(const char *reason)
{
    printf("error=%s\n", reason);
    fprintf(stderr, "usage: tensorpool config check|dump CONFIG.toml\n");
    return 2;
}

int tp_cmd_config(int argc, char **argv)
{
    tp_driver_config_t *cfg;
    tp_cfg_report_t *rep;
    bool dump;
    int rc;

    if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        printf("usage: tensorpool config check|dump CONFIG.toml\n");
        return 0;
    }
    if (argc != 3) return usage("expected: config check|dump CONFIG.toml");
    if (!strcmp(argv[1], "check"))
        dump = false;
    else if (!strcmp(argv[1], "dump"))
        dump = true;
    else
        return usage("unknown config subcommand (expected check or dump)");

    /* ~170 KiB of fixed-size arrays: not for the stack */
    cfg = malloc(sizeof *cfg);
    rep = malloc(sizeof *rep);
    if (cfg == NULL || rep == NULL) {
        free(cfg);
        free(rep);
        printf("error=out of memory\n");
        return 1;
    }
    rc = tp_driver_config_load(cfg, argv[2], NULL, rep);
    /* dump keeps stdout to the configuration itself: its warnings go to stderr */
    for (uint32_t i = 0; i < rep->warning_count; i++)
        fprintf(dump ? stderr : stdout, "warning=%s\n", rep->warnings[i]);
    for (uint32_t i = 0; i < rep->error_count; i++) printf("error=%s\n", rep->errors[i]);
    if (rc == 0) {
        if (dump)
            tp_driver_config_dump(cfg, stdout);
        else
            printf("ok\n");
    }
    free(cfg);
    free(rep);
    return rc == 0 ? 0 : 1;
}
