/* Subcommand table: X(name, function, one-line help). Each command lives in cmd_<name>.c,
 * returns the process exit status, and prints key=value lines (DESIGN.md §5). */
#ifndef TP_CLI_COMMANDS_H
#define TP_CLI_COMMANDS_H

#define TP_CLI_COMMANDS(X)                                                                  \
    X("decode", tp_cmd_decode, "decode one SBE message: decode HEX|@FILE")                  \
    X("driver", tp_cmd_driver, "run the driver: driver CONFIG.toml")                         \
    X("config", tp_cmd_config, "validate or print a driver config: config check|dump CONFIG.toml") \
    X("tap", tp_cmd_tap, "live decode of transport streams: tap --channel C --stream S") \
    X("producer", tp_cmd_producer, "attach and publish synthetic frames: producer --stream N --size B --rate HZ") \
    X("consumer", tp_cmd_consumer, "attach and consume frames: consumer --stream N --verify interop [--json]") \
    X("bench", tp_cmd_bench, "end-to-end benchmarks with their floors: bench --payload-bytes N --consumers N") \
    X("inspect", tp_cmd_inspect, "superblock, liveness and newest slots of a region: inspect PATH|URI [--slots N] [--json]") \
    X("stat", tp_cmd_stat, "live table of streams, consumers and counters: stat [--once] [--json] [--interval MS]")

#define TP_CLI_ENTRY(name, fn, help) { name, fn, help },
#define TP_CLI_DECLARE(name, fn, help) int fn(int argc, char **argv);
TP_CLI_COMMANDS(TP_CLI_DECLARE)

#endif
