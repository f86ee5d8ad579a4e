-- The per-call trace (docs/console.md): one row per callback answered,
-- event applied, action posted or push relayed. Written by src/trace.rs in
-- ctx.wait_until; read by the console at /console. Numbers are stored
-- masked unless the config's trace.full_numbers is on.
CREATE TABLE IF NOT EXISTS trace (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  call_sid TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  kind TEXT NOT NULL,
  route TEXT NOT NULL,
  line TEXT NOT NULL DEFAULT '',
  caller TEXT NOT NULL DEFAULT '',
  caller_last TEXT NOT NULL DEFAULT '',
  status INTEGER NOT NULL,
  outcome TEXT NOT NULL,
  latency_ms INTEGER NOT NULL DEFAULT 0,
  summary TEXT NOT NULL DEFAULT '',
  params TEXT NOT NULL DEFAULT '{}',
  reason TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS trace_call ON trace (call_sid, at_ms);
CREATE INDEX IF NOT EXISTS trace_time ON trace (at_ms);
