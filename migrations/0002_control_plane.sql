-- 0002 control plane: API keys, repositories, job queue, webhooks, usage, indexed files (SPEC section 2),
-- with CHECK-enforced status vocabularies, updated_at triggers, row-level security and grants.
-- The application connects as the table owner and is not subject to RLS (no FORCE); the policies and
-- grants below govern the Supabase API roles (anon, authenticated, service_role).

-- On Supabase pg_trgm lives in schema `extensions`; make gin_trgm_ops resolvable for this transaction.
SELECT set_config('search_path', concat_ws(', ', nullif(current_setting('search_path'), ''), 'extensions'), true);

CREATE OR REPLACE FUNCTION public.set_updated_at() RETURNS trigger
LANGUAGE plpgsql
SET search_path = ''
AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END
$$;

-- ---------------------------------------------------------------------------------------------------
-- API keys
-- ---------------------------------------------------------------------------------------------------

-- fillfactor leaves room for HOT updates: last_used_at and the usage counters change on every request.
CREATE TABLE public.api_keys (
  id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id            uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
  key_hash           text NOT NULL UNIQUE CHECK (key_hash ~ '^[0-9a-f]{64}$'),
  key_prefix         text NOT NULL,
  name               text,
  description        text,
  scopes             text[] NOT NULL DEFAULT '{}',
  -- Requests per minute; bounded because the sliding-window log keeps one entry per admitted request.
  rate_limit         integer NOT NULL DEFAULT 60 CHECK (rate_limit BETWEEN 1 AND 100000),
  monthly_quota      bigint NOT NULL DEFAULT 1000000 CHECK (monthly_quota >= 0),
  monthly_usage      bigint NOT NULL DEFAULT 0 CHECK (monthly_usage >= 0),
  -- Calendar months in UTC, whatever the session time zone.
  usage_period_start date NOT NULL DEFAULT date_trunc('month', now() AT TIME ZONE 'UTC')::date,
  total_usage        bigint NOT NULL DEFAULT 0 CHECK (total_usage >= 0),
  -- NULL = any IP; an empty list would silently lock the key out, so it is not allowed.
  allowed_ips        cidr[] CHECK (cardinality(allowed_ips) > 0),
  expires_at         timestamptz,
  revoked_at         timestamptz,
  last_used_at       timestamptz,
  created_at         timestamptz NOT NULL DEFAULT now(),
  updated_at         timestamptz NOT NULL DEFAULT now()
) WITH (fillfactor = 80);

CREATE INDEX api_keys_user_id_idx ON public.api_keys (user_id);

-- Sliding-window log, one row per key: the epoch milliseconds of the requests admitted in the last
-- 60 s (at most rate_limit of them). Exact for any window, unlike a fixed window or GCRA's burst. It
-- never outgrows the key count and rows of deleted keys go by cascade.
CREATE TABLE public.api_key_rate_limits (
  key_id     uuid PRIMARY KEY REFERENCES public.api_keys (id) ON DELETE CASCADE,
  hits       bigint[] NOT NULL DEFAULT '{}',
  updated_at timestamptz NOT NULL DEFAULT now()
) WITH (fillfactor = 50);

-- One audit row per request, refused ones included. Nothing here may make an insert fail on
-- client-controlled input (no varchar limits), or requests would escape the quota.
CREATE TABLE public.api_key_usage (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  key_id     uuid REFERENCES public.api_keys (id) ON DELETE SET NULL,
  user_id    uuid,
  route      text NOT NULL,
  method     text NOT NULL,
  status     integer NOT NULL,
  latency_ms double precision,
  ip         inet,
  user_agent text,
  outcome    text NOT NULL
    CHECK (outcome IN ('ok', 'unauthorized', 'forbidden', 'rate_limited', 'quota_exceeded')),
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX api_key_usage_key_id_created_at_idx ON public.api_key_usage (key_id, created_at DESC);
-- BRIN indexes on append-only logs serve time-based retention deletes at almost no write cost.
CREATE INDEX api_key_usage_created_at_brin ON public.api_key_usage USING brin (created_at);

-- ---------------------------------------------------------------------------------------------------
-- Repositories
-- ---------------------------------------------------------------------------------------------------

CREATE TABLE public.repositories (
  id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id             uuid NOT NULL REFERENCES auth.users (id) ON DELETE CASCADE,
  api_key_id          uuid REFERENCES public.api_keys (id) ON DELETE SET NULL,
  name                text NOT NULL,
  git_url             text NOT NULL,
  provider            text NOT NULL CHECK (provider IN ('github', 'gitlab', 'bitbucket', 'generic')),
  default_branch      text,
  status              text NOT NULL DEFAULT 'queued'
    CHECK (status IN ('queued', 'syncing', 'ready', 'error')),
  sync_state          text NOT NULL DEFAULT 'pending'
    CHECK (sync_state IN ('pending', 'in_progress', 'synced', 'error')),
  last_indexed_at     timestamptz,
  last_indexed_commit text,
  webhook_secret_hash text,
  settings            jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(settings) = 'object'),
  metadata            jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  UNIQUE (user_id, git_url)
);

