#!/bin/sh
# The documentation test (issue 6 "Operating tensorpool"): every command in README.md and
# docs/**/*.md is run, so the docs cannot rot. The conventions are documented for writers in
# docs/guide/README.md ("Conventions"). In short:
#
#   ```sh            commands: run in file order by one `sh -e` per file (state such as
#                    exported variables carries over from block to block, as in a terminal)
#   ```text          output, not run; with <!-- doc-test: output --> right before it, it is
#                    compared with the output of the sh block before it: every non-blank line
#                    must appear, in order, as a whole line; "…" matches any text
#   <!-- doc-test: skip (reason) -->   before a sh block: not run; printed with the reason
#   <!-- doc-test: exit N -->          before a sh block: it must exit with status N
#   <!-- doc-test: file NAME -->       before any block: its text is written to NAME (in
#                                      the working directory) when the file gets there
#   <!-- doc-test: excerpt PATH -->    before any block: its lines are lines of PATH (relative
#                                      to the repository), in order, leading blanks ignored;
#                                      a line "…" stands for any line
#   <!-- doc-test: needs-driver -->    on its own line anywhere in a file: `tensorpool driver
#                                      docs/examples/driver_integration_example.toml` runs
#                                      while the file's blocks run
#   <!-- doc-test: needs-producer -->  ... and `tensorpool producer --rate 100` as well
#
# Each file runs in a fresh directory under /dev/shm/tp-doctest-XXXXXX that looks like the
# repository root (build/, include/ and examples/ link to the tree, docs/examples/ is a copy),
# with an environment of its own (env -i): PATH with the build's tensorpool and examples
# first, and TENSORPOOL_DIR, SHM_BASE_DIR, HOME and TMPDIR inside the temporary directory, so
# nothing touches /dev/shm/tensorpool-$USER or the user's home. Every process a file starts
# runs in a session of its own and is killed afterwards, also on failure, timeout or
# interruption; every file is removed. Blocks tagged bash/shell/console/zsh are refused.
#
# usage: doc_test.sh SOURCE_DIR BUILD_DIR BIN_DIR EXAMPLES_DIR [FILE.md ...]
#        doc_test.sh --links-only SOURCE_DIR [FILE.md ...]
#   SOURCE_DIR    the repository (README.md, docs/)
#   BUILD_DIR     the build tree (linked as build/ in each working directory)
#   BIN_DIR       the directory of the tensorpool executable
#   EXAMPLES_DIR  the directory of the example programs (producer, consumer, tp_demo)
#   FILE.md       only these files, relative to SOURCE_DIR (default: README.md docs/**/*.md)
#   --links-only  only check that every relative link points to an existing file
# Environment: TP_DOCTEST_KEEP=1 keeps the temporary directory; TP_DOCTEST_FILE_TIMEOUT
# bounds each file (seconds, default 240). Exit 0 pass, 1 fail, 77 skipped (no /dev/shm).
set -u
LC_ALL=C
export LC_ALL

links_only=0
if [ "${1:-}" = "--links-only" ]; then
    links_only=1
    shift
fi
SRC=$(cd "${1:?usage: doc_test.sh SOURCE_DIR BUILD_DIR BIN_DIR EXAMPLES_DIR [FILE...]}" && pwd -P) || exit 1
shift
if [ "$links_only" -eq 0 ]; then
    BUILD=$(cd "${1:?missing BUILD_DIR}" && pwd -P) || exit 1
    BIN=$(cd "${2:?missing BIN_DIR}" && pwd -P) || exit 1
    EXAMPLES=$(cd "${3:?missing EXAMPLES_DIR}" && pwd -P) || exit 1
    shift 3
fi
HERE=$(cd "$(dirname "$0")" && pwd -P)
PENDING="$HERE/pending_skips.txt"
FILE_TIMEOUT=${TP_DOCTEST_FILE_TIMEOUT:-240}
tab=$(printf '\t')
DOC_USER=${USER:-$(id -un)}

