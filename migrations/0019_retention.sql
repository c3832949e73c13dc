-- 0019 retention (SPEC section 12): the audit log, webhook deliveries and finished jobs are removed
-- after USAGE_RETENTION_DAYS, DELIVERY_RETENTION_DAYS and JOB_RETENTION_DAYS by the Retention service,
-- in bounded batches that walk each table by primary key (UsageStore, WebhookStore, JobStore). No new
-- index: the walks read the primary keys, and deleting a job reaches its events, token usage and
-- deliveries through the foreign-key indexes of 0002.
--
-- Whether a job stays whatever its age: unfinished (queued, in progress); the latest job of its
-- repository; or the finished job repository_status() derives the repository's status from (the latest
-- completed or failed job that is not provision_webhook), so removing old jobs never changes a status.
-- NULL when there is no such job.
CREATE FUNCTION public.indexing_job_retained(p_id uuid) RETURNS boolean
LANGUAGE sql STABLE
SET search_path = ''
AS $$
  SELECT j.status IN ('queued', 'in_progress')
    OR NOT EXISTS (
      SELECT 1 FROM public.indexing_jobs n
      WHERE n.repository_id = j.repository_id AND (n.created_at, n.id) > (j.created_at, j.id)
    )
    OR (
      j.status IN ('completed', 'failed') AND j.job_type <> 'provision_webhook'
      AND NOT EXISTS (
        SELECT 1 FROM public.indexing_jobs f
        WHERE f.repository_id = j.repository_id AND f.status IN ('completed', 'failed')
          AND f.job_type <> 'provision_webhook' AND (f.finished_at, f.id) > (j.finished_at, j.id)
      )
    )
  FROM public.indexing_jobs j
  WHERE j.id = p_id
$$;

REVOKE ALL ON FUNCTION public.indexing_job_retained(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.indexing_job_retained(uuid) TO service_role;
