-- 0005 many key checks in one statement: under load the server sends the checks of every request
-- waiting at that moment together, so N concurrent requests cost one round trip and one commit
-- instead of N. Each element runs api_key_consume (0004) in turn, so the admission rules are
-- exactly those of one request at a time; ord is the element's 1-based position in the arrays.
CREATE FUNCTION public.api_key_consume_batch(
  p_key_ids uuid[], p_limits integer[], p_now_ms bigint[], p_months date[]
)
RETURNS TABLE (
  ord integer, quota_ok boolean, used integer, oldest bigint,
  monthly_usage double precision, monthly_quota double precision
)
LANGUAGE plpgsql
SET search_path = ''
AS $$
DECLARE
  r record;
BEGIN
  -- Keys are locked in id order, so two batches (from any processes) that share keys cannot
  -- deadlock; one key's requests keep their arrival order.
  FOR r IN
    SELECT t.k, t.l, t.n, t.m, t.o
    FROM unnest(p_key_ids, p_limits, p_now_ms, p_months) WITH ORDINALITY AS t(k, l, n, m, o)
    ORDER BY t.k, t.o
  LOOP
    ord := r.o;
    SELECT c.quota_ok, c.used, c.oldest, c.monthly_usage, c.monthly_quota
    INTO quota_ok, used, oldest, monthly_usage, monthly_quota
    FROM public.api_key_consume(r.k, r.l, r.n, r.m) AS c;
    RETURN NEXT;
  END LOOP;
END
$$;

REVOKE ALL ON FUNCTION public.api_key_consume_batch(uuid[], integer[], bigint[], date[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.api_key_consume_batch(uuid[], integer[], bigint[], date[]) TO service_role;