-- Keyset pagination: ORDER BY created_at DESC, id DESC with (created_at, id) < (cursor). Also serves
-- every lookup by user_id, so no separate user_id index.
CREATE INDEX repositories_user_id_created_at_id_idx ON public.repositories (user_id, created_at DESC, id DESC);
CREATE INDEX repositories_api_key_id_idx ON public.repositories (api_key_id);

-- Webhook secret encrypted by the application (AES-256-GCM, 96-bit nonce, 128-bit tag); key_id names the
-- SECRETS_ENCRYPTION_KEY generation used, for rotation.
CREATE TABLE public.repository_secrets (
  repository_id uuid PRIMARY KEY REFERENCES public.repositories (id) ON DELETE CASCADE,
  ciphertext    bytea NOT NULL,
  nonce         bytea NOT NULL CHECK (octet_length(nonce) = 12),
  auth_tag      bytea NOT NULL CHECK (octet_length(auth_tag) = 16),
  key_id        text NOT NULL,
  secret_hash   text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);

-- ---------------------------------------------------------------------------------------------------
-- Job queue
-- ---------------------------------------------------------------------------------------------------

CREATE TABLE public.indexing_jobs (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  repository_id uuid NOT NULL REFERENCES public.repositories (id) ON DELETE CASCADE,
  requested_by  uuid REFERENCES public.api_keys (id) ON DELETE SET NULL,
  job_type      text NOT NULL
    CHECK (job_type IN ('full_index', 'incremental_update', 'webhook_update', 'validate', 'provision_webhook')),
  status        text NOT NULL DEFAULT 'queued'
    CHECK (status IN ('queued', 'in_progress', 'completed', 'failed', 'cancelled')),
  priority      integer NOT NULL DEFAULT 0,
  attempt       integer NOT NULL DEFAULT 0 CHECK (attempt >= 0),
  max_attempts  integer NOT NULL DEFAULT 10 CHECK (max_attempts >= 1),
  run_at        timestamptz NOT NULL DEFAULT now(),
  locked_by     text,
  locked_at     timestamptz,
  payload       jsonb NOT NULL DEFAULT '{}',
  result        jsonb,
  error_message text,
  traceparent   text,
  queued_at     timestamptz NOT NULL DEFAULT now(),
  started_at    timestamptz,
  finished_at   timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  -- The lease exists exactly while the job runs; transitions out of in_progress must clear it.
  CONSTRAINT indexing_jobs_lease_check
    CHECK ((status = 'in_progress') = (locked_by IS NOT NULL AND locked_at IS NOT NULL)),
  -- Health counts "failed in the last hour" by finished_at.
  CONSTRAINT indexing_jobs_finished_check
    CHECK (status NOT IN ('completed', 'failed', 'cancelled') OR finished_at IS NOT NULL)
);

-- Claim: WHERE status = 'queued' AND run_at <= now() ORDER BY priority DESC, run_at, id FOR UPDATE SKIP LOCKED.
CREATE INDEX indexing_jobs_claim_idx ON public.indexing_jobs (priority DESC, run_at, id)
  WHERE status = 'queued';
-- Rescuer and health "stuck": leases expired.
CREATE INDEX indexing_jobs_in_progress_locked_at_idx ON public.indexing_jobs (locked_at)
  WHERE status = 'in_progress';
