"""One screen per step of a part: title, briefing, Lock, workbench, reveal, Reflect, Ledger."""
