-- 0023 code intelligence (SPEC section 10): what tree-sitter extracts from each indexed file. Rows belong
-- to a file (repository_id, path) and are replaced whole when the file is written again; the indexer
-- writes them in the same transaction as the file rows and deletes them with the file.

SELECT set_config('search_path', concat_ws(', ', nullif(current_setting('search_path'), ''), 'extensions'), true);

-- The extractor that produced a file's rows below (0: none yet). A file from an older extractor is read and
-- extracted again on the next index, even when its blob is unchanged.
ALTER TABLE public.indexed_files ADD COLUMN extractor_version integer NOT NULL DEFAULT 0;

-- Definitions. `ordinal` is the order of extraction within the file (the outline's order).
CREATE TABLE public.code_symbols (
  repository_id uuid NOT NULL REFERENCES public.repositories (id) ON DELETE CASCADE,
  path          text NOT NULL,
  ordinal       integer NOT NULL CHECK (ordinal >= 0),
  name          text NOT NULL,
  kind          text NOT NULL,
  language      text NOT NULL,
  -- 1-based lines and columns (UTF-16), end inclusive of the definition's last line.
  line          integer NOT NULL CHECK (line >= 1),
  col           integer NOT NULL CHECK (col >= 1),
  end_line      integer NOT NULL,
  end_col       integer NOT NULL,
  container     text,
  signature     text NOT NULL,
  PRIMARY KEY (repository_id, path, ordinal)
);

-- Exact names (definitions, and symbol search's exact-first ordering) ...
CREATE INDEX code_symbols_name_idx ON public.code_symbols (repository_id, name);
-- ... and names containing a string, case-insensitively (symbol search), within the caller's repositories.
CREATE INDEX code_symbols_name_trgm_idx ON public.code_symbols USING gin (repository_id, lower(name) gin_trgm_ops);

-- Uses of a name: calls, type uses, inheritance, imported names. `enclosing` is the innermost definition
-- the reference sits in (NULL at the top level); callers group by it.
CREATE TABLE public.code_references (
  repository_id uuid NOT NULL REFERENCES public.repositories (id) ON DELETE CASCADE,
  path          text NOT NULL,
  ordinal       integer NOT NULL CHECK (ordinal >= 0),
  name          text NOT NULL,
  kind          text NOT NULL,
  line          integer NOT NULL CHECK (line >= 1),
  col           integer NOT NULL CHECK (col >= 1),
  enclosing     text,
  PRIMARY KEY (repository_id, path, ordinal)
);

CREATE INDEX code_references_name_idx ON public.code_references (repository_id, name, kind);

-- The file import graph. One row per import statement and target: an import that resolves to several
-- files (a Go package) has a row for each, one that does not resolve has resolved_path NULL.
-- module_stem is the module text's last segment without a source extension: when a file appears,
-- only the unresolved imports with its stem are resolved again.
CREATE TABLE public.code_imports (
  repository_id uuid NOT NULL REFERENCES public.repositories (id) ON DELETE CASCADE,
  path          text NOT NULL,
  ordinal       integer NOT NULL CHECK (ordinal >= 0),
  module        text NOT NULL,
  module_stem   text NOT NULL,
  language      text NOT NULL,
  line          integer NOT NULL CHECK (line >= 1),
  resolved_path text
);

CREATE INDEX code_imports_path_idx ON public.code_imports (repository_id, path, ordinal);
CREATE INDEX code_imports_resolved_idx ON public.code_imports (repository_id, resolved_path)
  WHERE resolved_path IS NOT NULL;
CREATE INDEX code_imports_unresolved_idx ON public.code_imports (repository_id, module_stem)
  WHERE resolved_path IS NULL;

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['code_symbols', 'code_references', 'code_imports'] LOOP
    EXECUTE format('ALTER TABLE public.%I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format(
      'CREATE POLICY service_role_all ON public.%I FOR ALL TO service_role
         USING (auth.role() = ''service_role'') WITH CHECK (auth.role() = ''service_role'')', t);
    EXECUTE format(
      'CREATE POLICY owner_select ON public.%I FOR SELECT TO authenticated
         USING (EXISTS (SELECT 1 FROM public.repositories r
                        WHERE r.id = %I.repository_id AND r.user_id = (SELECT auth.uid())))', t, t);
    EXECUTE format('REVOKE ALL ON public.%I FROM PUBLIC, anon, authenticated', t);
    EXECUTE format('GRANT SELECT ON public.%I TO authenticated', t);
    EXECUTE format('GRANT ALL ON public.%I TO service_role', t);
  END LOOP;
END
$$;
