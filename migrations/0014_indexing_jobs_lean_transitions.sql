-- 0014 a job's claim and completion write less: every index entry, trigger call and row they leave out
-- is paid once per job. bench/README.md, queue (session 7): Postgres CPU per batched no-op job about
-- halved, measured end to end.
--
-- 1. A successful completion no longer appends a `completed` event. The job row already holds the
--    outcome (status, result, finished_at, attempt), and the event repeated it. The log keeps what the
--    row cannot: each failed attempt and its retry, lease expiries, cancellations, manual retries and
--    the handlers' progress. The event cost a heap row, two index entries and a foreign-key check that
--    row-locks the job again, on every job.
--
-- 2. No set_updated_at trigger on indexing_jobs: a PL/pgSQL call per updated row, twice per job. Every
--    UPDATE of the table sets updated_at itself; they all live in JobStore and in the function below.
--
-- 3. The two per-repository partial indexes of 0003 are gone. Each claim and completion added an entry
--    to one of them, and their only reader, repository_status(), runs beside the job summary, which
--    reads every job of the repository anyway (through indexing_jobs_repository_id_created_at_idx).
--    repository_status() now reads those same rows, with the same rules.

DROP TRIGGER set_updated_at ON public.indexing_jobs;
DROP INDEX public.indexing_jobs_active_by_repository_idx;
DROP INDEX public.indexing_jobs_finished_by_repository_idx;

CREATE OR REPLACE FUNCTION public.repository_status(p_repository_id uuid) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = ''
AS $$
  -- The latest finished job is looked for only when nothing is queued or running: a LIMIT 1 sort
  -- (top-1, linear) in an uncorrelated subquery, which runs only if its CASE branch is reached.
  SELECT CASE
    WHEN bool_or(j.status = 'in_progress') THEN 'syncing'
    WHEN bool_or(j.status = 'queued') THEN 'queued'
    ELSE coalesce((
      SELECT CASE f.status WHEN 'completed' THEN 'ready' ELSE 'error' END
      FROM public.indexing_jobs f
      WHERE f.repository_id = p_repository_id AND f.status IN ('completed', 'failed')
        AND f.job_type <> 'provision_webhook'
      ORDER BY f.finished_at DESC, f.id DESC LIMIT 1
    ), 'queued')
  END
  FROM public.indexing_jobs j
  WHERE j.repository_id = p_repository_id AND j.job_type <> 'provision_webhook'
$$;

CREATE OR REPLACE FUNCTION public.indexing_jobs_finish_and_claim(
  p_worker text, p_done uuid[], p_results jsonb[], p_limit integer
)
RETURNS TABLE (
  id uuid, repository_id uuid, job_type text, attempt integer, max_attempts integer,
  payload jsonb, traceparent text
)
LANGUAGE plpgsql
SET search_path = ''
AS $$
#variable_conflict use_column
BEGIN
  IF cardinality(p_done) > 0 THEN
    -- Fenced by locked_by alone, found by primary key (0012).
    UPDATE public.indexing_jobs j
    SET status = 'completed', result = r.result, finished_at = now(), locked_by = NULL, locked_at = NULL,
        error_message = NULL, updated_at = now()
    FROM unnest(p_done, p_results) AS r(id, result)
    WHERE j.id = r.id AND j.locked_by = p_worker;
  END IF;

  IF p_limit > 0 THEN
    -- SKIP LOCKED: concurrent claimers never wait on, or take, each other's rows.
    RETURN QUERY
    UPDATE public.indexing_jobs j
    SET status = 'in_progress', locked_by = p_worker, locked_at = now(), attempt = j.attempt + 1,
        started_at = now(), finished_at = NULL, updated_at = now()
    FROM (
      SELECT q.id FROM public.indexing_jobs q
      WHERE q.status = 'queued' AND q.run_at <= now()
      ORDER BY q.priority DESC, q.run_at, q.id
      LIMIT p_limit
      FOR UPDATE SKIP LOCKED
    ) next
    WHERE j.id = next.id
    RETURNING j.id, j.repository_id, j.job_type, j.attempt, j.max_attempts, j.payload, j.traceparent;
  END IF;
END
$$;
