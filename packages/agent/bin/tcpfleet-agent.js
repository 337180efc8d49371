#!/usr/bin/env -S node --max-semi-space-size=1
// A 1 MB young generation instead of 16 MB: the agent allocates little and its peak RSS drops by
// about 4 MB (bench/RESULTS.md). `env -S` needs coreutils 8.30 or later; `node tcpfleet-agent.js`
// skips the shebang, so pass the flag yourself there.
import '../dist/main.js';
