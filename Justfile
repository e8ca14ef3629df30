# ipc-bench recipes. `just` alone lists them.
#
# BUILD_MODE=release (the default: Cargo's release profile, what most teams
# ship), fast (fat LTO, one codegen unit: the mechanism's best figure, a
# longer build) or debug: a benchmark measured in debug mode misleads, so an
# optimized build is what you get unless you ask.
# FEATURES: Cargo features for the benchmark builds (default full: every codec
# and every optional transport, so switching either never triggers a rebuild).

set shell := ["bash", "-euo", "pipefail", "-c"]

build_mode := env("BUILD_MODE", "release")
features := env("FEATURES", "full")
profile_flag := if build_mode == "release" { "--release" } else if build_mode == "fast" { "--profile fast" } else if build_mode == "debug" { "" } else { error("BUILD_MODE must be release, fast or debug, got '" + build_mode + "'") }

# List the recipes
default:
    @just --list --unsorted

# Build every binary with every codec
build:
    cargo build {{ profile_flag }} --workspace --all-features --bins

# Run the test suite (the README's test command)
test:
    cargo test --workspace --all-features

# Format the code
fmt:
    cargo fmt --all
    rustfmt --edition 2021 src/transport/*.rs

# Check formatting and clippy, warnings as errors
lint:
    cargo fmt --all -- --check
    rustfmt --check --edition 2021 src/transport/*.rs
    cargo clippy --workspace --all-targets --all-features -- -D warnings

# The ipc-channel benchmark: `just ipc-ipcc`, `just ipc-ipcc postcard`, `just ipc-ipcc codec=postcard`
ipc-ipcc codec="json": (_parent "ipcc" codec)

# shared_memory + raw_sync (WAIT_STRATEGY=spin|block): `just ipc-raw-sync`, `just ipc-raw-sync postcard`, `just ipc-raw-sync codec=json`
ipc-raw-sync codec="json": (_parent "raw-sync" codec)

# The seed's name for ipc-raw-sync
ipc-shmem-raw-sync codec="json": (_parent "raw-sync" codec)

# shared_memory + shared-mem-queue: `just ipc-shared-mem-queue`, `... postcard`, `... codec=json`
ipc-shared-mem-queue codec="json": (_parent "shared-mem-queue" codec)

# The seed's name for ipc-shared-mem-queue
ipc-shmem-shared-mem-queue codec="json": (_parent "shared-mem-queue" codec)

# iceoryx2 (IOX_PATTERN=publish-subscribe|request-response; needs its feature, on in the default FEATURES): `just ipc-iceoryx2`, `just ipc-iceoryx2 codec=postcard`
ipc-iceoryx2 codec="json": (_run "ipc-bench" codec "run" "--transport" "iceoryx2")

# The reference results into results/reference/: every transport, variant, codec and complexity, across cores and on one core, 10 interleaved rounds each and more for precision, with charts and the tables in docs/
results rounds="10":
    #!/usr/bin/env bash
    set -euo pipefail
    cargo build --release --features full --bin ipc-bench
    bench=target/release/ipc-bench
    out=results/reference
    rm -rf "$out"
    "$bench" matrix --waits spin,block --iox-patterns publish-subscribe,request-response --pin cross,same \
        --rounds '{{ rounds }}' --reference spin --results-dir "$out" --format markdown > "$out.table.tmp"
    mv "$out.table.tmp" "$out/table.md"
    "$bench" compare "$out" --by codec --format markdown > "$out/by-codec.md"
    "$bench" plot "$out"
    # The payload sweep: json and bitcode from nothing to 1 MiB, across cores.
    "$bench" matrix --codecs json,bitcode --complexities structured --pin cross \
        --iox-patterns publish-subscribe,request-response \
        --payload-bytes 0,1024,16384,65536,1048576 --rounds '{{ rounds }}' \
        --reference spin --results-dir "$out/payload" --format markdown > "$out.payload.tmp"
    mv "$out.payload.tmp" "$out/payload/table.md"
    "$bench" plot "$out/payload"
    # Latency against offered load: one shared-memory and one kernel transport.
    "$bench" matrix --transports raw-sync,unix-socket --waits spin --codecs postcard \
        --complexities structured --pin cross --patterns ping-pong,rate \
        --rates 1k,10k,50k,100k,200k --rounds '{{ rounds }}' \
        --results-dir "$out/load" --format markdown > "$out.load.tmp"
    mv "$out.load.tmp" "$out/load/table.md"
    "$bench" plot "$out/load"
    "$bench" report "$out/load"
    # Fan-out: 1, 2 and 4 children per ping on the blocking transports, and
    # iceoryx2 (which spins) to show what spinning does with more processes than cores.
    "$bench" matrix --transports pipe,unix-socket,tcp,ipcc,raw-sync,iceoryx2 --waits block \
        --iox-patterns publish-subscribe --codecs postcard --complexities structured \
        --children 1,2,4 --rounds '{{ rounds }}' \
        --results-dir "$out/fanout" --format markdown > "$out.fanout.tmp"
    mv "$out.fanout.tmp" "$out/fanout/table.md"
    "$bench" plot "$out/fanout"
    # Streams: every transport one way with 1, 16 and 256 messages in flight,
    # beside its ping-pong, at 32 B and 64 KiB (shared-mem-queue's region
    # sized for 256 messages of 64 KiB each way).
    "$bench" matrix --iox-patterns publish-subscribe --codecs postcard --complexities structured \
        --payload-bytes 32,65536 --pin cross --patterns ping-pong,stream --windows 1,16,256 \
        --queue-region-bytes 40000000 --rounds '{{ rounds }}' \
        --results-dir "$out/stream" --format markdown > "$out.stream.tmp"
    mv "$out.stream.tmp" "$out/stream/table.md"
    "$bench" plot "$out/stream"
    just results-mechanisms '{{ rounds }}'
    just results-codecs '{{ rounds }}'
    just results-rates

# The cost at the rate you run into results/reference/rates/ (part of `results`): every transport with JSON across cores at 1, 10, 100, 1,000 and 10,000 requests a second and flat out (a round holds at least 20 requests: at 1/s, 20 s), with the latency from the due time, the CPU per second and the memory each holds; its charts (load.svg, cpu-load.svg) and page; then every one on one core with JSON and postcard from 1/s up, into rates-one-core/. About 80 minutes on 2 cores (24 across cores, 55 on one).
results-rates rounds="5":
    #!/usr/bin/env bash
    set -euo pipefail
    cargo build --release --features full --bin ipc-bench
    bench=target/release/ipc-bench
    out=results/reference/rates
    rm -rf "$out"
    "$bench" matrix --transports spin,futex,pipe,unix-socket,iceoryx2,raw-sync,shared-mem-queue,ipcc,tcp,udp,unix-datagram,posix-mq,stdio,tokio \
        --codecs json --complexities structured --pin cross --patterns ping-pong,rate --rates 1,10,100,1k,10k \
        --rounds '{{ rounds }}' --max-time 120 --results-dir "$out" --format markdown > "$out.table.tmp"
    mv "$out.table.tmp" "$out/table.md"
    "$bench" plot "$out"
    "$bench" report "$out"
    for rate in 1 100 10k; do
        "$bench" pick "$out" --rate "$rate" --p99 1ms --cpu 5 > "$out/pick-$rate.txt" || true
    done
    "$bench" pick "$out" --rate max > "$out/pick-max.txt"
    # The same on one core, JSON against postcard, from 1/s up.
    one=results/reference/rates-one-core
    rm -rf "$one"
    "$bench" matrix --transports spin,futex,pipe,unix-socket,iceoryx2,raw-sync,shared-mem-queue,ipcc,tcp,udp,unix-datagram,posix-mq,stdio,tokio \
        --codecs json,postcard --complexities structured --pin same --patterns ping-pong,rate --rates 1,10,100,1k,10k \
        --rounds '{{ rounds }}' --max-time 120 --results-dir "$one" --format markdown > "$one.table.tmp"
    mv "$one.table.tmp" "$one/table.md"
    "$bench" plot "$one"
    "$bench" report "$one"
    "$bench" pick "$one" --rate 1k --p99 1ms --cpu 25 > "$one/pick-1k.txt" || true

# The mechanisms question into results/reference/{mechanisms,sleeping-wait,stdio}/ (part of `results`): every kernel mechanism and shared-memory wait ranked across cores and on one core, with the async tax; the sleeping wait against spinning and blocking, flat out and at 10,000 round trips/s; stdio carrying JSON as a language server does
results-mechanisms rounds="10":
    #!/usr/bin/env bash
    set -euo pipefail
    cargo build --release --features full --bin ipc-bench
    bench=target/release/ipc-bench
    out=results/reference
    rm -rf "$out/mechanisms" "$out/sleeping-wait" "$out/stdio"
    "$bench" matrix --transports pipe,stdio,unix-socket,unix-datagram,tcp,udp,posix-mq,ipcc,tokio,spin,futex,raw-sync,shared-mem-queue,iceoryx2 \
        --waits spin,block --sockets unix,tcp --runtimes current-thread,multi-thread \
        --complexities raw-string --pin cross,same --rounds '{{ rounds }}' \
        --results-dir "$out/mechanisms" --format markdown > "$out.mechanisms.tmp"
    mv "$out.mechanisms.tmp" "$out/mechanisms/table.md"
    # The async tax: each tokio row as a multiple of its blocking socket, round by round.
    "$bench" compare "$out/mechanisms" --reference unix-socket --format markdown > "$out/mechanisms/vs-unix-socket.md"
    "$bench" compare "$out/mechanisms" --reference tcp --format markdown > "$out/mechanisms/vs-tcp.md"
    "$bench" matrix --transports futex,spin,raw-sync --waits block --complexities raw-string \
        --pin cross,same --patterns ping-pong,rate --rates 10k --rounds '{{ rounds }}' \
        --results-dir "$out/sleeping-wait" --format markdown > "$out.sleeping.tmp"
    mv "$out.sleeping.tmp" "$out/sleeping-wait/table.md"
    "$bench" matrix --transports stdio,pipe,unix-socket,tokio --framings length,lines --codecs json \
        --complexities structured --payload-bytes 256,4096 --rounds '{{ rounds }}' \
        --reference stdio --results-dir "$out/stdio" --format markdown > "$out.stdio.tmp"
    mv "$out.stdio.tmp" "$out/stdio/table.md"
    just readme-results
    just reports

# The serialization question into results/reference/{codecs,shapes}/ (part of `results`): every codec × shape alone at 32 B, 1 KiB and 64 KiB, then every shape through raw-sync (spin) and unix-socket across cores at 32 B and 64 KiB
results-codecs rounds="10":
    #!/usr/bin/env bash
    set -euo pipefail
    cargo build --release --features full --bin ipc-bench
    bench=target/release/ipc-bench
    out=results/reference
    rm -rf "$out/codecs" "$out/shapes"
    "$bench" codecs --rounds '{{ rounds }}' --payload-bytes 32,1024,65536 \
        --results-dir "$out/codecs" --format markdown > "$out.codecs.tmp"
    mv "$out.codecs.tmp" "$out/codecs/table.md"
    "$bench" plot "$out/codecs"
    "$bench" matrix --transports raw-sync,unix-socket --waits spin --pin cross \
        --complexities structured,log,numeric,nested --payload-bytes 32,65536 \
        --rounds '{{ rounds }}' --results-dir "$out/shapes" --format markdown > "$out.shapes.tmp"
    mv "$out.shapes.tmp" "$out/shapes/table.md"
    "$bench" compare "$out/shapes" --by codec --format markdown > "$out/shapes/by-codec.md"
    "$bench" plot "$out/shapes"
    # The codecs alone beside their round trips: what docs/codecs.md's "Choosing a format" shows.
    "$bench" compare "$out/codecs/codecs.json" "$out/shapes" --format markdown > "$out/shapes/formats.md"
    just readme-results
    just reports

# The page of every reference set (report.html in results/reference/ and in each of its directories), from the committed result files (part of `results`)
reports:
    #!/usr/bin/env bash
    set -euo pipefail
    cargo build --release --features full --bin ipc-bench
    for dir in results/reference results/reference/*/; do
        target/release/ipc-bench report "$dir" --out "${dir%/}/report.html"
    done

