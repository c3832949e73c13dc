-- 0018 per-key, per-month, per-outcome request counters, kept by the same statement that writes each
-- batch of audit rows (UsageStore.insertBatch), so GET /api/v1/usage reads a handful of rows instead of
-- counting the audit log, and the counts stay exact after the audit log's old rows are removed
-- (USAGE_RETENTION_DAYS). Months are UTC calendar months, like the quota's.
CREATE TABLE public.api_key_usage_monthly (
  key_id   uuid NOT NULL REFERENCES public.api_keys (id) ON DELETE CASCADE,
  month    date NOT NULL,
  outcome  text NOT NULL
    CHECK (outcome IN ('ok', 'unauthorized', 'forbidden', 'rate_limited', 'quota_exceeded')),
  requests bigint NOT NULL CHECK (requests >= 0),
  PRIMARY KEY (key_id, month, outcome)
);

-- What the audit log holds so far. Rows a process of the previous release writes while this runs are
-- not counted: the counters start exact from the moment every process runs this release.
INSERT INTO public.api_key_usage_monthly (key_id, month, outcome, requests)
SELECT key_id, date_trunc('month', created_at AT TIME ZONE 'UTC')::date, outcome, count(*)
FROM public.api_key_usage
WHERE key_id IS NOT NULL
GROUP BY 1, 2, 3;

ALTER TABLE public.api_key_usage_monthly ENABLE ROW LEVEL SECURITY;
CREATE POLICY service_role_all ON public.api_key_usage_monthly FOR ALL TO service_role
  USING (auth.role() = 'service_role') WITH CHECK (auth.role() = 'service_role');
CREATE POLICY owner_select ON public.api_key_usage_monthly FOR SELECT TO authenticated
  USING (EXISTS (
    SELECT 1 FROM public.api_keys k
    WHERE k.id = api_key_usage_monthly.key_id AND k.user_id = (SELECT auth.uid())
  ));

REVOKE ALL ON public.api_key_usage_monthly FROM PUBLIC, anon, authenticated;
GRANT SELECT ON public.api_key_usage_monthly TO authenticated;
GRANT ALL ON public.api_key_usage_monthly TO service_role;