-- Health "failed in the last hour" and dead-letter count.
CREATE INDEX indexing_jobs_failed_finished_at_idx ON public.indexing_jobs (finished_at)
  WHERE status = 'failed';
CREATE INDEX indexing_jobs_repository_id_created_at_idx
  ON public.indexing_jobs (repository_id, created_at DESC, id DESC);
CREATE INDEX indexing_jobs_requested_by_idx ON public.indexing_jobs (requested_by);
-- Coalescing: at most one fresh (never attempted) full_index / provision_webhook queued per repository,
-- so concurrent registrations end with one queued job. attempt = 0 keeps the index out of the way of
-- the rescuer and of backoff retries, which put an already-attempted job back to 'queued' and must
-- never fail on a unique violation. Enqueue with:
--   ON CONFLICT (repository_id, job_type)
--     WHERE status = 'queued' AND attempt = 0 AND job_type IN ('full_index', 'provision_webhook')
--     DO NOTHING
CREATE UNIQUE INDEX indexing_jobs_one_queued_per_repository_idx
  ON public.indexing_jobs (repository_id, job_type)
  WHERE status = 'queued' AND attempt = 0 AND job_type IN ('full_index', 'provision_webhook');

-- Append-only job log (progress milestones only, no per-heartbeat rows).
CREATE TABLE public.indexing_job_events (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  job_id     uuid NOT NULL REFERENCES public.indexing_jobs (id) ON DELETE CASCADE,
  event_type text NOT NULL,
  message    text,
  context    jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX indexing_job_events_job_id_id_idx ON public.indexing_job_events (job_id, id);
CREATE INDEX indexing_job_events_created_at_brin ON public.indexing_job_events USING brin (created_at);

-- ---------------------------------------------------------------------------------------------------
-- Webhooks
-- ---------------------------------------------------------------------------------------------------

-- headers are stored with secrets and signatures redacted by the application.
CREATE TABLE public.webhook_deliveries (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  repository_id uuid NOT NULL REFERENCES public.repositories (id) ON DELETE CASCADE,
  provider      text NOT NULL DEFAULT 'github',
  delivery_id   text NOT NULL,
  event_type    text NOT NULL,
  status        text NOT NULL DEFAULT 'received'
    CHECK (status IN ('received', 'queued', 'processing', 'processed', 'ignored', 'failed')),
  payload       jsonb,
  headers       jsonb NOT NULL DEFAULT '{}',
  error_message text,
  job_id        uuid REFERENCES public.indexing_jobs (id) ON DELETE SET NULL,
  attempts      integer NOT NULL DEFAULT 1 CHECK (attempts >= 1),
  received_at   timestamptz NOT NULL DEFAULT now(),
  processed_at  timestamptz,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (provider, delivery_id)
);

CREATE INDEX webhook_deliveries_repository_id_received_at_idx
  ON public.webhook_deliveries (repository_id, received_at DESC);
CREATE INDEX webhook_deliveries_job_id_idx ON public.webhook_deliveries (job_id);
CREATE INDEX webhook_deliveries_received_at_brin ON public.webhook_deliveries USING brin (received_at);

-- ---------------------------------------------------------------------------------------------------
-- Usage and indexed content
-- ---------------------------------------------------------------------------------------------------

CREATE TABLE public.token_usage (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  api_key_id    uuid REFERENCES public.api_keys (id) ON DELETE SET NULL,
  user_id       uuid,
  repository_id uuid REFERENCES public.repositories (id) ON DELETE CASCADE,
  job_id        uuid REFERENCES public.indexing_jobs (id) ON DELETE SET NULL,
  usage_type    text NOT NULL,
  tokens_used   bigint NOT NULL CHECK (tokens_used >= 0),
  metadata      jsonb NOT NULL DEFAULT '{}',
  created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX token_usage_repository_id_created_at_idx ON public.token_usage (repository_id, created_at DESC);
CREATE INDEX token_usage_api_key_id_created_at_idx ON public.token_usage (api_key_id, created_at DESC);
CREATE INDEX token_usage_job_id_idx ON public.token_usage (job_id);
CREATE INDEX token_usage_created_at_brin ON public.token_usage USING brin (created_at);

CREATE TABLE public.indexed_files (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  repository_id uuid NOT NULL REFERENCES public.repositories (id) ON DELETE CASCADE,
  path          text NOT NULL,
  blob_sha      text NOT NULL,
  language      text,
  size_bytes    integer NOT NULL CHECK (size_bytes >= 0),
  line_count    integer NOT NULL CHECK (line_count >= 0),
  content       text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (repository_id, path)
);

-- Substring search (LIKE/ILIKE '%q%', regex) over file content.
CREATE INDEX indexed_files_content_trgm_idx ON public.indexed_files USING gin (content gin_trgm_ops);

-- ---------------------------------------------------------------------------------------------------
-- updated_at triggers
-- ---------------------------------------------------------------------------------------------------

-- Not on api_keys and api_key_rate_limits: every authenticated request updates their counters, so
-- the admin statements that change a key set updated_at themselves.
CREATE TRIGGER set_updated_at BEFORE UPDATE ON public.repositories
  FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();
CREATE TRIGGER set_updated_at BEFORE UPDATE ON public.repository_secrets
  FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();
CREATE TRIGGER set_updated_at BEFORE UPDATE ON public.indexing_jobs
  FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();
CREATE TRIGGER set_updated_at BEFORE UPDATE ON public.webhook_deliveries
  FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();
CREATE TRIGGER set_updated_at BEFORE UPDATE ON public.indexed_files
  FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

-- ---------------------------------------------------------------------------------------------------
-- Dashboard view: runs with the caller's privileges, so RLS on the base tables applies.
-- ---------------------------------------------------------------------------------------------------

CREATE VIEW public.repository_status_view WITH (security_invoker = true) AS
SELECT
  r.id,
  r.user_id,
  r.name,
  r.git_url,
  r.provider,
  r.default_branch,
  r.status,
  r.sync_state,
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
  ) AS job_summary
FROM public.repositories r
CROSS JOIN LATERAL (
  SELECT
    count(*) FILTER (WHERE ij.status = 'queued') AS queued,
    count(*) FILTER (WHERE ij.status = 'in_progress') AS in_progress,
    count(*) FILTER (WHERE ij.status = 'completed') AS completed,
    count(*) FILTER (WHERE ij.status = 'failed') AS failed,
    count(*) FILTER (WHERE ij.status = 'cancelled') AS cancelled
  FROM public.indexing_jobs ij
  WHERE ij.repository_id = r.id
) j;

-- ---------------------------------------------------------------------------------------------------
-- Row-level security. Owners may only read (bug 10.B.6/10.B.14: no user writes to keys, repositories or
-- jobs); every write goes through the application or service_role. `(SELECT auth.uid())` is evaluated
-- once per statement instead of once per row.
-- ---------------------------------------------------------------------------------------------------

ALTER TABLE public.api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.api_key_rate_limits ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.api_key_usage ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.repositories ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.repository_secrets ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.indexing_jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.indexing_job_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.webhook_deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.token_usage ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.indexed_files ENABLE ROW LEVEL SECURITY;

CREATE POLICY service_role_all ON public.api_keys FOR ALL TO service_role
  USING (auth.role() = 'service_role') WITH CHECK (auth.role() = 'service_role');
CREATE POLICY service_role_all ON public.api_key_rate_limits FOR ALL TO service_role
  USING (auth.role() = 'service_role') WITH CHECK (auth.role() = 'service_role');
CREATE POLICY service_role_all ON public.api_key_usage FOR ALL TO service_role
  USING (auth.role() = 'service_role') WITH CHECK (auth.role() = 'service_role');
CREATE POLICY service_role_all ON public.repositories FOR ALL TO service_role
  USING (auth.role() = 'service_role') WITH CHECK (auth.role() = 'service_role');
CREATE POLICY service_role_all ON public.repository_secrets FOR ALL TO service_role
  USING (auth.role() = 'service_role') WITH CHECK (auth.role() = 'service_role');
CREATE POLICY service_role_all ON public.indexing_jobs FOR ALL TO service_role
  USING (auth.role() = 'service_role') WITH CHECK (auth.role() = 'service_role');
CREATE POLICY service_role_all ON public.indexing_job_events FOR ALL TO service_role
  USING (auth.role() = 'service_role') WITH CHECK (auth.role() = 'service_role');
CREATE POLICY service_role_all ON public.webhook_deliveries FOR ALL TO service_role
  USING (auth.role() = 'service_role') WITH CHECK (auth.role() = 'service_role');
CREATE POLICY service_role_all ON public.token_usage FOR ALL TO service_role
  USING (auth.role() = 'service_role') WITH CHECK (auth.role() = 'service_role');
CREATE POLICY service_role_all ON public.indexed_files FOR ALL TO service_role
  USING (auth.role() = 'service_role') WITH CHECK (auth.role() = 'service_role');

CREATE POLICY owner_select ON public.api_keys FOR SELECT TO authenticated
  USING ((SELECT auth.uid()) = user_id);
CREATE POLICY owner_select ON public.api_key_usage FOR SELECT TO authenticated
  USING ((SELECT auth.uid()) = user_id);
CREATE POLICY owner_select ON public.repositories FOR SELECT TO authenticated
  USING ((SELECT auth.uid()) = user_id);
CREATE POLICY owner_select ON public.indexing_jobs FOR SELECT TO authenticated
  USING (EXISTS (
    SELECT 1 FROM public.repositories r
    WHERE r.id = indexing_jobs.repository_id AND r.user_id = (SELECT auth.uid())
  ));
CREATE POLICY owner_select ON public.indexing_job_events FOR SELECT TO authenticated
  USING (EXISTS (
    SELECT 1 FROM public.indexing_jobs j JOIN public.repositories r ON r.id = j.repository_id
    WHERE j.id = indexing_job_events.job_id AND r.user_id = (SELECT auth.uid())
  ));
CREATE POLICY owner_select ON public.webhook_deliveries FOR SELECT TO authenticated
  USING (EXISTS (
    SELECT 1 FROM public.repositories r
    WHERE r.id = webhook_deliveries.repository_id AND r.user_id = (SELECT auth.uid())
  ));
-- token_usage carries user_id too; rows without a repository (e.g. search) are found through it.
CREATE POLICY owner_select ON public.token_usage FOR SELECT TO authenticated
  USING (
    (SELECT auth.uid()) = user_id
    OR EXISTS (
      SELECT 1 FROM public.repositories r
      WHERE r.id = token_usage.repository_id AND r.user_id = (SELECT auth.uid())
    )
  );
CREATE POLICY owner_select ON public.indexed_files FOR SELECT TO authenticated
  USING (EXISTS (
    SELECT 1 FROM public.repositories r
    WHERE r.id = indexed_files.repository_id AND r.user_id = (SELECT auth.uid())
  ));

-- ---------------------------------------------------------------------------------------------------
-- Grants. Supabase's default privileges hand ALL on new public tables to anon and authenticated, so
-- revoke first; on plain Postgres the revokes are no-ops.
-- ---------------------------------------------------------------------------------------------------

REVOKE ALL ON
  public.api_keys, public.api_key_rate_limits, public.api_key_usage, public.repositories,
  public.repository_secrets, public.indexing_jobs, public.indexing_job_events, public.webhook_deliveries,
  public.token_usage, public.indexed_files, public.repository_status_view
FROM PUBLIC, anon, authenticated;

REVOKE ALL ON SEQUENCE
  public.api_key_usage_id_seq, public.indexing_job_events_id_seq, public.webhook_deliveries_id_seq,
  public.token_usage_id_seq, public.indexed_files_id_seq
FROM PUBLIC, anon, authenticated;

GRANT SELECT ON
  public.api_keys, public.api_key_usage, public.repositories, public.indexing_jobs,
  public.indexing_job_events, public.webhook_deliveries, public.token_usage, public.indexed_files,
  public.repository_status_view
TO authenticated;

GRANT ALL ON
  public.api_keys, public.api_key_rate_limits, public.api_key_usage, public.repositories,
  public.repository_secrets, public.indexing_jobs, public.indexing_job_events, public.webhook_deliveries,
  public.token_usage, public.indexed_files
TO service_role;
GRANT SELECT ON public.repository_status_view TO service_role;
GRANT USAGE, SELECT ON SEQUENCE
  public.api_key_usage_id_seq, public.indexing_job_events_id_seq, public.webhook_deliveries_id_seq,
  public.token_usage_id_seq, public.indexed_files_id_seq
TO service_role;
