-- 0012 a batch's completion looks its jobs up by primary key. It was fenced by
-- `locked_by = p_worker AND status = 'in_progress'`, and the status predicate let the planner answer it
-- from the partial index of in_progress jobs: with statistics taken while few jobs ran, it scanned that
-- index whole (every claim adds an entry there, dead once the job completes, until vacuum) and hashed
-- it against the batch, on every batch. The lease CHECK of 0002 already makes locked_by set exactly
-- while a job is in_progress, so locked_by alone is the same fence, and it leaves the primary key as the
-- only way in.
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
    WITH done AS (
      UPDATE public.indexing_jobs j
      SET status = 'completed', result = r.result, finished_at = now(), locked_by = NULL, locked_at = NULL,
          error_message = NULL
      FROM unnest(p_done, p_results) AS r(id, result)
      WHERE j.id = r.id AND j.locked_by = p_worker
      RETURNING j.id, j.attempt
    )
    INSERT INTO public.indexing_job_events (job_id, event_type, message, context)
    SELECT done.id, 'completed', 'completed', jsonb_build_object('attempt', done.attempt) FROM done;
  END IF;

  IF p_limit > 0 THEN
    -- SKIP LOCKED: concurrent claimers never wait on, or take, each other's rows.
    RETURN QUERY
    UPDATE public.indexing_jobs j
    SET status = 'in_progress', locked_by = p_worker, locked_at = now(), attempt = j.attempt + 1,
        started_at = now(), finished_at = NULL
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

