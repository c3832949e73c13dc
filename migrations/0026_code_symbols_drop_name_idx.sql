-- 0026 exact-name lookups of definitions (`definitions`, `filesDefining`, callers' and the overview's names,
-- code search's case-sensitive `sym:`) now ask `lower(name) COLLATE "C" = lower($n) AND name = $n`, a range of
-- 0025's index (which holds name), so 0023's (repository_id, name) index serves nothing: one index fewer to
-- store and to write for every symbol an index job inserts.
DROP INDEX public.code_symbols_name_idx;
