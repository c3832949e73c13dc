-- 0022 code search over line-aligned chunks (SPEC section 9; design and measurements in bench/README.md, search).
-- A file's content moves from indexed_files.content into indexed_chunks: consecutive pieces of a few KB that
-- end at a line break, each with its first line number, so that verifying a candidate touches a few KB
-- instead of a whole file. `folded` is the case-folded copy that the trigram index covers and that a
-- case-insensitive search matches with LIKE (ILIKE lower-cases every candidate on every search).
-- Both copies are stored uncompressed (STORAGE EXTERNAL) and in line when the row fits a page
-- (toast_tuple_target), so reading a candidate never decompresses.

SELECT set_config('search_path', concat_ws(', ', nullif(current_setting('search_path'), ''), 'extensions'), true);

DO $$
BEGIN
  IF to_regnamespace('extensions') IS NOT NULL THEN
    CREATE EXTENSION IF NOT EXISTS btree_gin WITH SCHEMA extensions;
  ELSE
    CREATE EXTENSION IF NOT EXISTS btree_gin;
  END IF;
END
$$;

CREATE TABLE public.indexed_chunks (
  repository_id uuid NOT NULL REFERENCES public.repositories (id) ON DELETE CASCADE,
  path          text NOT NULL,
  chunk_no      integer NOT NULL CHECK (chunk_no >= 0),
  -- 1-based number of the chunk's first line.
  start_line    integer NOT NULL CHECK (start_line >= 1),
  language      text,
  -- An exact slice of the file: the file is its chunks concatenated in chunk_no order.
  content       text NOT NULL,
  folded        text NOT NULL,
  PRIMARY KEY (repository_id, path, chunk_no)
) WITH (toast_tuple_target = 8160);

ALTER TABLE public.indexed_chunks ALTER COLUMN content SET STORAGE EXTERNAL;
ALTER TABLE public.indexed_chunks ALTER COLUMN folded SET STORAGE EXTERNAL;

-- repository_id first: the scan intersects the caller's repository with the trigrams before it reads a
-- row, so a search never rechecks another tenant's chunks. The pending list (fastupdate) stays: without it
-- every chunk written updates a thousand posting lists one by one (bench/README.md, search). Every search
-- reads the pending list whole, whoever wrote it, so the indexer merges it after each write
-- (IndexedFileStore.upsert).
CREATE INDEX indexed_chunks_search_idx ON public.indexed_chunks USING gin (repository_id, folded gin_trgm_ops);

-- Existing content, in chunks of 64 lines (the indexer's own chunks replace them on the next index).
INSERT INTO public.indexed_chunks (repository_id, path, chunk_no, start_line, language, content, folded)
SELECT f.repository_id, f.path, c.chunk_no, c.chunk_no * 64 + 1, f.language, c.content, lower(c.content)
FROM public.indexed_files f
CROSS JOIN LATERAL (
  SELECT (l.n - 1) / 64 AS chunk_no, string_agg(l.line, '' ORDER BY l.n) AS content
  FROM regexp_split_to_table(f.content, '(?<=\n)') WITH ORDINALITY AS l (line, n)
  WHERE l.line <> ''
  GROUP BY (l.n - 1) / 64
) c;

ALTER TABLE public.indexed_files DROP COLUMN content;

ALTER TABLE public.indexed_chunks ENABLE ROW LEVEL SECURITY;
CREATE POLICY service_role_all ON public.indexed_chunks FOR ALL TO service_role
  USING (auth.role() = 'service_role') WITH CHECK (auth.role() = 'service_role');
CREATE POLICY owner_select ON public.indexed_chunks FOR SELECT TO authenticated
  USING (EXISTS (
    SELECT 1 FROM public.repositories r
    WHERE r.id = indexed_chunks.repository_id AND r.user_id = (SELECT auth.uid())
  ));
REVOKE ALL ON public.indexed_chunks FROM PUBLIC, anon, authenticated;
GRANT SELECT ON public.indexed_chunks TO authenticated;
GRANT ALL ON public.indexed_chunks TO service_role;