if [ $# -gt 0 ]; then
    FILES="$*"
else
    FILES="README.md $(cd "$SRC" && find docs -name '*.md' -type f | sort)"
fi

# ---- temporary directory, cleanup ----------------------------------------------------------
if [ "$links_only" -eq 0 ] && [ ! -w /dev/shm ]; then
    echo "SKIP: /dev/shm is not writable (the doc test keeps its directories there, so that"
    echo "      clients map the driver's regions with their default allowed directory /dev/shm)"
    exit 77
fi
if [ "$links_only" -eq 0 ]; then
    WORK=$(mktemp -d /dev/shm/tp-doctest-XXXXXX) || exit 1
else
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/tp-doclinks-XXXXXX") || exit 1
fi
PGIDS="" # sessions this script started (each leader's pid is its process group id)

kill_groups() {
    [ -n "$PGIDS" ] || return 0
    for g in $PGIDS; do kill -TERM "-$g" 2>/dev/null; done
    n=0
    while [ $n -lt 50 ]; do
        alive=""
        for g in $PGIDS; do kill -0 "-$g" 2>/dev/null && alive="$alive $g"; done
        [ -n "$alive" ] || break
        sleep 0.1
        n=$((n + 1))
    done
    for g in $PGIDS; do kill -KILL "-$g" 2>/dev/null; done
    for g in $PGIDS; do wait "$g" 2>/dev/null; done
    PGIDS=""
}

cleanup() {
    kill_groups
    if [ "${TP_DOCTEST_KEEP:-0}" = 1 ]; then
        echo "kept $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'echo "interrupted"; exit 130' INT TERM HUP

FAILS=0
fail() {
    echo "FAIL $*"
    FAILS=$((FAILS + 1))
}

# ---- parsing -----------------------------------------------------------------------------
# parse FILE OUTDIR: OUTDIR/manifest, one tab-separated line per item: kind, line, argument.
# Kinds: flag (needs-driver, needs-producer), run (expected exit status), skip (reason),
# output, file (name), link (target), error (message). The text of each fenced block is
# written to OUTDIR/<line of its opening fence>.blk.
parse() {
    awk -v out="$2" '
    function emit(kind, line, arg) { printf "%s\t%d\t%s\n", kind, line, arg > (out "/manifest") }
    function bad(msg) { emit("error", NR, msg) }
    function links(s,    t, p, target) {
        gsub(/`[^`]*`/, "", s)                        # code spans hold no links
        if (match(s, /^ ? ? ?\[[^]]+\]:[ \t]+[^ \t]+/)) { # [ref]: target
            target = s; sub(/^[^]]*\]:[ \t]+/, "", target); sub(/[ \t].*$/, "", target)
            emit("link", NR, target)
        }
        while ((p = index(s, "](")) > 0) {
            s = substr(s, p + 2)
            t = index(s, ")")
            if (t == 0) break
            target = substr(s, 1, t - 1)
            sub(/[ \t]+"[^"]*"$/, "", target)          # [text](target "title")
            emit("link", NR, target)
            s = substr(s, t + 1)
        }
    }
    BEGIN { inblock = 0; pend = ""; pend_line = 0; printf "" > (out "/manifest") }
    {
        line = $0
        t = line; sub(/^ +/, "", t); ind = length(line) - length(t)
        if (inblock) {
            if (ind <= 3 && t ~ /^```+[ \t]*$/) {
                f = t; sub(/[ \t]*$/, "", f)
                if (length(f) >= fence_len) { inblock = 0; close(blk); next }
            }
            c = line; n = indent
            while (n > 0 && substr(c, 1, 1) == " ") { c = substr(c, 2); n-- }
            print c > blk
            next
        }
        if (line ~ /^ *<!-- *doc-test:/) {
            d = line; sub(/^ *<!-- *doc-test: */, "", d); sub(/ *--> *$/, "", d)
            if (d == "needs-driver" || d == "needs-producer") { emit("flag", NR, d); next }
            if (pend != "") { bad("directive \"" d "\" while the one of line " pend_line " waits for its block"); next }
            if (d ~ /^skip \(.+\)$/ || d ~ /^exit [0-9]+$/ || d == "output" || d ~ /^file [A-Za-z0-9._][A-Za-z0-9._\/-]*$/ || d ~ /^excerpt [A-Za-z0-9._][A-Za-z0-9._\/-]*$/) {
                pend = d; pend_line = NR; next
            }
            bad("unknown doc-test directive \"" d "\""); next
        }
        if (ind <= 3 && t ~ /^```/) {
            fence = t; sub(/[^`].*$/, "", fence); fence_len = length(fence)
            lang = substr(t, fence_len + 1); sub(/^[ \t]+/, "", lang); sub(/[ \t{].*$/, "", lang)
            inblock = 1; indent = ind; blk = out "/" NR ".blk"; printf "" > blk
            if (lang == "bash" || lang == "shell" || lang == "console" || lang == "zsh" || lang == "shell-session") {
                bad("code block tagged \"" lang "\": use sh for commands (run by the doc test) or text for output")
            } else if (lang == "sh") {
                if (pend == "") emit("run", NR, 0)
                else if (pend ~ /^skip /) { r = pend; sub(/^skip \(/, "", r); sub(/\)$/, "", r); emit("skip", NR, r) }
                else if (pend ~ /^exit /) { r = pend; sub(/^exit /, "", r); emit("run", NR, r) }
                else if (pend ~ /^file /) { r = pend; sub(/^file /, "", r); emit("file", NR, r) }
                else if (pend ~ /^excerpt /) { r = pend; sub(/^excerpt /, "", r); emit("excerpt", NR, r) }
                else bad("\"" pend "\" (line " pend_line ") cannot precede a sh block")
            } else if (pend == "output") {
                emit("output", NR, "")
            } else if (pend ~ /^excerpt /) {
                r = pend; sub(/^excerpt /, "", r); emit("excerpt", NR, r)
            } else if (pend ~ /^file /) {
                r = pend; sub(/^file /, "", r); emit("file", NR, r)
            } else if (pend != "") {
                bad("\"" pend "\" (line " pend_line ") applies to sh blocks only, not to \"" lang "\"")
            }
            pend = ""
            next
        }
        if (pend != "" && t != "") {
            bad("the directive of line " pend_line " is not followed by a code block (only blank lines may come between)")
            pend = ""
        }
        links(line)
    }
    END {
        if (inblock) emit("error", NR, "code block not closed")
        if (pend != "") emit("error", pend_line, "directive at the end of the file")
    }' "$1"
}

