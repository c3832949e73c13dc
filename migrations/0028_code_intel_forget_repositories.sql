-- 0028 code_symbols, code_references and code_imports drop their foreign key to repositories. Every row an
-- index job inserts ran the key's check (a lookup of the repository row, locked FOR KEY SHARE), which cost
-- about a fifth of the symbols' insert (bench/README.md, index section), for rows that only the indexer
-- writes, inside the transaction that holds the repository's row FOR UPDATE: a repository deleted meanwhile
-- leaves nothing to write for. What the key's ON DELETE CASCADE did, a statement trigger on repositories
-- does: the rows of every repository deleted (by DELETE, or through the deletion of its user) go with it.
ALTER TABLE public.code_symbols DROP CONSTRAINT code_symbols_repository_id_fkey;
ALTER TABLE public.code_references DROP CONSTRAINT code_references_repository_id_fkey;
ALTER TABLE public.code_imports DROP CONSTRAINT code_imports_repository_id_fkey;

-- SECURITY DEFINER: the rows are deleted whoever deletes the repository, as the cascade did (row-level
-- security does not apply to the tables' owner).
CREATE FUNCTION public.code_intel_forget_repositories() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  DELETE FROM public.code_symbols s USING gone WHERE s.repository_id = gone.id;
  DELETE FROM public.code_references r USING gone WHERE r.repository_id = gone.id;
  DELETE FROM public.code_imports i USING gone WHERE i.repository_id = gone.id;
  RETURN NULL;
END
$$;

CREATE TRIGGER repositories_forget_code_intel AFTER DELETE ON public.repositories
  REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION public.code_intel_forget_repositories();
