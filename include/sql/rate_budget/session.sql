-- The budget is taken once per API call, each take its own transaction. Its rows are throwaway state
-- (a crash that loses the last milliseconds of it costs nothing), so a take need not wait for its WAL
-- to reach disk, which it otherwise does behind every large landing transaction of the same server.
SET synchronous_commit TO off
