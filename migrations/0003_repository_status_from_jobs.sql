-- 0003 repository status and sync_state, derived from the repository's indexing jobs by the database
-- itself after every statement that changes a job's status, so no code path can forget it and a
-- late-finishing stale job can never overwrite a newer result:
--   a job in progress -> syncing / in_progress; else a queued job -> queued / pending;
--   else the most recently finished job: completed -> ready / synced, failed -> error / error.
-- provision_webhook jobs and cancelled jobs do not count.

CREATE INDEX indexing_jobs_active_by_repository_idx ON public.indexing_jobs (repository_id, status)
  WHERE status IN ('queued', 'in_progress') AND job_type <> 'provision_webhook';
CREATE INDEX indexing_jobs_finished_by_repository_idx ON public.indexing_jobs (repository_id, finished_at DESC, id DESC)
  WHERE status IN ('completed', 'failed') AND job_type <> 'provision_webhook';

CREATE FUNCTION public.derive_repository_status(repository_ids uuid[]) RETURNS void
LANGUAGE plpgsql
SET search_path = ''
AS $$
BEGIN
  -- Lock order: a job row (the caller's statement) before its repository row, repositories by id.
  -- Waiting here for another transaction's lock means the next statement, with its new snapshot,
  -- sees that transaction's job changes: concurrent finishers cannot both derive from stale data.
  PERFORM 1 FROM public.repositories WHERE id = ANY (repository_ids) ORDER BY id FOR NO KEY UPDATE;

  WITH derived AS MATERIALIZED (  -- evaluate each repository's checks once, not once per use
    SELECT ids.id,
      CASE
        WHEN EXISTS (SELECT 1 FROM public.indexing_jobs j WHERE j.repository_id = ids.id
                       AND j.status = 'in_progress' AND j.job_type <> 'provision_webhook') THEN 'syncing'
        WHEN EXISTS (SELECT 1 FROM public.indexing_jobs j WHERE j.repository_id = ids.id
                       AND j.status = 'queued' AND j.job_type <> 'provision_webhook') THEN 'queued'
        ELSE coalesce((
          SELECT CASE j.status WHEN 'completed' THEN 'ready' ELSE 'error' END
          FROM public.indexing_jobs j
          WHERE j.repository_id = ids.id AND j.status IN ('completed', 'failed') AND j.job_type <> 'provision_webhook'
          ORDER BY j.finished_at DESC, j.id DESC LIMIT 1
        ), 'queued')
      END AS status
    FROM unnest(repository_ids) AS ids(id)
  )
  UPDATE public.repositories r
  SET status = d.status,
      sync_state = CASE d.status
        WHEN 'syncing' THEN 'in_progress' WHEN 'queued' THEN 'pending' WHEN 'ready' THEN 'synced' ELSE 'error'
      END
  FROM derived d
  WHERE r.id = d.id AND r.status IS DISTINCT FROM d.status;
END
$$;

CREATE FUNCTION public.indexing_jobs_after_insert() RETURNS trigger
LANGUAGE plpgsql
SET search_path = ''
AS $$
BEGIN
  PERFORM public.derive_repository_status(ARRAY(SELECT DISTINCT repository_id FROM new_rows
                                                WHERE job_type <> 'provision_webhook'));
  RETURN NULL;
END
$$;

-- Heartbeats update jobs constantly without changing their status: those cost one join, nothing more.
CREATE FUNCTION public.indexing_jobs_after_update() RETURNS trigger
LANGUAGE plpgsql
SET search_path = ''
AS $$
DECLARE
  started uuid[];
  changed uuid[];
BEGIN
  -- A job that starts running makes its repository `syncing` whatever its other jobs are doing, so a
  -- claim needs no derivation (the UPDATE still waits for any concurrent deriver's row lock).
  started := ARRAY(
    SELECT DISTINCT n.repository_id FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE n.status = 'in_progress' AND o.status IS DISTINCT FROM 'in_progress' AND n.job_type <> 'provision_webhook'
  );
  IF cardinality(started) > 0 THEN
    -- Same lock order as derive_repository_status: repositories by id.
    PERFORM 1 FROM public.repositories WHERE id = ANY (started) AND status <> 'syncing' ORDER BY id FOR NO KEY UPDATE;
    UPDATE public.repositories SET status = 'syncing', sync_state = 'in_progress'
    WHERE id = ANY (started) AND status <> 'syncing';
  END IF;

  changed := ARRAY(
    SELECT DISTINCT n.repository_id FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE n.status IS DISTINCT FROM o.status AND n.status <> 'in_progress' AND n.job_type <> 'provision_webhook'
  );
  IF cardinality(changed) > 0 THEN
    PERFORM public.derive_repository_status(changed);
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER derive_repository_status_after_insert AFTER INSERT ON public.indexing_jobs
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.indexing_jobs_after_insert();
CREATE TRIGGER derive_repository_status_after_update AFTER UPDATE ON public.indexing_jobs
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
  EXECUTE FUNCTION public.indexing_jobs_after_update();
