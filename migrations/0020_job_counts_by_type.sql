-- 0020 job counts by job type, for the dashboards and for /health.
--
-- 1. repository_status_view gains `job_summary_by_type`: for each job type the repository has jobs of,
--    its counts by status ({"full_index": {"queued": 0, "in_progress": 1, ...}, ...}). `job_summary`
--    keeps its shape for existing readers; both come from one pass over the repository's jobs (through
--    indexing_jobs_repository_id_created_at_idx), as before. Still security_invoker: a tenant sees the
--    counts its own job rows give.
--
-- 2. /health counts failed jobs by type. The partial index on failed jobs carries job_type, so the
--    count stays an index-only scan of that index (failed jobs only), as the untyped count was.

CREATE OR REPLACE VIEW public.repository_status_view WITH (security_invoker = true) AS
SELECT
  r.id,
  r.user_id,
  r.name,
  r.git_url,
  r.provider,
  r.default_branch,
  s.status,
  public.repository_sync_state(s.status) AS sync_state,
  r.last_indexed_at,
  r.last_indexed_commit,
  r.created_at,
  r.updated_at,
  jsonb_build_object(
    'queued', j.queued,
    'in_progress', j.in_progress,
    'completed', j.completed,
    'failed', j.failed,
    'cancelled', j.cancelled
  ) AS job_summary,
  j.by_type AS job_summary_by_type
FROM public.repositories r
CROSS JOIN LATERAL (SELECT public.repository_status(r.id) AS status) s
CROSS JOIN LATERAL (
  SELECT
    coalesce(sum(t.queued), 0)::bigint AS queued,
    coalesce(sum(t.in_progress), 0)::bigint AS in_progress,
    coalesce(sum(t.completed), 0)::bigint AS completed,
    coalesce(sum(t.failed), 0)::bigint AS failed,
    coalesce(sum(t.cancelled), 0)::bigint AS cancelled,
    coalesce(
      jsonb_object_agg(t.job_type, jsonb_build_object(
        'queued', t.queued,
        'in_progress', t.in_progress,
        'completed', t.completed,
        'failed', t.failed,
        'cancelled', t.cancelled
      )),
      '{}'::jsonb
    ) AS by_type
  FROM (
    SELECT
      ij.job_type,
      count(*) FILTER (WHERE ij.status = 'queued') AS queued,
      count(*) FILTER (WHERE ij.status = 'in_progress') AS in_progress,
      count(*) FILTER (WHERE ij.status = 'completed') AS completed,
      count(*) FILTER (WHERE ij.status = 'failed') AS failed,
      count(*) FILTER (WHERE ij.status = 'cancelled') AS cancelled
    FROM public.indexing_jobs ij
    WHERE ij.repository_id = r.id
    GROUP BY ij.job_type
  ) t
) j;

DROP INDEX public.indexing_jobs_failed_finished_at_idx;
CREATE INDEX indexing_jobs_failed_finished_at_idx ON public.indexing_jobs (finished_at) INCLUDE (job_type)
  WHERE status = 'failed';
