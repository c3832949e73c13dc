-- 0011 webhook_receive writes a new delivery once, already in its final state, and a duplicate not at
-- all. Until now a new delivery was inserted as 'received' and then updated to 'queued' with its job's
-- id: a second heap version of a row holding a ~7 KB payload, new entries in its four indexes (job_id
-- is indexed, so the update is never HOT) and a set_updated_at trigger call, on every delivery. And a
-- duplicate went through ON CONFLICT DO UPDATE ... WHERE, which locks the existing row (a WAL record,
-- a dirtied page) even when the WHERE refuses the update. Now the job's id is drawn up front and the
-- delivery and its job are inserted by one statement (the delivery's foreign key to the job is checked
-- at the end of that statement, when the job row exists); on a conflict the same statement updates
-- the delivery only if it failed. Behaviour is unchanged (0007, 0009).
CREATE OR REPLACE FUNCTION public.webhook_receive(
  p_repository_id uuid, p_provider text, p_delivery_id text, p_event_type text, p_payload jsonb,
  p_headers jsonb, p_status text, p_job_type text, p_job_payload jsonb, p_channel text, p_traceparent text,
  OUT status text, OUT job_id uuid, OUT duplicate boolean
)
LANGUAGE plpgsql
SET search_path = ''
AS $$
DECLARE
  v_status text := CASE WHEN p_job_type IS NULL THEN p_status ELSE 'queued' END;
BEGIN
  WITH inserted AS (
    INSERT INTO public.webhook_deliveries AS d
      (repository_id, provider, delivery_id, event_type, status, payload, headers, job_id, processed_at)
    VALUES (p_repository_id, p_provider, p_delivery_id, p_event_type, v_status, p_payload, p_headers,
            CASE WHEN p_job_type IS NOT NULL THEN gen_random_uuid() END,
            CASE WHEN p_job_type IS NULL THEN now() END)
    ON CONFLICT (provider, delivery_id) DO NOTHING
    RETURNING d.id, d.job_id
  ), redelivered AS (
    -- Not new: a failed delivery of this repository that GitHub redelivers is processed again, with a
    -- new job. Copies racing to do so queue on the row lock; the later ones find it no longer failed.
    UPDATE public.webhook_deliveries d
    SET attempts = d.attempts + 1, status = v_status, error_message = NULL,
        processed_at = CASE WHEN p_job_type IS NULL THEN now() END, payload = p_payload, headers = p_headers,
        job_id = CASE WHEN p_job_type IS NOT NULL THEN gen_random_uuid() END
    WHERE NOT EXISTS (SELECT FROM inserted)
      AND d.provider = p_provider AND d.delivery_id = p_delivery_id AND d.repository_id = p_repository_id
      AND d.status = 'failed'
    RETURNING d.id, d.job_id
  ), delivery AS (
    SELECT * FROM inserted UNION ALL SELECT * FROM redelivered
  ), job AS (
    INSERT INTO public.indexing_jobs (id, repository_id, job_type, payload, traceparent)
    SELECT delivery.job_id, p_repository_id, p_job_type,
           p_job_payload || jsonb_build_object('webhook_delivery_id', delivery.id), p_traceparent
    FROM delivery WHERE delivery.job_id IS NOT NULL
  )
  SELECT v_status, delivery.job_id, false INTO status, job_id, duplicate FROM delivery;

  IF NOT FOUND THEN
    -- A duplicate. A new statement takes a new snapshot, so a copy that waited on the unique index for
    -- the first copy's commit sees that delivery here. Only this repository's delivery is described.
    duplicate := true;
    SELECT d.status, d.job_id INTO status, job_id
    FROM public.webhook_deliveries d
    WHERE d.provider = p_provider AND d.delivery_id = p_delivery_id AND d.repository_id = p_repository_id;
    IF NOT FOUND THEN
      status := 'duplicate';
    END IF;
  ELSIF job_id IS NOT NULL THEN
    PERFORM pg_notify(p_channel, p_job_type);
  END IF;
END
$$;
