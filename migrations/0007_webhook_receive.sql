-- 0007 webhook deliveries: receiving one is a single round trip, and its status follows its job.
--
-- webhook_receive records a verified delivery and, when it should run, enqueues its job, in one
-- statement's transaction. Dedup by (provider, delivery_id):
--   new delivery                          -> stored; job enqueued (status queued) or status p_status
--   redelivery of a failed one            -> processed again: attempts + 1, a new job
--   any other redelivery                  -> nothing written; duplicate = true with the first job
-- Concurrent copies of one delivery serialise on the unique index (the INSERT ... ON CONFLICT waits
-- for the first to commit), so exactly one of them enqueues a job.
CREATE FUNCTION public.webhook_receive(
  p_repository_id uuid, p_provider text, p_delivery_id text, p_event_type text, p_payload jsonb,
  p_headers jsonb, p_status text, p_job_type text, p_job_payload jsonb, p_channel text,
  OUT status text, OUT job_id uuid, OUT duplicate boolean
)
LANGUAGE plpgsql
SET search_path = ''
AS $$
DECLARE
  v_id bigint;
BEGIN
  INSERT INTO public.webhook_deliveries AS d
    (repository_id, provider, delivery_id, event_type, status, payload, headers)
  VALUES (p_repository_id, p_provider, p_delivery_id, p_event_type, 'received', p_payload, p_headers)
  ON CONFLICT (provider, delivery_id) DO UPDATE
    SET attempts = d.attempts + 1, status = 'received', error_message = NULL, processed_at = NULL,
        payload = EXCLUDED.payload, headers = EXCLUDED.headers, updated_at = now()
    WHERE d.status = 'failed' AND d.repository_id = EXCLUDED.repository_id
  RETURNING d.id INTO v_id;

  IF v_id IS NULL THEN
    SELECT d.status, d.job_id, true INTO status, job_id, duplicate
    FROM public.webhook_deliveries d WHERE d.provider = p_provider AND d.delivery_id = p_delivery_id;
    RETURN;
  END IF;

  duplicate := false;
  IF p_job_type IS NULL THEN
    UPDATE public.webhook_deliveries d
    SET status = p_status, processed_at = now()
    WHERE d.id = v_id;
    status := p_status;
    RETURN;
  END IF;

  INSERT INTO public.indexing_jobs (repository_id, job_type, payload)
  VALUES (p_repository_id, p_job_type, p_job_payload || jsonb_build_object('webhook_delivery_id', v_id))
  RETURNING id INTO job_id;
  PERFORM pg_notify(p_channel, p_job_type);
  UPDATE public.webhook_deliveries d SET status = 'queued', job_id = webhook_receive.job_id WHERE d.id = v_id;
  status := 'queued';
END
$$;

REVOKE ALL ON FUNCTION public.webhook_receive(uuid, text, text, text, jsonb, jsonb, text, text, jsonb, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.webhook_receive(uuid, text, text, text, jsonb, jsonb, text, text, jsonb, text)
  TO service_role;

-- A delivery's status follows its job: in_progress -> processing, completed -> processed, failed or
-- cancelled -> failed (so GitHub's redelivery runs it again), queued again (retry) -> queued.
CREATE FUNCTION public.webhook_deliveries_follow_jobs() RETURNS trigger
LANGUAGE plpgsql
SET search_path = ''
AS $$
BEGIN
  UPDATE public.webhook_deliveries d
  SET status = s.status,
      processed_at = CASE WHEN s.status IN ('processed', 'failed') THEN now() END,
      error_message = s.error_message,
      updated_at = now()
  FROM (
    SELECT n.id,
      CASE n.status
        WHEN 'in_progress' THEN 'processing' WHEN 'completed' THEN 'processed' WHEN 'queued' THEN 'queued'
        ELSE 'failed'
      END AS status,
      n.error_message
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE n.job_type = 'webhook_update' AND n.status IS DISTINCT FROM o.status
  ) s
  WHERE d.job_id = s.id AND d.status IS DISTINCT FROM s.status;
  RETURN NULL;
END
$$;

CREATE TRIGGER webhook_deliveries_follow_jobs AFTER UPDATE ON public.indexing_jobs
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
  EXECUTE FUNCTION public.webhook_deliveries_follow_jobs();

