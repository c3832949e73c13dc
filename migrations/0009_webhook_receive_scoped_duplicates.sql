-- 0009 webhook_receive: a redelivered id answers with the job of this repository's delivery only.
-- A delivery id is unique per provider, so a signed delivery to repository B reusing the id of one
-- that repository A received used to answer with A's job id. Same body as 0008 otherwise.
CREATE OR REPLACE FUNCTION public.webhook_receive(
  p_repository_id uuid, p_provider text, p_delivery_id text, p_event_type text, p_payload jsonb,
  p_headers jsonb, p_status text, p_job_type text, p_job_payload jsonb, p_channel text, p_traceparent text,
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
    -- Only this repository's delivery is described: a delivery id that another repository's
    -- delivery holds answers as a duplicate without that delivery's job.
    SELECT d.status, d.job_id, true INTO status, job_id, duplicate
    FROM public.webhook_deliveries d
    WHERE d.provider = p_provider AND d.delivery_id = p_delivery_id AND d.repository_id = p_repository_id;
    IF NOT FOUND THEN
      status := 'duplicate';
      duplicate := true;
    END IF;
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

  INSERT INTO public.indexing_jobs (repository_id, job_type, payload, traceparent)
  VALUES (p_repository_id, p_job_type, p_job_payload || jsonb_build_object('webhook_delivery_id', v_id), p_traceparent)
  RETURNING id INTO job_id;
  PERFORM pg_notify(p_channel, p_job_type);
  UPDATE public.webhook_deliveries d SET status = 'queued', job_id = webhook_receive.job_id WHERE d.id = v_id;
  status := 'queued';
END
$$;

