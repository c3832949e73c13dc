-- 0027 code_references: one row per (repository, file, name) instead of one per reference. A name is
-- referenced several times in a file (2.6 to 5.3 times on average on real code, bench/README.md, index
-- section), and each row costs a tuple header, its index entries and its share of the insert: the references
-- of a name in a file are now parallel arrays, in extraction order (ordinals ascending).
-- kinds is a "char" array, one byte a reference where a text[] element takes 8 to 12: c call, t type,
-- e inherit (extends), i import, o other (NavigationStore decodes, CodeIntelStore encodes).

ALTER TABLE public.code_references RENAME TO code_references_flat;
ALTER TABLE public.code_references_flat RENAME CONSTRAINT code_references_pkey TO code_references_flat_pkey;
ALTER TABLE public.code_references_flat
  RENAME CONSTRAINT code_references_repository_id_fkey TO code_references_flat_repository_id_fkey;
DROP INDEX public.code_references_name_idx;

CREATE TABLE public.code_references (
  repository_id uuid NOT NULL REFERENCES public.repositories (id) ON DELETE CASCADE,
  path          text NOT NULL,
  name          text NOT NULL,
  ordinals      integer[] NOT NULL,
  kinds         "char"[] NOT NULL,
  lines         integer[] NOT NULL,
  cols          integer[] NOT NULL,
  -- The innermost enclosing definition of each reference, NULL at the top level.
  enclosings    text[] NOT NULL,
  -- How many references the row holds: the overview counts references from the primary key alone.
  refs          integer GENERATED ALWAYS AS (cardinality(ordinals)) STORED,
  CONSTRAINT code_references_arrays_check CHECK (cardinality(ordinals) >= 1 AND cardinality(kinds) = cardinality(ordinals)
    AND cardinality(lines) = cardinality(ordinals) AND cardinality(cols) = cardinality(ordinals)
    AND cardinality(enclosings) = cardinality(ordinals)),
  -- A name's references in a repository, in path order (references are paged by path then ordinal).
  PRIMARY KEY (repository_id, name, path) INCLUDE (refs)
);

-- A file's rows, which the indexer deletes when it writes or removes the file.
CREATE INDEX code_references_path_idx ON public.code_references (repository_id, path);

INSERT INTO public.code_references (repository_id, path, name, ordinals, kinds, lines, cols, enclosings)
SELECT repository_id, path, name,
  array_agg(ordinal ORDER BY ordinal),
  array_agg((CASE kind WHEN 'inherit' THEN 'e' ELSE left(kind, 1) END)::"char" ORDER BY ordinal),
  array_agg(line ORDER BY ordinal),
  array_agg(col ORDER BY ordinal),
  array_agg(enclosing ORDER BY ordinal)
FROM public.code_references_flat
GROUP BY repository_id, path, name;

DROP TABLE public.code_references_flat;

ALTER TABLE public.code_references ENABLE ROW LEVEL SECURITY;
CREATE POLICY service_role_all ON public.code_references FOR ALL TO service_role
  USING (auth.role() = 'service_role') WITH CHECK (auth.role() = 'service_role');
CREATE POLICY owner_select ON public.code_references FOR SELECT TO authenticated
  USING (EXISTS (SELECT 1 FROM public.repositories r
                 WHERE r.id = code_references.repository_id AND r.user_id = (SELECT auth.uid())));
REVOKE ALL ON public.code_references FROM PUBLIC, anon, authenticated;
GRANT SELECT ON public.code_references TO authenticated;
GRANT ALL ON public.code_references TO service_role;
