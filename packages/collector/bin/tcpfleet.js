#!/usr/bin/env -S node --max-semi-space-size=4 --heap-growing-percent=50
// V8 flags for `tcpfleet serve` (harmless for the other commands): a young generation of 4 MB
// semi-spaces (Node's default grows them to 16 MB under ingest) and an old generation that may
// grow to 1.5 x what was live after the last full GC (V8's default lets it grow to up to 4 x on a
// machine with a few GB of memory). At 10,000 agents a second the collector's live heap is about
// 150 MB: docs/performance.md ("Collector memory per agent") has the measurements. deploy/ runs it
// with the same flags; `node packages/collector/bin/tcpfleet.js` without them runs with V8's defaults.
import '../dist/main.js';
