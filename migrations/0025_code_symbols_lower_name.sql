-- 0025 symbol search (SPEC 10) ranks case-insensitively exact names, then names starting with the query, then
-- the rest, each in (lower-cased name, path, ordinal) order. This index serves the first two as ranges and the
-- third as an ordered scan, each stopping after a page, where the trigram index (0023) could only find every
-- match and sort them (a name such as `i` or `get` can be defined thousands of times). It holds name, kind
-- and language so that a scan tests names and filters without reading the table, then fetches one page.
-- COLLATE "C": byte order whatever the database's collation, so a prefix is one contiguous range.
CREATE INDEX code_symbols_lower_name_idx
  ON public.code_symbols (repository_id, (lower(name) COLLATE "C"), path, ordinal) INCLUDE (name, kind, language);