# ---- links -------------------------------------------------------------------------------
LINKS=0
check_links() { # FILE PARSEDIR
    dir=$(dirname "$SRC/$1")
    while IFS="$tab" read -r kind line target; do
        [ "$kind" = link ] || continue
        case "$target" in
            ''|'#'*|*://*|mailto:*|'<'*) continue ;;
        esac
        path=${target%%#*}
        [ -n "$path" ] || continue
        LINKS=$((LINKS + 1))
        case "$path" in
            /*) full=$path ;;
            *) full="$dir/$path" ;;
        esac
        [ -e "$full" ] && continue
        # A link that leaves the repository (../../shared/spec/...) is checked when the
        # directory it points into exists here; a checkout without it cannot tell.
        parent=$(cd "$(dirname "$full")" 2>/dev/null && pwd -P) || parent=""
        case "$parent/" in
            "$SRC"/*) fail "$1:$line: link to $target: no such file" ;;
            /) echo "note $1:$line: link to $target leaves the repository; not checked here" ;;
            *) fail "$1:$line: link to $target: no such file" ;;
        esac
    done < "$2/manifest"
}

# ---- pending skips -------------------------------------------------------------------------
# tests/docs/pending_skips.txt lists sh blocks of files whose owners have not marked them yet:
# FILE<TAB>first line of the block<TAB>reason. An entry that matches no block fails the test,
# so the list cannot outlive the blocks it names.
pending_reason() { # FILE FIRSTLINE: prints the reason; status 0 when listed
    [ -f "$PENDING" ] || return 1
    awk -F '\t' -v f="$1" -v l="$2" '$0 !~ /^#/ && $1 == f && $2 == l { print $3; found = 1; exit }
        END { exit found ? 0 : 1 }' "$PENDING"
}

first_line() { # BLOCKFILE
    awk 'NF { sub(/^[ \t]+/, ""); sub(/[ \t]+$/, ""); print; exit }' "$1"
}

# ---- the output matcher ------------------------------------------------------------------
cat > "$WORK/match.awk" <<'EOF'
# awk -f match.awk EXPECTED ACTUAL: every non-blank line of EXPECTED is a whole line of
# ACTUAL, in order; "…" in an expected line matches any text; trailing blanks are ignored,
# and with -v trim=1 leading blanks too.
function matches(p, s,    n, parts, k, pos, i, last) {
    n = split(p, parts, "…")
    if (n == 1) return p == s
    if (substr(s, 1, length(parts[1])) != parts[1]) return 0
    pos = length(parts[1]) + 1
    for (k = 2; k < n; k++) {
        i = index(substr(s, pos), parts[k])
        if (i == 0) return 0
        pos += i - 1 + length(parts[k])
    }
    last = parts[n]
    if (length(s) - length(last) + 1 < pos) return 0
    return substr(s, length(s) - length(last) + 1) == last
}
{ sub(/[ \t\r]+$/, ""); if (trim) sub(/^[ \t]+/, "") }
NR == FNR { if ($0 != "") want[++nw] = $0; next }
{ if (k < nw && matches(want[k + 1], $0)) k++ }
END {
    if (k < nw) {
        printf "expected line %d not found (lines match in order, … = any text): %s\n", k + 1, want[k + 1]
        exit 1
    }
}
EOF

# ---- running a file ----------------------------------------------------------------------
RUN=0
SKIPPED=0
OUTPUTS=0
EXCERPTS=0
WRITTEN=0
USED_PENDING=""

# in_env DIR CMD...: exec CMD in DIR, in a new session, with the file's environment only.
in_env() {
    d=$1
    shift
    cd "$d" && exec setsid env -i \
        PATH="$BIN:$EXAMPLES:${PATH:-/usr/bin:/bin}" HOME="$E/home" TMPDIR="$E/tmp" \
        USER="$DOC_USER" TENSORPOOL_DIR="$E/transport" SHM_BASE_DIR="$E/shm" \
        TP_DOCTEST_LINE="$P/line" TP_DOCTEST_STATUS="$P/status" "$@"
}

wait_for_line() { # LOG PATTERN PID SECONDS
    n=0
    while [ $n -lt $(($4 * 10)) ]; do
        grep -q "$2" "$1" 2>/dev/null && return 0
        kill -0 "$3" 2>/dev/null || return 1
        sleep 0.1
        n=$((n + 1))
    done
    return 1
}

# The driver (and the producer) a file asked for.
start_system() {
    ( in_env "$W" tensorpool driver docs/examples/driver_integration_example.toml ) \
        > "$P/driver.log" 2>&1 < /dev/null &
    PGIDS="$PGIDS $!"
    if ! wait_for_line "$P/driver.log" 'driver: started' $! 30; then
        echo "the driver did not start:"
        cat "$P/driver.log"
        return 1
    fi
    [ "$needs" = producer ] || return 0
    ( in_env "$W" tensorpool producer --rate 100 --duration 900 ) \
        > "$P/producer.log" 2>&1 < /dev/null &
    PGIDS="$PGIDS $!"
    if ! wait_for_line "$P/producer.log" 'attached role=producer' $! 30; then
        echo "the producer did not attach:"
        cat "$P/producer.log"
        return 1
    fi
}

# make_script: the file's blocks in order under set -e; each block writes its name to
# $TP_DOCTEST_LINE before it runs and its output to <line>.out; a failure's status goes to
# $TP_DOCTEST_STATUS. Sets nrun and needs.
make_script() {
    script="$P/script.sh"
    nrun=0
    needs=""
    prev_run=""
    {
        echo 'set -e'
        echo "trap 'st=\$?; [ \$st -eq 0 ] || echo \$st > \"\$TP_DOCTEST_STATUS\"' EXIT"
    } > "$script"
    while IFS="$tab" read -r kind line arg; do
        case "$kind" in
        flag)
            [ "$arg" = needs-producer ] && needs=producer
            [ "$arg" = needs-driver ] && [ -z "$needs" ] && needs=driver ;;
        skip)
            SKIPPED=$((SKIPPED + 1))
            prev_run=skipped
            fl=$(first_line "$P/$line.blk")
            echo "SKIP $f:$line ($arg): $fl"
            if pending_reason "$f" "$fl" > /dev/null; then
                USED_PENDING="$USED_PENDING
$f$tab$fl"
                echo "note $f:$line is marked now: remove its entry from tests/docs/pending_skips.txt"
            fi ;;
        file)
            WRITTEN=$((WRITTEN + 1))
            printf 'mkdir -p "$(dirname "%s")" && cp "%s" "%s"\n' "$arg" "$P/$line.blk" "$arg" >> "$script" ;;
        excerpt)
            EXCERPTS=$((EXCERPTS + 1))
            if [ ! -f "$SRC/$arg" ]; then
                fail "$f:$line: the excerpt names $arg, which does not exist"
            elif ! awk -v trim=1 -f "$WORK/match.awk" "$P/$line.blk" "$SRC/$arg" > "$P/$line.why"; then
                fail "$f:$line: the excerpt is not (any more) in $arg: $(cat "$P/$line.why")"
            fi ;;
        output)
            if [ -z "$prev_run" ]; then
                fail "$f:$line: an output block must follow a sh block"
                continue
            fi
            [ "$prev_run" = skipped ] && continue # the output of a skipped block
            OUTPUTS=$((OUTPUTS + 1))
            {
                echo "echo '$f:$line' > \"\$TP_DOCTEST_LINE\""
                echo "if ! awk -f '$WORK/match.awk' '$P/$line.blk' '$P/$prev_run.out' > '$P/$line.why'; then"
                echo "    echo 'the output of the block at line $prev_run does not match the output block at line $line:'"
                echo "    cat '$P/$line.why'"
                echo "    exit 1"
                echo "fi"
            } >> "$script" ;;
        run)
            if ! sh -n "$P/$line.blk" 2> "$P/$line.syntax"; then
                fail "$f:$line: syntax error in the sh block: $(cat "$P/$line.syntax")"
                continue
            fi
            fl=$(first_line "$P/$line.blk")
            if reason=$(pending_reason "$f" "$fl"); then
                SKIPPED=$((SKIPPED + 1))
                USED_PENDING="$USED_PENDING
$f$tab$fl"
                echo "SKIP $f:$line ($reason; listed in tests/docs/pending_skips.txt until $f marks it): $fl"
                prev_run=skipped
                continue
            fi
            nrun=$((nrun + 1))
            prev_run=$line
            echo "$line" >> "$P/ran"
            {
                echo "echo '$f:$line' > \"\$TP_DOCTEST_LINE\""
                if [ "$arg" = 0 ]; then
                    echo "{"
                    cat "$P/$line.blk"
                    echo "} > '$P/$line.out' 2>&1 < /dev/null"
                else
                    echo "set +e"
                    echo "("
                    echo "set -e"
                    cat "$P/$line.blk"
                    echo ") > '$P/$line.out' 2>&1 < /dev/null"
                    echo "st=\$?"
                    echo "set -e"
                    echo "if [ \$st -ne $arg ]; then echo \"(exit status \$st; the doc says $arg)\" >> '$P/$line.out'; exit 1; fi"
                fi
            } >> "$script" ;;
        esac
    done < "$P/manifest"
    echo 'trap - EXIT' >> "$script"
}

report_blocks() {
    [ -f "$P/ran" ] || return 0
    while read -r line; do
        [ -f "$P/$line.out" ] || continue
        echo "--- $f:$line"
        sed 's/^/    $ /' "$P/$line.blk"
        sed 's/^/    /' "$P/$line.out"
    done < "$P/ran"
}

run_file() { # FILE INDEX
    f=$1
    P="$WORK/parse/$2"
    W="$WORK/run/$2"
    E="$WORK/env/$2"
    mkdir -p "$P"
    parse "$SRC/$f" "$P"
    check_links "$f" "$P"
    if grep -q '^error' "$P/manifest"; then
        while IFS="$tab" read -r kind line arg; do
            [ "$kind" = error ] && fail "$f:$line: $arg"
        done < "$P/manifest"
        return
    fi
    [ "$links_only" -eq 1 ] && return
    make_script
    [ "$nrun" -gt 0 ] || return 0
    RUN=$((RUN + nrun))

    # The working directory looks like the repository root.
    mkdir -p "$W/docs" "$E/transport" "$E/shm" "$E/home" "$E/tmp"
    ln -s "$BUILD" "$W/build"
    ln -s "$SRC/include" "$W/include"
    ln -s "$SRC/examples" "$W/examples"
    [ -d "$SRC/docs/examples" ] && cp -R "$SRC/docs/examples" "$W/docs/examples"
    echo "=== $f: $nrun blocks${needs:+, with a running $needs}"
    if [ -n "$needs" ] && ! start_system > "$P/system.out" 2>&1; then
        fail "$f: could not start the $needs the file needs"
        cat "$P/system.out"
        kill_groups
        return
    fi
    ( in_env "$W" timeout -k 5 "$FILE_TIMEOUT" sh "$P/script.sh" ) < /dev/null &
    spid=$!
    PGIDS="$PGIDS $spid"
    wait $spid
    st=$?
    kill_groups # the file's session (whatever its blocks left running), driver, producer
    report_blocks
    if [ $st -ne 0 ] || [ -f "$P/status" ]; then
        where=$(cat "$P/line" 2>/dev/null || echo "$f")
        if [ $st -eq 124 ] || [ $st -eq 137 ]; then
            fail "$where: timed out after $FILE_TIMEOUT s (a command without --duration or --count?)"
        else
            fail "$where: the block failed (exit status $(cat "$P/status" 2>/dev/null || echo $st))"
        fi
        for l in driver producer; do
            [ -f "$P/$l.log" ] || continue
            echo "--- the $l the harness started (last lines of its log)"
            tail -n 20 "$P/$l.log" | sed 's/^/    /'
        done
    else
        echo "ok   $f"
    fi
    [ "${TP_DOCTEST_KEEP:-0}" = 1 ] || rm -rf "$W" "$E"
}

i=0
for f in $FILES; do
    i=$((i + 1))
    if [ ! -f "$SRC/$f" ]; then
        fail "$f: no such file"
        continue
    fi
    run_file "$f" "$i"
done

# Entries of pending_skips.txt that matched no block.
if [ "$links_only" -eq 0 ] && [ $# -eq 0 ] && [ -f "$PENDING" ]; then
    while IFS="$tab" read -r pf pl pr; do
        case "$pf" in '#'*|'') continue ;; esac
        if ! printf '%s\n' "$USED_PENDING" | grep -qxF "$pf$tab$pl"; then
            fail "tests/docs/pending_skips.txt: no sh block of $pf starts with '$pl': remove the entry"
        fi
    done < "$PENDING"
fi

if [ "$links_only" -eq 1 ]; then
    echo "links: $LINKS relative links checked"
else
    echo "docs: $RUN blocks run, $SKIPPED skipped, $OUTPUTS outputs compared, $EXCERPTS excerpts checked, $WRITTEN files written, $LINKS relative links checked"
fi
if [ $FAILS -gt 0 ]; then
    echo "$FAILS failure(s)"
    exit 1
fi
exit 0
