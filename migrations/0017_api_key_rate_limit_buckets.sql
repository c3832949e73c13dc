-- 0017 the rate limit keeps a fixed ring of per-second counters per key instead of a log of every
-- admitted request, so a request's cost no longer grows with the key's limit and load (SPEC section 12).
--
-- The ring holds 61 one-second buckets: the current second (head) and the 60 before it. A request is
-- admitted only if the requests counted in all 61, plus itself, stay within the limit. Every 60-second
-- window that ends at this request lies inside those 61 seconds, so no such window ever admits more
-- than the limit. The price is conservatism: a request may be refused while the last exact 60 s hold
-- fewer than the limit, but never unless the last 61 s (back to the start of the oldest bucket) hold
-- it. Time per key never runs backwards: a request stamped before the head second (another process's
-- clock lagging) is counted in the head second, which only refuses earlier, never admits more.
--
-- api_key_admit_batch serves many waiting requests in one statement, like 0005, but locks, reads and
-- writes each key's ring and usage once per batch, whatever the number of its requests in it.
--
-- api_key_consume / api_key_consume_batch (0004/0005) and the `hits` column stay until no process of
-- the previous release calls them (a rolling deploy); nothing of this release reads or writes them.

ALTER TABLE public.api_key_rate_limits
  ADD COLUMN head bigint NOT NULL DEFAULT 0,
  ADD COLUMN counts integer[] NOT NULL DEFAULT '{}';

COMMENT ON COLUMN public.api_key_rate_limits.head IS
  'the newest bucket: epoch second (epoch ms / 1000) of the latest request counted';
COMMENT ON COLUMN public.api_key_rate_limits.counts IS
  'requests admitted per second, 61 slots, second s in slot s % 61 + 1; slots of seconds before head - 60 are 0';

-- The ring of one key after a batch's requests; called once per key and batch.
CREATE FUNCTION public.api_key_admit_save(
  p_key_id uuid, p_head bigint, p_counts integer[], p_period date, p_usage double precision, p_admitted integer
) RETURNS void
LANGUAGE plpgsql
SET search_path = ''
AS $$
BEGIN
  UPDATE public.api_key_rate_limits SET head = p_head, counts = p_counts, updated_at = now()
  WHERE key_id = p_key_id;
  IF p_admitted > 0 THEN
    UPDATE public.api_keys SET
      monthly_usage = p_usage,
      usage_period_start = p_period,
      total_usage = total_usage + p_admitted,
      last_used_at = now()
    WHERE id = p_key_id;
  END IF;
END
$$;

-- Results, one row per request (ord: its 1-based position in the arrays):
--   quota_ok NULL        -> the key no longer exists (nothing counted)
--   quota_ok false       -> the monthly quota is used up (nothing counted)
--   used NULL            -> the rate limit is reached (nothing counted); reset_ms: when a slot frees
--   used n               -> admitted, n requests now counted in the ring; reset_ms: when the oldest
--                           counted second leaves it
CREATE FUNCTION public.api_key_admit_batch(
  p_key_ids uuid[], p_limits integer[], p_now_ms bigint[], p_months date[]
)
RETURNS TABLE (
  ord integer, quota_ok boolean, used integer, reset_ms bigint,
  monthly_usage double precision, monthly_quota double precision
)
LANGUAGE plpgsql
SET search_path = ''
AS $$
DECLARE
  c_slots CONSTANT integer := 61;
  r record;
  v_key uuid;
  v_exists boolean;
  v_head bigint;
  v_counts integer[];
  v_total integer;
  v_changed boolean;
  v_period date;
  v_usage double precision;
  v_quota double precision;
  v_admitted integer;
  v_second bigint;
  v_oldest bigint;
  v_left integer;
