-- 0025 symbol search (SPEC 10) ranks case-insensitively exact names, then names starting with the query, then
-- the rest, each in lower-cased name order. This index serves the first two as ranges and the third as an
-- ordered scan that stops after a page, where the trigram index (0023) could only find every match and sort
-- them. COLLATE "C": byte order whatever the database's collation, so a prefix is one contiguous range.
CREATE INDEX code_symbols_lower_name_idx ON public.code_symbols (repository_id, (lower(name) COLLATE "C"));
