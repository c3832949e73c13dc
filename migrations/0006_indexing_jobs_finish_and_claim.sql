-- 0006 a worker's completions and its next claim in one round trip: a loop that finishes a batch
-- records it and takes the next one with a single call, so each batch costs one statement and one
-- commit instead of two. PL/pgSQL also keeps both plans cached per connection. The completion is
-- fenced by locked_by exactly as before; the claim is the single-statement SKIP LOCKED claim.
CREATE FUNCTION public.indexing_jobs_finish_and_claim(
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
      WHERE j.id = r.id AND j.locked_by = p_worker AND j.status = 'in_progress'
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

REVOKE ALL ON FUNCTION public.indexing_jobs_finish_and_claim(text, uuid[], jsonb[], integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.indexing_jobs_finish_and_claim(text, uuid[], jsonb[], integer) TO service_role;