BEGIN
  -- Keys are locked in id order, so two batches (from any processes) that share keys cannot
  -- deadlock; one key's requests keep their arrival order.
  FOR r IN
    SELECT t.k, t.l, t.n, t.m, t.o
    FROM unnest(p_key_ids, p_limits, p_now_ms, p_months) WITH ORDINALITY AS t(k, l, n, m, o)
    ORDER BY t.k, t.o
  LOOP
    IF v_key IS DISTINCT FROM r.k THEN
      IF v_key IS NOT NULL AND v_exists AND v_changed THEN
        PERFORM public.api_key_admit_save(v_key, v_head, v_counts, v_period, v_usage, v_admitted);
      END IF;
      v_key := r.k;
      -- The ring's row lock makes every request of this key, from any process, take turns; the usage
      -- counters of api_keys are read after it is held, so they are read as the last holder left them.
      SELECT l.head, l.counts INTO v_head, v_counts
      FROM public.api_key_rate_limits l WHERE l.key_id = v_key FOR UPDATE;
      IF NOT FOUND THEN
        INSERT INTO public.api_key_rate_limits (key_id)
        SELECT k.id FROM public.api_keys k WHERE k.id = v_key
        ON CONFLICT (key_id) DO NOTHING;
        SELECT l.head, l.counts INTO v_head, v_counts
        FROM public.api_key_rate_limits l WHERE l.key_id = v_key FOR UPDATE;
      END IF;
      SELECT k.usage_period_start, k.monthly_usage, k.monthly_quota INTO v_period, v_usage, v_quota
      FROM public.api_keys k WHERE k.id = v_key;
      v_exists := FOUND AND v_head IS NOT NULL;
      IF cardinality(v_counts) IS DISTINCT FROM c_slots THEN
        v_counts := array_fill(0, ARRAY[c_slots]);
        v_head := 0;
      END IF;
      v_total := 0;
      FOR i IN 1 .. c_slots LOOP
        v_total := v_total + v_counts[i];
      END LOOP;
      v_changed := false;
      v_admitted := 0;
    END IF;

    ord := r.o;
    quota_ok := NULL;
    used := NULL;
    reset_ms := NULL;
    monthly_usage := NULL;
    monthly_quota := NULL;
    IF NOT v_exists THEN
      RETURN NEXT;
      CONTINUE;
    END IF;

    IF v_period < r.m THEN
      v_period := r.m;
      v_usage := 0;
    END IF;
    quota_ok := v_usage < v_quota;
    IF NOT quota_ok THEN
      RETURN NEXT;
      CONTINUE;
    END IF;

    -- Advance the head to this request's second, emptying the slots of the seconds that leave the ring.
    v_second := r.n / 1000;
    IF v_second > v_head THEN
      -- (a WHILE loop: an integer FOR loop's variable would overflow on epoch seconds after 2038)
      v_oldest := greatest(v_head + 1, v_second - c_slots + 1);
      WHILE v_oldest <= v_second LOOP
        v_total := v_total - v_counts[v_oldest % c_slots + 1];
        v_counts[v_oldest % c_slots + 1] := 0;
        v_oldest := v_oldest + 1;
      END LOOP;
      v_head := v_second;
      v_changed := true;
    END IF;

    IF v_total < r.l THEN
      v_counts[v_head % c_slots + 1] := v_counts[v_head % c_slots + 1] + 1;
      v_total := v_total + 1;
      v_usage := v_usage + 1;
      v_admitted := v_admitted + 1;
      v_changed := true;
      used := v_total;
      -- The oldest second still counted; it leaves the ring at the start of second oldest + 61.
      v_oldest := v_head - c_slots + 1;
      WHILE v_counts[v_oldest % c_slots + 1] = 0 LOOP
        v_oldest := v_oldest + 1;
      END LOOP;
      reset_ms := (v_oldest + c_slots) * 1000;
      monthly_usage := v_usage;
      monthly_quota := v_quota;
    ELSE
      -- The first second whose leaving brings the count below the limit.
      v_left := v_total;
      v_oldest := v_head - c_slots + 1;
      LOOP
        v_left := v_left - v_counts[v_oldest % c_slots + 1];
        EXIT WHEN v_left < r.l OR v_oldest >= v_head;
        v_oldest := v_oldest + 1;
      END LOOP;
      reset_ms := (v_oldest + c_slots) * 1000;
    END IF;
    RETURN NEXT;
  END LOOP;
  IF v_key IS NOT NULL AND v_exists AND v_changed THEN
    PERFORM public.api_key_admit_save(v_key, v_head, v_counts, v_period, v_usage, v_admitted);
  END IF;
END
$$;

-- What a key's ring holds at a moment, without counting anything: GET /api/v1/usage.
CREATE FUNCTION public.api_key_window_used(p_key_id uuid, p_now_ms bigint) RETURNS integer
LANGUAGE sql STABLE
SET search_path = ''
AS $$
  SELECT coalesce(sum(c.n), 0)::integer
  FROM public.api_key_rate_limits l,
       unnest(l.counts) WITH ORDINALITY AS c(n, slot)
  WHERE l.key_id = p_key_id
    -- slot i holds the second s with s % 61 = i - 1, for s in head - 60 .. head; a second that has left
    -- the ring ending at p_now_ms is not counted.
    AND l.head - ((l.head - (c.slot - 1)) % 61 + 61) % 61 > p_now_ms / 1000 - 61
$$;

REVOKE ALL ON FUNCTION public.api_key_admit_save(uuid, bigint, integer[], date, double precision, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION public.api_key_admit_batch(uuid[], integer[], bigint[], date[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION public.api_key_window_used(uuid, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.api_key_admit_save(uuid, bigint, integer[], date, double precision, integer)
  TO service_role;
GRANT EXECUTE ON FUNCTION public.api_key_admit_batch(uuid[], integer[], bigint[], date[]) TO service_role;
GRANT EXECUTE ON FUNCTION public.api_key_window_used(uuid, bigint) TO service_role;
