-- 0016 a copy of a delivery can be answered by a lookup, without sending its payload again.
--
-- webhook_delivery_state: a delivery's status and job, when this repository holds it. The server asks
-- it for deliveries it has seen before (a copy, usually) and answers a duplicate from it; when no row
-- comes back, or the delivery failed, it runs webhook_receive instead (a failed delivery redelivered is
-- processed again, and only webhook_receive decides that, atomically). PL/pgSQL so that its plan is
-- cached per connection, like webhook_receive's.
CREATE FUNCTION public.webhook_delivery_state(
  p_repository_id uuid, p_provider text, p_delivery_id text, OUT status text, OUT job_id uuid
)
RETURNS SETOF record
LANGUAGE plpgsql STABLE
SET search_path = ''
AS $$
BEGIN
  RETURN QUERY
    SELECT d.status, d.job_id FROM public.webhook_deliveries d
    WHERE d.provider = p_provider AND d.delivery_id = p_delivery_id AND d.repository_id = p_repository_id;
END
$$;

REVOKE ALL ON FUNCTION public.webhook_delivery_state(uuid, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.webhook_delivery_state(uuid, text, text) TO service_role;
