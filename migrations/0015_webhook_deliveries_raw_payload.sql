-- 0015 webhook deliveries keep the exact bytes GitHub sent.
--
-- payload_raw: the body as received and signed, byte for byte. `payload` (jsonb) stays for querying, but
-- jsonb cannot hold everything JSON can: it refuses U+0000 and lone surrogates (`"\ud800"`, which GitHub
-- sends in commit messages), and it reorders keys and drops whitespace and duplicate keys anyway. So
-- the application stores `payload` with U+0000 and lone surrogates replaced by U+FFFD, or NULL when
-- Postgres refuses the JSON for another reason (nesting too deep, a number out of range), and the
-- bytes here are the record: the signature can be checked against them again.
ALTER TABLE public.webhook_deliveries ADD COLUMN payload_raw bytea;

DROP FUNCTION public.webhook_receive(uuid, text, text, text, jsonb, jsonb, text, text, jsonb, text, text);

-- As in 0013, plus p_payload_raw, written beside p_payload (also by a redelivery of a failed delivery).
CREATE FUNCTION public.webhook_receive(
  p_repository_id uuid, p_provider text, p_delivery_id text, p_event_type text, p_payload jsonb,
  p_payload_raw bytea, p_headers jsonb, p_status text, p_job_type text, p_job_payload jsonb, p_channel text,
  p_traceparent text,
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
      (repository_id, provider, delivery_id, event_type, status, payload, payload_raw, headers, job_id, processed_at)
    VALUES (p_repository_id, p_provider, p_delivery_id, p_event_type, v_status, p_payload, p_payload_raw, p_headers,
            CASE WHEN p_job_type IS NOT NULL THEN public.uuid_v7() END,
            CASE WHEN p_job_type IS NULL THEN now() END)
    ON CONFLICT (provider, delivery_id) DO NOTHING
    RETURNING d.id, d.job_id
  ), redelivered AS (
    -- Not new: a failed delivery of this repository that GitHub redelivers is processed again, with a
    -- new job. Copies racing to do so queue on the row lock; the later ones find it no longer failed.
    UPDATE public.webhook_deliveries d
    SET attempts = d.attempts + 1, status = v_status, error_message = NULL,
        processed_at = CASE WHEN p_job_type IS NULL THEN now() END, payload = p_payload,
        payload_raw = p_payload_raw, headers = p_headers,
        job_id = CASE WHEN p_job_type IS NOT NULL THEN public.uuid_v7() END
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

REVOKE ALL ON FUNCTION public.webhook_receive(uuid, text, text, text, jsonb, bytea, jsonb, text, text, jsonb, text, text)
  FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.webhook_receive(uuid, text, text, text, jsonb, bytea, jsonb, text, text, jsonb, text, text)
  TO service_role;
