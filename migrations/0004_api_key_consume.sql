-- 0004 the per-request key check as a function: the same quota, sliding-window and usage steps the
-- application used to send as one multi-CTE statement, but PL/pgSQL caches each query's plan per
-- connection, so the hot path no longer pays for parsing and planning that statement every time.
--   quota_ok false       -> the monthly quota is used up (nothing counted)
--   used NULL            -> the sliding window already holds p_limit requests (nothing counted)
--   monthly_usage NULL   -> a concurrent request took the last unit of quota
CREATE FUNCTION public.api_key_consume(
  p_key_id uuid, p_limit integer, p_now_ms bigint, p_month date,
  OUT quota_ok boolean, OUT used integer, OUT oldest bigint,
  OUT monthly_usage double precision, OUT monthly_quota double precision
)
LANGUAGE plpgsql
SET search_path = ''
AS $$
BEGIN
  SELECT k.usage_period_start < p_month OR k.monthly_usage < k.monthly_quota INTO quota_ok
  FROM public.api_keys k WHERE k.id = p_key_id;
  IF quota_ok IS NOT TRUE THEN
    RETURN;
  END IF;

  -- The row lock taken here makes concurrent requests of one key, from any process, take turns.
  INSERT INTO public.api_key_rate_limits AS r (key_id, hits) VALUES (p_key_id, ARRAY[p_now_ms])
  ON CONFLICT (key_id) DO UPDATE
    SET hits = array_append(ARRAY(SELECT h FROM unnest(r.hits) AS h WHERE h > p_now_ms - 60000), p_now_ms),
        updated_at = now()
    WHERE (SELECT count(*) FROM unnest(r.hits) AS h WHERE h > p_now_ms - 60000) < p_limit
  RETURNING cardinality(r.hits), (SELECT min(h) FROM unnest(r.hits) AS h) INTO used, oldest;
  IF used IS NULL THEN
    RETURN;
  END IF;

  UPDATE public.api_keys k SET
    monthly_usage = CASE WHEN k.usage_period_start < p_month THEN 1 ELSE k.monthly_usage + 1 END,
    usage_period_start = greatest(k.usage_period_start, p_month),
    total_usage = k.total_usage + 1,
    last_used_at = now()
  WHERE k.id = p_key_id AND (k.usage_period_start < p_month OR k.monthly_usage < k.monthly_quota)
  RETURNING k.monthly_usage::float8, k.monthly_quota::float8 INTO monthly_usage, monthly_quota;
END
$$;

REVOKE ALL ON FUNCTION public.api_key_consume(uuid, integer, bigint, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.api_key_consume(uuid, integer, bigint, date) TO service_role;