# Regenerate the results tables in docs/ from results/reference/
readme-results:
    #!/usr/bin/env bash
    set -euo pipefail
    # In DOC, replaces what stands between <!-- NAME:start --> and <!-- NAME:end --> with FILE.
    splice() {
        awk -v table="$(cat "$2")" -v start="<!-- $1:start -->" -v end="<!-- $1:end -->" '
            $0 == start { print; print ""; print table; print ""; skip = 1; next }
            $0 == end { skip = 0 }
            !skip { print }
        ' "$3" > "$3.tmp"
        mv "$3.tmp" "$3"
    }
    splice results results/reference/table.md docs/reference-results.md
    splice payload results/reference/payload/table.md docs/reference-results.md
    splice formats results/reference/shapes/formats.md docs/codecs.md
    splice mechanisms results/reference/mechanisms/table.md docs/reference-results.md
    splice sleeping-wait results/reference/sleeping-wait/table.md docs/reference-results.md
    splice stdio results/reference/stdio/table.md docs/reference-results.md

# Remove shared-memory regions, socket directories and iceoryx2 nodes left by processes that no longer exist
clean:
    cargo run {{ profile_flag }} --features {{ features }} --bin ipc-bench -- clean

# Any ipc-bench command line: `just bench run --transport ipcc --codec msgpack --pin cross`
bench *args:
    cargo run {{ profile_flag }} --features {{ features }} --bin ipc-bench -- {{ args }}

# Runs <transport>-parent with the codec given as `NAME` or `codec=NAME`.
[private]
_parent transport codec: (_run (transport + "-parent") codec)

# Runs binary `bin` with `args`, then the codec given as `NAME` or `codec=NAME`.
[private]
_run bin codec *args:
    #!/usr/bin/env bash
    set -euo pipefail
    codec='{{ codec }}'
    codec="${codec#codec=}"
    exec cargo run {{ profile_flag }} --features '{{ features }}' --bin '{{ bin }}' -- {{ args }} --codec "$codec"
